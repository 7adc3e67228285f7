"""Calendar feeds (.ics) for subscribing: a campaign's, near a place, a person's own."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from kit.meetings import discovery, feeds
from kit.meetings.feeds import FeedSource

ICS = "text/calendar; charset=utf-8"


async def serve_feed(request: Request, source: FeedSource, *, private: bool = False) -> Response:
    etag = f'"{source.key}"'
    # Private feeds may carry exact addresses: never let a shared cache keep them.
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-store" if private else "public, max-age=300",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    site = request.app.state.settings
    body = await feeds.render_feed_cached(
        request.app.state.feed_cache, source, base_url=site.base_url, organizer_email=site.mail_from
    )
    return Response(body, media_type=ICS, headers=headers)


async def campaign_feed(request: Request) -> Response:
    return await serve_feed(request, await feeds.campaign_feed(request.path_params["slug"]))


async def near_feed(request: Request) -> Response:
    params = {**request.query_params, "limit": "100"}
    result = await discovery.search_meetings(params, request.app.state.geocoder)
    return await serve_feed(request, await feeds.near_feed(result.place.label, result.items))


async def person_feed(request: Request) -> Response:
    return await serve_feed(
        request, await feeds.person_feed(request.path_params["token"]), private=True
    )
