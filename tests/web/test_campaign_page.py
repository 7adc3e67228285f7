"""A campaign's public page and outcomes API: progress against its goals, a map of held and
upcoming meetings, stories and the idea board, counted from reports, with no one's
personal details."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from openapi_spec_validator import validate

from kit.maps.privacy import haversine_km
from kit.meetings import service as meetings
from kit.meetings.rsvps import RsvpInput, record_rsvp
from kit.reports import outcomes
from kit.reports import service as reports
from kit.store.models import Meeting, MeetingStatus
from tests.factories import SITE, HouseGeocoder, make_campaign, make_meeting

# What must never appear on a public page or in a public API answer.
PERSONAL = [
    "Ada Okafor",
    "ada.private@example.org",
    "Wally Walkin",
    "wally@example.org",
    "212 555 0199",
    "Pat Paper",
    "quinn.private@example.org",
    "Secretsson",
    "417 Elm St",
    "blue door",
]
GOALS = {"meetings": 10, "people": 100, "commitments": 40}


def report_body(headcount: int, story: str, consent: bool, ideas: list[str]) -> dict[str, Any]:
    return {
        "attendees": [
            {"email": "ada.private@example.org", "commitments": ["host", "volunteer"]},
            {"name": "Wally Walkin", "email": "wally@example.org", "commitments": ["volunteer"]},
            {"name": "Pat Paper", "phone": "+1 212 555 0199", "commitments": []},
        ],
        "headcount": headcount,
        "ideas": ideas,
        "story": story,
        "story_consent": consent,
    }


async def held(slug: str | None, title: str, body: dict[str, Any], **kw: Any) -> Meeting:
    """A meeting of the campaign that took place, with its host's report filed."""
    created = await make_meeting(
        campaign=slug or "",
        title=title,
        host={"name": "Quinn Secretsson", "email": "quinn.private@example.org"},
        address={"directions": "ring the blue door"},
        **kw,
    )
    await record_rsvp(
        created.meeting, RsvpInput(name="Ada Okafor", email="ada.private@example.org"), site=SITE
    )
    ends = datetime.now(UTC) - timedelta(days=1)
    await Meeting.filter(id=created.meeting.id).update(
        starts_at=ends - timedelta(hours=2), ends_at=ends
    )
    assert created.manage_token
    meeting = await meetings.get_managed_meeting(created.meeting.public_id, created.manage_token)
    data = reports.parse_report_json(body, await reports.report_sheet(meeting))
    await reports.file_report(meeting, data, site=SITE)
    return meeting


async def seed() -> dict[str, Meeting]:
    await make_campaign("spring", goals=GOALS, description="Neighbors talk streets.")
    await make_campaign("other")
    first = await held(
        "spring",
        "Elm St talk",
        report_body(8, "We finally met the people next door.", True, ["Crossing guard"]),
        geocoder=HouseGeocoder(40.8132, -73.9494),
    )
    second = await held(
        "spring",
        "Oak St talk",
        report_body(5, "A story nobody agreed to share.", False, ["Benches", "Tree planting"]),
    )
    await held("other", "Elsewhere", report_body(30, "Other campaign", True, ["Not ours"]))
    upcoming = await make_meeting(campaign="spring", title="Maple St talk (upcoming)")
    unlisted = await make_meeting(
        campaign="spring", title="Invite-only talk", visibility="unlisted"
    )
    not_reported = await make_meeting(campaign="spring", title="Ended, no report yet")
    ends = datetime.now(UTC) - timedelta(hours=1)
    await Meeting.filter(id=not_reported.meeting.id).update(
        starts_at=ends - timedelta(hours=2), ends_at=ends
    )
    return {
        "first": first,
        "second": second,
        "upcoming": upcoming.meeting,
        "unlisted": unlisted.meeting,
        "not_reported": not_reported.meeting,
    }


def assert_nothing_personal(text: str, where: str) -> None:
    for secret in PERSONAL:
        assert secret.lower() not in text.lower(), f"{where} reveals {secret!r}"


async def test_outcomes_api_counts_reports_of_held_meetings(client: httpx.AsyncClient) -> None:
    await seed()
    response = await client.get("/api/campaigns/spring/outcomes")
    assert response.status_code == 200
    body = response.json()
    assert body["campaign"] == "spring"
    assert body["goals"] == GOALS
    assert body["meetings_held"] == 2
    assert body["meetings_upcoming"] == 1  # the unlisted one isn't public
    assert body["people_reached"] == 13
    assert body["commitments"]["total"] == 6
    assert body["commitments"]["by_ask"] == [
        {"key": "host", "label": "Host a meeting", "count": 2},
        {"key": "volunteer", "label": "Volunteer", "count": 4},
        {"key": "next_action", "label": "Come to the next action", "count": 0},
        {"key": "donate", "label": "Donate monthly", "count": 0},
    ]
    assert sorted(i["text"] for i in body["ideas"]) == [
        "Benches",
        "Crossing guard",
        "Tree planting",
    ]
    assert all(
        set(i) == {"id", "text", "status", "status_note", "supporters"} for i in body["ideas"]
    )
    text = json.dumps(body)
    assert_nothing_personal(text, "the outcomes API")
    assert "story" not in text


