"""The one loader of a host's pages: the meeting their manage token opens.

Where the token comes from is decided here, and only here:

- a form posted from the manage page: its ``token`` field (never the URL of the POST);
- a page opened with GET: ``?token=``, else an ``Authorization: Bearer`` header;
- the JSON API (``/api/...``): the bearer header only.

A wrong, revoked or missing token is ``MeetingNotFound`` (the plain 404 of
``kit.web.errors``), whichever page was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from kit.meetings import service as meetings
from kit.store.models import Meeting
from kit.web.csrf import read_form
from kit.web.forms import bearer_token, form_to_dict


@dataclass(frozen=True)
class HostPage:
    """A host's request, let in: their meeting, the token that opened it, and the form."""

    meeting: Meeting
    token: str
    form: dict[str, str] = field(default_factory=dict)  # {} unless a form was posted

    async def reloaded(self) -> HostPage:
        """The same page with the meeting read again (after a use case changed it)."""
        meeting = await meetings.get_managed_meeting(self.meeting.public_id, self.token)
        return HostPage(meeting, self.token, self.form)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def manage_token(request: Request, form: dict[str, str] | None = None) -> str:
    """The manage token a request carries ("" for none), by the rules above."""
    if is_api(request):
        return bearer_token(request) or ""
    if form is not None:
        return form.get("token", "")
    return request.query_params.get("token") or bearer_token(request) or ""


async def host_page(request: Request, *, form: dict[str, str] | None = None) -> HostPage:
    """The meeting of ``/manage/{id}...`` (or ``/api/meetings/{id}...``) for its host.

    A form POST is read here (CSRF checked) unless the handler already read ``form``
    itself, e.g. with a higher field limit.
    """
    if form is None and request.method == "POST" and not is_api(request):
        form = form_to_dict(await read_form(request))
    token = manage_token(request, form)
    meeting = await meetings.get_managed_meeting(request.path_params["id"], token)
    return HostPage(meeting, token, form or {})
