"""Finding meetings: the /find page, and the same search as JSON and GeoJSON."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from kit.campaigns.service import list_campaigns
from kit.maps.countries import country_names
from kit.meetings import discovery, map_clusters
from kit.meetings.discovery import InvalidQuery
from kit.meetings.public import public_location, public_meeting
from kit.store.models import Meeting
from kit.web.fastjson import FastJSONResponse
from kit.web.languages import hint_countries
from kit.web.templating import render

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
    extra = [(chosen, chosen)] if chosen and chosen not in country_names() else []
    return [("", "Any / United States"), *extra, *countries_by_name()]


@cache
def countries_by_name() -> tuple[tuple[str, str], ...]:
    return tuple(sorted(country_names().items(), key=lambda item: item[1]))


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


def search_item(meeting: Meeting, distance_km: float, base_url: str) -> dict[str, Any]:
    return {**public_meeting(meeting, base_url), "distance_km": distance_km}


async def meetings_search(request: Request) -> Response:
    """
    ---
    summary: Find published upcoming meetings near a place, or a campaign's anywhere
    operationId: searchMeetings
    description: >-
      With `near`, meetings within `radius_km` of the place, nearest first (or soonest
      first with `sort=date`), each with its `distance_km` to the meeting's public point.
      Without `near` but with `campaign`, that campaign's upcoming meetings wherever
      they are, soonest first, with no `distance_km`; `from` and `to` are then days in
      UTC. A cursor only works for the search (place, filters and sort) that made it.
    parameters:
      - {name: near, in: query, schema: {type: string, minLength: 1},
         description: "a ZIP code, a town (Oakland, CA; Lyon, France) or lat,lon;
           required unless `campaign` is given"}
      - {name: radius_km, in: query, schema: {type: number, default: 25, maximum: 500}}
      - {name: campaign, in: query, schema: {type: string}, description: "a campaign's slug"}
      - {name: sort, in: query, schema: {type: string, enum: [distance, date], default: distance},
         description: "`distance`: nearest first; `date`: soonest first (ties by id)"}
      - {name: country, in: query,
         schema: {type: string, minLength: 2, maxLength: 2, pattern: "^[A-Za-z]{2}$"},
         description: "ISO 3166-1 code of the country a bare postal code is in (75011 with
           FR is Paris); default: the campaign's country, else a bare 5-digit code is a
           US ZIP"}
      - {name: from, in: query, schema: {type: string, format: date}}
      - {name: to, in: query, schema: {type: string, format: date}}
      - {name: has_space, in: query, schema: {type: boolean}}
      - {name: limit, in: query, schema: {type: integer, default: 20, minimum: 1, maximum: 100}}
      - {name: cursor, in: query, schema: {type: string}}
    responses:
      "200":
        description: >-
          A page of meetings; `next` is the cursor of the next page, or null.
          `did_you_mean` lists other countries where a bare code read as a US ZIP is a
          postal code too ("75011 Paris, France"): search again with its `near` and
          `country`. When the request's Accept-Language names a country that has the
          code, only that country is listed; otherwise up to three, the most populous
          place first. Empty when a country was given or the search is not a bare code.
        content:
          application/json:
            schema:
              type: object
              required: [meetings, next, did_you_mean]
              properties:
                meetings:
                  type: array
                  items: {$ref: "#/components/schemas/PublicMeeting"}
                next: {type: ["string", "null"]}
                did_you_mean:
                  type: array
                  items:
                    type: object
                    required: [near, country, label]
                    properties:
                      near: {type: string}
                      country: {type: string, description: ISO 3166-1 alpha-2}
                      label: {type: string, description: "e.g. 75011 Paris, France"}
      "400": {$ref: "#/components/responses/Error"}
    """
    state = request.app.state
    base = state.settings.base_url
    if discovery.lists_campaign(request.query_params):
        listing = await discovery.list_campaign_meetings(request.query_params)
        found = [public_meeting(m, base) for m in listing.items]
        return FastJSONResponse({"meetings": found, "next": listing.next_cursor})
    result = await discovery.search_meetings(
        request.query_params,
        state.geocoder,
        hint_countries=hint_countries(request.headers.get("accept-language", "")),
        labelled=False,
    )
    return FastJSONResponse(
        {
            "meetings": [search_item(m, d, base) for m, d in result.items],
            "next": result.next_cursor,
            "did_you_mean": [s.to_json() for s in result.did_you_mean],
        }
    )


async def meetings_geojson(request: Request) -> Response:
    """
    ---
    summary: Public meeting points in a map's visible box, as GeoJSON
    operationId: meetingsGeoJSON
    parameters:
      - {name: bbox, in: query, required: true, schema: {type: string, minLength: 7},
         description: "west,south,east,north in degrees"}
      - {name: zoom, in: query, schema: {type: integer, minimum: 0, maximum: 20},
         description: "the map's zoom; derived from the box's width when left out"}
      - {name: campaign, in: query, schema: {type: string}}
    responses:
      "200":
        description: >
          A FeatureCollection. A box holding up to 250 listed meetings gets them as
          points, homes at their approximate point. A fuller one gets at most 1,000
          clusters instead, one per grid cell holding meetings: a Point at the mean of
          its meetings' public points with properties `cluster` (true), `count`, `bbox`
          (the cell: west, south, east, north) and `zoom_to` (a zoom to show it at).
        content:
          application/geo+json:
            schema: {type: object, required: [type, features]}
      "400": {$ref: "#/components/responses/Error"}
    """
    view = await discovery.meetings_in_view(request.query_params)
    collection = map_clusters.view_to_collection(view, request.app.state.settings.base_url)
    return FastJSONResponse(collection, media_type="application/geo+json")
