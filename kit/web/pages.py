"""HTML pages: parse the request, call one domain function, render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from kit.campaigns.service import list_campaigns
from kit.core.rendering import STATIC_DIR
from kit.maps.countries import country_names
from kit.meetings import discovery
from kit.meetings import service as meetings
from kit.meetings.discovery import InvalidQuery
from kit.meetings.public import public_location
from kit.store import health
from kit.toolkit.markdown import markdown_to_html
from kit.web.languages import hint_countries
from kit.web.templating import render


async def home(request: Request) -> Response:
    stats = await meetings.public_stats()
    return render(request, "home.html", {"stats": stats})


async def healthz(request: Request) -> Response:
    """200 while the database can be read and written; 503 otherwise, so that a load
    balancer takes the node out (docs/deployment.md lists the fields)."""
    database = await health.check_database()
    return JSONResponse(
        {"ok": database["ok"], "database": database}, status_code=200 if database["ok"] else 503
    )


# The find page's filters, as the form sends them; kept on every link the page makes
# (radius choices, "More meetings", the calendar feed) so a click never drops them.
FIND_FILTERS = ("from", "to", "has_space", "campaign", "country", "sort")
SORT_OPTIONS = [("distance", "Nearest first"), ("date", "Soonest first")]


def find_filters(params: Mapping[str, str]) -> dict[str, str]:
    return {name: params[name] for name in FIND_FILTERS if params.get(name, "").strip()}


def find_url(near: str, filters: Mapping[str, str], **extra: str) -> str:
    """A /find link for ``near`` (none: a campaign's list) with the page's filters and
    ``extra`` (radius, cursor)."""
    return "/find?" + urlencode({**({"near": near} if near else {}), **filters, **extra})


def country_options(chosen: str) -> list[tuple[str, str]]:
    """The find form's countries by name; "" (the default) reads a bare code as a US ZIP.
    A code typed into the URL that no country has stays selectable, so the error can
    name it."""
    options = sorted(country_names().items(), key=lambda item: item[1])
    extra = [(chosen, chosen)] if chosen and chosen not in country_names() else []
    return [("", "Any / United States"), *extra, *options]


def result_bounds(result: discovery.SearchResult) -> list[float] | None:
    """South, west, north, east around the searched place and the results' public
    points (never a home's own point), for the map to fit; None with no results."""
    if not result.items:
        return None
    points = [(result.place.lat, result.place.lon)]
    for meeting, _distance in result.items:
        place = public_location(meeting)
        points.append((place["lat"], place["lon"]))
    lats, lons = [lat for lat, _ in points], [lon for _, lon in points]
    return [min(lats), min(lons), max(lats), max(lons)]


async def find(request: Request) -> Response:
    """Search by ZIP, town or location: a plain list (no JavaScript needed) and a map."""
    near = request.query_params.get("near", "")
    filters = find_filters(request.query_params)
    context: dict[str, Any] = {
        "near": near,
        "result": None,
        "bounds": None,
        "errors": {},
        "filters": filters,
        "find_url": find_url,
        "campaign_options": [("", "Any campaign")]
        + [(c.slug, c.name) for c in await list_campaigns()],
        "country_options": country_options(filters.get("country", "").strip().upper()[:8]),
        "sort_options": SORT_OPTIONS,
        "listing": None,
    }
    status = 200
    try:
        if near:
            result = await discovery.search_meetings(
                request.query_params,
                request.app.state.geocoder,
                local_radius=True,
                hint_countries=hint_countries(request.headers.get("accept-language", "")),
            )
            context["result"], context["bounds"] = result, result_bounds(result)
        elif discovery.lists_campaign(request.query_params):
            context["listing"] = await discovery.list_campaign_meetings(request.query_params)
    except InvalidQuery as exc:
        context["errors"] = exc.fields
        status = 400
    return render(request, "meetings/find.html", context, status_code=status)


# --- About, Privacy, Contact: text the operator may set ----------------------------------


def operator_text(data_dir: Path, name: str) -> Markup | None:
    """The operator's own text for a page (KIT_DATA_DIR/pages/NAME.md), as sanitized HTML;
    None when there is none, so the page shows the kit's defaults."""
    path = data_dir / "pages" / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    return Markup(markdown_to_html(text)) if text.strip() else None


def site_page(name: str) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of /about, /privacy or /contact: the operator's Markdown, or the kit's
    defaults."""

    async def endpoint(request: Request) -> Response:
        custom = operator_text(request.app.state.settings.data_dir, name)
        return render(request, f"pages/{name}.html", {"name": name, "custom": custom})

    return endpoint


about, privacy, contact = site_page("about"), site_page("privacy"), site_page("contact")


async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico whatever the page links; a PNG answers as well."""
    return FileResponse(STATIC_DIR / "favicon.png", media_type="image/png", headers=ICON_CACHE)


ICON_CACHE = {"Cache-Control": "public, max-age=86400"}
