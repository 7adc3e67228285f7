"""The JSON API under /api/. Each handler's docstring holds its OpenAPI fragment (YAML)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.schemas import SchemaGenerator

from kit import __version__
from kit.campaigns import service as campaigns
from kit.core import urls
from kit.meetings import discovery, search
from kit.meetings import service as meetings
from kit.meetings.public import public_meeting
from kit.store.models import Meeting
from kit.web.forms import read_json
from kit.web.host_page import host_page
from kit.web.languages import hint_countries
from kit.web.limits import limit_publishing
from kit.web.openapi_schemas import COMPONENTS

SCHEMAS = SchemaGenerator(
    {
        "openapi": "3.1.0",
        "info": {
            "title": "House Meeting Kit API",
            "version": __version__,
            "description": "Find, host and report on local house meetings. Errors are "
            '`{"error": "...", "fields": {...}}` with a 4xx status.',
        },
        "components": COMPONENTS,
    }
)


async def openapi(request: Request) -> Response:
    api_routes = [r for r in request.app.routes if getattr(r, "path", "").startswith("/api/")]
    return JSONResponse(SCHEMAS.get_schema(routes=api_routes))


async def campaigns_list(request: Request) -> Response:
    """
    ---
    summary: List public campaigns
    operationId: listCampaigns
    responses:
      "200":
        description: Public campaigns with their date windows and goals.
        content:
          application/json:
            schema:
              type: object
              required: [campaigns]
              properties:
                campaigns:
                  type: array
                  items: {$ref: "#/components/schemas/Campaign"}
    """
    items = [campaigns.campaign_summary(c) for c in await campaigns.list_campaigns()]
    return JSONResponse({"campaigns": items})


def _services(request: Request) -> Any:
    return request.app.state


async def meetings_create(request: Request) -> Response:
    """
    ---
    summary: Publish a meeting (no account needed)
    operationId: createMeeting
    description: >-
      Times are local at the meeting's place and start from now to two years ahead.
      A local time the clocks skip (spring forward) is a 422 on `starts_at` (or
      `ends_at`) naming the two times that exist; one the clocks show twice (fall
      back) is a 422 on it and on `starts_at_fold` until that says `first` or `second`.
    parameters:
      - name: Idempotency-Key
        in: header
        required: false
        description: A random value; repeating a request with it returns the first meeting.
        schema: {type: string, maxLength: 200}
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: "#/components/schemas/MeetingInput"}
    responses:
      "201":
        description: >-
          Created (or, with the same `Idempotency-Key` header, the meeting the first
          request made). `manage_url` is the host's private key; keep it secret. A new
          host's meeting is `awaiting` until they open the link emailed to them.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/MeetingCreated"}
      "400": {$ref: "#/components/responses/Error"}
      "413": {$ref: "#/components/responses/Error"}
      "415": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
      "429": {$ref: "#/components/responses/Error"}
    """
    state = _services(request)
    data = meetings.parse_meeting_input(await read_json(request))
    await limit_publishing(request)
    result = await meetings.create_meeting(
        data,
        geocoder=state.geocoder,
        site=state.settings,
        submission=request.headers.get("idempotency-key", "")[:200],
    )
    meeting = result.meeting
    base = state.settings.base_url
    body: dict[str, Any] = {
        "id": meeting.public_id,
        "url": urls.meeting(base, meeting.public_id),
        "status": str(meeting.status),
        "manage_url": urls.manage(base, meeting.public_id, result.manage_token),
        "message": hosting_message(result),
    }
    return JSONResponse(body, status_code=201)


def hosting_message(result: meetings.CreatedMeeting) -> str:
    if result.awaiting_email:
        return (
            f"Almost done: we've emailed a link to {result.meeting.host.email}. Open it to "
            "confirm your address, and your meeting goes live."
        )
    if result.meeting.status.value == "pending":
        return "A coordinator will look at your meeting before it shows up in search."
    return "Your meeting is live."


async def meeting_detail(request: Request) -> Response:
    """
    ---
    summary: A meeting's public details
    operationId: getMeeting
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    responses:
      "200":
        description: Public fields; a home's location is approximate.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/PublicMeeting"}
      "404": {$ref: "#/components/responses/Error"}
    """
    meeting = await meetings.get_meeting(request.path_params["id"])
    return JSONResponse(public_meeting(meeting, request.app.state.settings.base_url, detail=True))


async def meeting_update(request: Request) -> Response:
    """
    ---
    summary: Change a meeting (host only)
    operationId: updateMeeting
    description: >-
      Times are checked as when publishing (see createMeeting); a start left unchanged
      may be in the past. A new time that the clocks show twice needs its own
      `starts_at_fold` (or `ends_at_fold`): the old time's choice is not carried over.
    security: [{manageToken: []}]
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: "#/components/schemas/MeetingChanges"}
    responses:
      "200":
        description: The meeting as the public now sees it.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/PublicMeeting"}
      "400": {$ref: "#/components/responses/Error"}
      "404": {$ref: "#/components/responses/Error"}
      "409": {$ref: "#/components/responses/Error"}
      "413": {$ref: "#/components/responses/Error"}
      "415": {$ref: "#/components/responses/Error"}
      "422": {$ref: "#/components/responses/Error"}
    """
    state = _services(request)
    meeting = (await host_page(request)).meeting
    changes = await read_json(request)
    meeting = await meetings.update_meeting(
        meeting, changes, geocoder=state.geocoder, site=state.settings
    )
    return JSONResponse(public_meeting(meeting, state.settings.base_url, detail=True))


async def meeting_cancel(request: Request) -> Response:
    """
    ---
    summary: Cancel a meeting (host only)
    operationId: cancelMeeting
    security: [{manageToken: []}]
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    responses:
      "200":
        description: Cancelled.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/PublicMeeting"}
      "404": {$ref: "#/components/responses/Error"}
      "409": {$ref: "#/components/responses/Error"}
    """
    meeting = (await host_page(request)).meeting
    meeting = await meetings.cancel_meeting(meeting, site=request.app.state.settings)
    return JSONResponse(public_meeting(meeting, request.app.state.settings.base_url, detail=True))


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
    state = _services(request)
    base = state.settings.base_url
    if discovery.lists_campaign(request.query_params):
        listing = await discovery.list_campaign_meetings(request.query_params)
        found = [public_meeting(m, base) for m in listing.items]
        return JSONResponse({"meetings": found, "next": listing.next_cursor})
    result = await discovery.search_meetings(
        request.query_params,
        state.geocoder,
        hint_countries=hint_countries(request.headers.get("accept-language", "")),
    )
    return JSONResponse(
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
      - {name: campaign, in: query, schema: {type: string}}
    responses:
      "200":
        description: A FeatureCollection; homes are at their approximate point.
        content:
          application/geo+json:
            schema: {type: object, required: [type, features]}
      "400": {$ref: "#/components/responses/Error"}
    """
    found = await discovery.meetings_in_view(request.query_params)
    collection = search.feature_collection(found, request.app.state.settings.base_url)
    return JSONResponse(collection, media_type="application/geo+json")
