"""Page templates: the shared environment plus what every page needs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from kit.core.rendering import make_environment
from kit.store.models import Meeting
from kit.web.csrf import LazyToken

# Where the kit's own files are served (kit/web/routes.py mounts them here). Pages link
# to them by root-relative path: Starlette's url_for builds absolute URLs from the
# request's Host header, which the client chooses (a forged Host ended up in the page,
# and in any cache that kept it), and walks the route table for every link.
STATIC_MOUNTS = {
    "static": "/static",
    "leaflet": "/static/leaflet",
    "markercluster": "/static/markercluster",
}


def asset_url(mount: str, path: str) -> str:
    """``asset_url('static', 'css/kit.css')`` → ``/static/css/kit.css``."""
    return f"{STATIC_MOUNTS[mount]}/{path}"


def _page_context(request: Request) -> dict[str, Any]:
    # The public view only: a page has no use for the secret key or the SMTP password.
    return {"csrf_token": LazyToken(request), "settings": request.app.state.settings.public}


class CardFields(NamedTuple):
    """All a result card shows of a meeting (meetings/_card.html): its cache key."""

    public_id: str
    title: str
    starts_at: datetime
    timezone: str
    locality: str
    postal_code: str
    seats_left: int


def card_renderer(env: jinja2.Environment) -> Callable[..., Markup]:
    """``meeting_card(meeting, away)`` for the templates: each card rendered once per
    content and kept (bounded). A card is a Jinja macro call of about 50 µs, and a page
    of results shows 20; the key holds every field the card shows, so a kept card is
    never stale (a change of seats or time is another key)."""

    @functools.lru_cache(maxsize=4096)
    def render(card: CardFields, away: str) -> Markup:
        return Markup(env.get_template("meetings/_card.html").module.meeting_card(card, away))  # type: ignore[attr-defined]

    def meeting_card(meeting: Meeting, away: str = "") -> Markup:
        fields = CardFields(
            meeting.public_id, meeting.title, meeting.starts_at, meeting.timezone,
            meeting.locality, meeting.postal_code, meeting.seats_left,
        )  # fmt: skip
        return render(fields, away)

    return meeting_card


def make_templates() -> Jinja2Templates:
    env = make_environment()
    env.globals["asset_url"] = asset_url
    env.globals["meeting_card"] = card_renderer(env)
    return Jinja2Templates(env=env, context_processors=[_page_context])


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A page from the app's templates: the one way handlers render HTML."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=headers
    )
