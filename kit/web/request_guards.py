"""Checks on every request before a handler sees it, answered in the kit's own words.

- A URL with a NUL byte (``%00``): no id, slug, token or search the kit accepts can
  hold one, and PostgreSQL refuses NUL in text, so a lookup with it would be a 500
  there and a plain "not found" on SQLite. Refused here with a 400 on both.
- A body over the limit: Starlette's own ``max_body_size`` answers a bare
  "Content Too Large" text (and replaces any response once the declared length is
  over), breaking the API's ``{"error", "fields"}`` promise. This one answers 413
  as JSON under /api/ and as the error page elsewhere.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit.core.errors import KitError
from kit.web.errors import error_response

NUL_MESSAGE = "The link contains a NUL character (%00), which no address here can hold."
TOO_LARGE = "That was more than we can accept in one go (at most {mb} MB)."


def has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query


class RejectNulInUrl:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and has_nul(scope):
            response = error_response(
                Request(scope, receive), 400, NUL_MESSAGE, {"url": NUL_MESSAGE}
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyTooLarge(KitError):
    status_code = 413


def declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length", "")
    return int(value) if value.isdigit() else None


class LimitRequestBody:
    """Refuse a body over ``max_bytes``: by its Content-Length at once, else while it streams."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.message = TOO_LARGE.format(mb=max_bytes // (1024 * 1024))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            response = error_response(Request(scope, receive), 413, self.message)
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # Raised inside the handler's read, so the app's error handlers answer.
                raise BodyTooLarge(self.message)
            return message

        await self.app(scope, counting_receive, send)