async def test_campaign_page_shows_progress_map_stories_and_ideas(
    client: httpx.AsyncClient,
) -> None:
    seeded = await seed()
    response = await client.get("/campaigns/spring")
    assert response.status_code == 200
    html = response.text
    assert "Neighbors talk streets." in html
    assert '<meter class="thermometer" min="0" max="10" value="2">' in html
    assert '<meter class="thermometer" min="0" max="100" value="13">' in html
    assert '<meter class="thermometer" min="0" max="40" value="6">' in html
    assert 'data-geojson="/api/campaigns/spring/meetings.geojson"' in html
    assert "js/map.js" in html
    assert f'href="/meetings/{seeded["upcoming"].public_id}"' in html  # the plain list
    assert "Invite-only talk" not in html
    assert "We finally met the people next door." in html
    assert "A story nobody agreed to share." not in html
    assert "Other campaign" not in html and "Not ours" not in html
    for idea in ("Crossing guard", "Benches", "Tree planting"):
        assert idea in html
    assert 'action="/ideas/' in html and "Or confirm by email" in html
    assert_nothing_personal(html, "the campaign page")
    assert " style=" not in html and "<script>" not in html


async def test_map_shows_held_and_upcoming_public_meetings(client: httpx.AsyncClient) -> None:
    seeded = await seed()
    everything = await client.get("/api/campaigns/spring/meetings.geojson")
    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("application/geo+json")
    features = {f["id"]: f["properties"]["status"] for f in everything.json()["features"]}
    assert features == {
        seeded["first"].public_id: "completed",
        seeded["second"].public_id: "completed",
        seeded["upcoming"].public_id: "published",
    }
    assert_nothing_personal(everything.text, "the campaign map")
    first = await Meeting.get(id=seeded["first"].id)
    # Compare points, not digits: another meeting's approximate point may share a prefix.
    points = {f["id"]: f["geometry"]["coordinates"] for f in everything.json()["features"]}
    lon, lat = points[first.public_id]
    assert haversine_km(first.lat, first.lon, lat, lon) >= 0.5
    assert [first.lon, first.lat] not in points.values()

    near = await client.get("/api/campaigns/spring/meetings.geojson?bbox=-74.1,40.6,-73.8,40.9")
    assert len(near.json()["features"]) == 3
    far = await client.get("/api/campaigns/spring/meetings.geojson?bbox=2.2,48.8,2.5,48.9")
    assert far.json()["features"] == []
    bad = await client.get("/api/campaigns/spring/meetings.geojson?bbox=1,2,3")
    assert bad.status_code == 400 and "bbox" in bad.json()["fields"]


async def test_meeting_outcomes_are_public_only_for_completed_meetings(db: str) -> None:
    seeded = await seed()
    first = await meetings.get_meeting(seeded["first"].public_id)
    achieved = await outcomes.meeting_outcomes(first)
    assert achieved is not None
    assert (achieved.headcount, achieved.commitments_total) == (8, 3)
    assert achieved.story == "We finally met the people next door."
    second = await outcomes.meeting_outcomes(await meetings.get_meeting(seeded["second"].public_id))
    assert second is not None and second.story == ""
    pending = await meetings.get_meeting(seeded["not_reported"].public_id)
    assert pending.status is MeetingStatus.PUBLISHED
    assert await outcomes.meeting_outcomes(pending) is None


async def test_private_and_unknown_campaigns_are_404(client: httpx.AsyncClient) -> None:
    await make_campaign("quiet", is_public=False)
    for path in (
        "/campaigns/quiet",
        "/campaigns/nope",
        "/api/campaigns/quiet/outcomes",
        "/api/campaigns/quiet/meetings.geojson",
    ):
        assert (await client.get(path)).status_code == 404, path
    listed = (await client.get("/api/campaigns")).json()["campaigns"]
    assert "quiet" not in [c["slug"] for c in listed]


async def test_empty_campaign_page_invites_hosts(client: httpx.AsyncClient) -> None:
    await make_campaign("fresh")
    html = (await client.get("/campaigns/fresh")).text
    assert "No meetings are coming up yet" in html and "No ideas yet" in html
    assert 'href="/host?campaign=fresh"' in html
    assert 'data-lat="39.5"' in html
    body = (await client.get("/api/campaigns/fresh/outcomes")).json()
    assert (body["meetings_held"], body["people_reached"], body["ideas"]) == (0, 0, [])


async def test_openapi_documents_the_report_and_outcome_routes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    validate(spec)
    for path in (
        "/api/meetings/{id}/report",
        "/api/campaigns/{slug}/outcomes",
        "/api/campaigns/{slug}/meetings.geojson",
    ):
        assert path in spec["paths"], path
