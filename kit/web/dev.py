"""Development helpers, answered only when KIT_DEBUG=1 (404 otherwise): the outbox as a
web page, so nobody opens .eml files by hand to follow a link from an email."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from kit.core.errors import NotFound
from kit.store.models import Channel, OutboxMessage
from kit.web.templating import render

OUTBOX_SHOWN = 30


def require_debug(request: Request) -> None:
    # A 404, not a 403: a production site shouldn't even admit the page exists. Every
    # email (sign-in links, manage links) is on it.
    if not request.app.state.settings.debug:
        raise NotFound("We couldn't find that page.")


async def outbox(request: Request) -> Response:
    """The newest emails, each with its text and HTML parts. The HTML goes into a
    sandboxed iframe's srcdoc (escaped by Jinja), never into this page itself."""
    require_debug(request)
    emails = await OutboxMessage.filter(channel=Channel.EMAIL).order_by("-id").limit(OUTBOX_SHOWN)
    response = render(request, "pages/dev_outbox.html", {"emails": emails})
    response.headers["Cache-Control"] = "no-store"
    return response
