"""CSRF protection for HTML forms: a per-session token checked on every form post.

Every HTML form handler reads its body through ``read_form``, which refuses a
post whose ``csrf_token`` does not match the session's (403). The JSON API is
not cookie-authenticated (hosts use ``Authorization: Bearer``) and accepts only
``application/json``, which a cross-site form cannot send.
"""

from __future__ import annotations

import hmac
import secrets

from markupsafe import escape
from starlette.datastructures import FormData
from starlette.requests import Request

from kit.core.errors import PermissionDenied

FIELD = "csrf_token"
# Form posts that are authenticated by a signed token in the URL instead: mail
# providers send RFC 8058 one-click unsubscribes with no cookie at all.
EXEMPT_PATHS = frozenset({"/unsubscribe/{token}"})
MAX_FORM_PART = 1024 * 1024


class CsrfError(PermissionDenied):
    def __init__(self) -> None:
        super().__init__(
            "This form has expired or was sent from another site. "
            "Please go back, reload the page and try again."
        )


def csrf_token(request: Request) -> str:
    if "session" not in request.scope:
        return ""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


class LazyToken:
    """The session's token for a page's forms, made when a form is written: a page
    without one sets no session cookie (and skips signing one: a twentieth of a page)."""

    __slots__ = ("_request",)

    def __init__(self, request: Request) -> None:
        self._request = request

    def __str__(self) -> str:
        return csrf_token(self._request)

    def __html__(self) -> str:
        return str(escape(csrf_token(self._request)))


MAX_FIELDS = 500


async def read_form(request: Request, max_fields: int = MAX_FIELDS) -> FormData:
    """The posted form, after checking its CSRF token. More fields than ``max_fields``
    is a 400 before anything is read into memory."""
    async with request.form(
        max_files=0, max_fields=max_fields, max_part_size=MAX_FORM_PART
    ) as form:
        sent = form.get(FIELD)
        expected = request.session.get("csrf")
        if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
            raise CsrfError()
        return form
