"""A campaign's public page (goals, map, stories, idea board), its outcomes API, and
supporting an idea: from this browser, or by confirming an email address."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from kit.campaigns import service as campaigns
from kit.core.errors import NotFound, ValidationError
from kit.meetings import search
from kit.meetings.discovery import InvalidQuery
from kit.reports import ideas, outcomes
from kit.store.models import Idea
from kit.web.csrf import read_form
from kit.web.forms import form_to_dict
from kit.web.limits import client_ip
from kit.web.templating import render

BROWSER = "browser"  # the session key holding this browser's anonymous id
NOTICES = {
    "supported": "Thank you! Your support is counted.",
    "already": "You already support that idea; each browser counts once.",
}


def browser_key(request: Request, *, create: bool = False) -> str | None:
    """This browser's supporter key; ``create`` gives it an anonymous id first."""
    browser = request.session.get(BROWSER)
    if not browser and create:
        browser = request.session[BROWSER] = ideas.new_browser_id()
    if not isinstance(browser, str) or not browser:
        return None
    return ideas.browser_key(browser, request.app.state.settings.secret_key)


def map_view(bounds: tuple[float, float, float, float] | None) -> dict[str, Any]:
    """Where the map opens: around the campaign's meetings, or the whole world."""
    if bounds is None:
        return {"lat": 39.5, "lon": -40.0, "zoom": 2}
    south, west, north, east = bounds
    span = max(north - south, east - west)
    zoom = 11 if span < 0.2 else 9 if span < 1 else 6 if span < 8 else 4 if span < 30 else 2
    return {"lat": round((south + north) / 2, 4), "lon": round((west + east) / 2, 4), "zoom": zoom}


UPCOMING_LISTED = 10


async def campaign_page(request: Request) -> Response:
    campaign = await campaigns.get_public_campaign(request.path_params["slug"])
    figures = await outcomes.campaign_outcomes(campaign)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    context = {
        "campaign": campaign,
        "outcomes": figures,
        "means": outcomes.FIGURE_MEANS,
        "stories": await outcomes.campaign_stories(campaign),
        # The next few by date; the map shows them all.
        "upcoming": await outcomes.upcoming_meetings(campaign, limit=UPCOMING_LISTED),
        "supported": await ideas.supported_ideas(browser_key(request), figures.ideas),
        "status_labels": ideas.STATUS_LABELS,
        "map": map_view(await outcomes.map_bounds(campaign)),
        "notice": notice,
    }
    return render(request, "campaigns/detail.html", context)


async def campaign_outcomes(request: Request) -> Response:
    """
    ---
    summary: A campaign's public outcomes
    description: >
      Counted from the hosts' reports of meetings that took place: meetings held,
      people reached (the hosts' headcounts), commitments by ask, and the idea board
      ranked by supporters. No names, emails or stories: nothing about a person.
    operationId: getCampaignOutcomes
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
    responses:
      "200":
        description: The aggregates, and the goals they count towards.
        content:
          application/json:
            schema:
              type: object
              required: [campaign, meetings_held, people_reached, commitments, ideas]
              properties:
                campaign: {type: string}
                goals:
                  type: object
                  properties:
                    meetings: {type: integer}
                    people: {type: integer}
                    commitments: {type: integer}
                meetings_held: {type: integer}
                meetings_upcoming: {type: integer}
                people_reached: {type: integer}
                commitments:
                  type: object
                  required: [total, by_ask]
                  properties:
                    total: {type: integer}
                    by_ask:
                      type: array
                      items:
                        type: object
                        required: [key, label, count]
                        properties:
                          key: {type: string}
                          label: {type: string}
                          count: {type: integer}
                ideas:
                  type: array
                  items:
                    type: object
                    required: [id, text, status, supporters]
                    properties:
                      id: {type: string}
                      text: {type: string}
                      status: {enum: [new, under_review, adopted, done, declined]}
                      status_note: {type: string}
                      supporters: {type: integer}
      "404": {$ref: "#/components/responses/Error"}
    """
    campaign = await campaigns.get_public_campaign(request.path_params["slug"])
    return JSONResponse(outcomes.outcomes_as_json(await outcomes.campaign_outcomes(campaign)))


async def campaign_geojson(request: Request) -> Response:
    """
    ---
    summary: A campaign's held and upcoming public meetings, as GeoJSON
    operationId: campaignMeetingsGeoJSON
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
      - {name: bbox, in: query, schema: {type: string},
         description: "west,south,east,north in degrees; all of them when left out"}
    responses:
      "200":
        description: >
          A FeatureCollection; homes are at their approximate point. Each feature's
          `status` is `completed` (held) or `published` (upcoming).
        content:
          application/geo+json:
            schema: {type: object, required: [type, features]}
      "400": {$ref: "#/components/responses/Error"}
      "404": {$ref: "#/components/responses/Error"}
    """
    campaign = await campaigns.get_public_campaign(request.path_params["slug"])
    bbox = request.query_params.get("bbox")
    try:
        box = search.parse_bbox(bbox) if bbox is not None else None
    except ValidationError as exc:
        raise InvalidQuery(exc.fields) from None
    found = await outcomes.map_meetings(campaign, box)
    collection = search.feature_collection(found, request.app.state.settings.base_url)
    for feature, meeting in zip(collection["features"], found, strict=True):
        feature["properties"]["status"] = str(meeting.status)
    return JSONResponse(collection, media_type="application/geo+json")


async def idea_support(request: Request) -> Response:
    """Support an idea from this browser: once per browser id (kept in the session)."""
    await read_form(request)
    idea = await ideas.get_public_idea(request.path_params["id"])
    await ideas.limit_supports(client_ip(request))
    key = browser_key(request, create=True)
    assert key is not None
    counted = await ideas.support_idea(idea, key)
    return _back_to_board(idea, "supported" if counted else "already")


def _back_to_board(idea: Idea, notice: str) -> Response:
    url = f"/campaigns/{idea.campaign.slug}?notice={notice}#idea-{idea.public_id}"  # type: ignore[union-attr]  # public ideas have a campaign
    return RedirectResponse(url, status_code=303)


async def idea_support_email(request: Request) -> Response:
    """Send a link that counts the support of a confirmed email address."""
    form = form_to_dict(await read_form(request))
    idea = await ideas.get_public_idea(request.path_params["id"])
    context: dict[str, Any] = {"idea": idea, "email": form.get("email", ""), "errors": {}}
    try:
        await ideas.limit_supports(client_ip(request))
        await ideas.request_email_support(
            idea, form.get("email", ""), site=request.app.state.settings
        )
    except ValidationError as exc:
        return render(request, "campaigns/idea_email.html", {**context, "errors": exc.fields}, 422)
    return render(request, "campaigns/idea_email.html", {**context, "sent": True})


async def idea_confirm(request: Request) -> Response:
    """GET shows what the link confirms; POST (a button, so mail scanners that open
    links count nothing) counts the address once."""
    site = request.app.state.settings
    if request.method == "POST":
        await read_form(request)
    claim = ideas.read_confirmation(request.path_params["token"], site.secret_key)
    if claim is None:
        raise NotFound("That confirmation link is not valid, or it has expired (after 7 days).")
    idea = await ideas.get_public_idea(claim[0])
    context: dict[str, Any] = {"idea": idea, "token": request.path_params["token"]}
    if request.method == "GET":
        return render(request, "campaigns/idea_confirm.html", {**context, "done": False})
    counted = await ideas.confirm_email_support(claim[1], idea, site=site)
    return render(
        request, "campaigns/idea_confirm.html", {**context, "done": True, "counted": counted}
    )


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
