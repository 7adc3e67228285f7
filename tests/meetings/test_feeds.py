"""Subscribable calendars: a campaign's meetings, meetings near a place, a person's own."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kit.coordinators.accounts import add_coordinator
from kit.coordinators.moderation import hide_meeting
from kit.meetings import feeds
from kit.meetings.calendar_events import render_feed
from kit.meetings.service import CreatedMeeting, approve_meeting
from kit.store.models import Meeting, MeetingStatus, VenueKind
from tests.factories import (
    SITE,
    HouseGeocoder,
    csrf_from,
    local,
    make_campaign,
    make_meeting,
    rsvp_link,
)
from tests.ics import parse_ics

STREET = "417 Elm St"


async def test_campaign_feed_lists_its_meetings_with_public_places_only(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("spring")
    await make_meeting(campaign="spring", title="Talk one")
    await make_meeting(
        campaign="spring",
        title="Talk two",
        address={"locality": "Lyon", "postal_code": "", "country": "FR"},
    )
    cancelled = await make_meeting(campaign="spring", title="Called off")
    await Meeting.filter(id=cancelled.meeting.id).update(status=MeetingStatus.CANCELLED)
    await make_meeting(title="Not in the campaign")

    response = await client.get("/campaigns/spring/meetings.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    parsed = parse_ics(response.content)
    assert parsed.method == "PUBLISH"
    titles = {e["summary"]: e["status"] for e in parsed.events}
    assert titles == {"Talk one": "CONFIRMED", "Talk two": "CONFIRMED", "Called off": "CANCELLED"}
    assert set(parsed.js["timezones"]) == {"America/New_York", "Europe/Paris"}
    assert STREET not in response.text and "ring the blue door" not in response.text


async def retitled(
    client: httpx.AsyncClient, path: str, created: CreatedMeeting, title: str
) -> httpx.Response:
    """The feed at ``path`` answers 304 to its ETag until the meeting is retitled, then 200."""
    etag = (await client.get(path)).headers["etag"]
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    await client.patch(
        f"/api/meetings/{created.meeting.public_id}",
        json={"title": title},
        headers={"Authorization": f"Bearer {created.manage_token}"},
    )
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    return changed


async def test_feed_answers_304_until_a_meeting_changes(client: httpx.AsyncClient) -> None:
    await make_campaign("spring")
    created = await make_meeting(campaign="spring")
    changed = await retitled(client, "/campaigns/spring/meetings.ics", created, "Renamed")
    assert "Renamed" in changed.text


async def test_near_feed_follows_the_search(client: httpx.AsyncClient) -> None:
    await make_meeting(HouseGeocoder(40.8132, -73.9494), title="Harlem talk")
    await make_meeting(
        title="Oakland talk",
        address={"locality": "Oakland", "postal_code": "94612", "country": "US"},
    )
    response = await client.get("/meetings.ics?near=10027&radius_km=25")
    parsed = parse_ics(response.content)
    assert [e["summary"] for e in parsed.events] == ["Harlem talk"]
    assert STREET not in response.text
    assert (await client.get("/meetings.ics?near=Qwxzyville")).status_code == 400


async def test_near_feed_changes_when_a_meeting_in_it_does(client: httpx.AsyncClient) -> None:
    created = await make_meeting(HouseGeocoder(40.8132, -73.9494), title="Harlem talk")
    changed = await retitled(client, "/meetings.ics?near=10027", created, "Harlem talk, moved")
    assert [e["summary"] for e in parse_ics(changed.content).events] == ["Harlem talk, moved"]
    await make_meeting(HouseGeocoder(40.8140, -73.9500), title="Second talk")
    joined = await client.get("/meetings.ics?near=10027")
    assert joined.headers["etag"] != changed.headers["etag"]
    assert {e["summary"] for e in parse_ics(joined.content).events} == {
        "Harlem talk, moved",
        "Second talk",
    }


async def test_feed_meetings_read_as_rows_render_what_whole_models_did(db: str) -> None:
    # The feeds read only the columns their events show; the same meetings loaded
    # whole through the ORM (as the feeds did before) must give the very same bytes,
    # for the public view and the exact one, homes and public venues alike.
    campaign = await make_campaign("spring")
    await make_meeting(campaign="spring", title="Talk one; with, commas", host_note="Bring a mug")
    await make_meeting(
        campaign="spring",
        title="Talk two",
        starts_at=local(9, 18),
        ends_at=local(9, 21),
        address={"locality": "Lyon", "postal_code": "", "country": "FR"},
        host={"name": "Zoé Martin", "email": "zoe@example.org", "phone": ""},
    )
    venue = await make_meeting(
        campaign="spring", title="At the library", starts_at=local(8, 17), ends_at=local(8, 19)
    )
    await Meeting.filter(id=venue.meeting.id).update(
        kind=VenueKind.PUBLIC, venue_name="Harlem Library"
    )
    cancelled = await make_meeting(
        campaign="spring", title="Called off", starts_at=local(10, 18), ends_at=local(10, 20)
    )
    await Meeting.filter(id=cancelled.meeting.id).update(status=MeetingStatus.CANCELLED)
    await make_meeting(title="Not in the campaign")

    source = await feeds.campaign_feed("spring")
    rows = (await source.load()).meetings
    whole = (
        await feeds.public_feed_meetings()
        .filter(campaign_id=campaign.id)
        .order_by("starts_at", "id")
        .select_related("host")
    )
    near = await feeds.near_feed("Harlem", [(m, 0.0) for m in whole])
    assert (
        [m.title for m in rows]
        == [m.title for m in whole]
        == [
            "Talk one; with, commas",
            "At the library",
            "Talk two",
            "Called off",
        ]
    )
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    for exact in (frozenset(), frozenset(m.id for m in whole)):
        expected = render_feed(
            whole, base_url=SITE.base_url, name="Spring", exact_for=exact, now=now,
            organizer_email="kit@example.org",
        )  # fmt: skip
        for loaded in (rows, (await near.load()).meetings):
            assert render_feed(
                loaded, base_url=SITE.base_url, name="Spring", exact_for=exact, now=now,
                organizer_email="kit@example.org",
            ) == expected  # fmt: skip


async def test_personal_feed_shows_exact_address_only_where_confirmed(
    client: httpx.AsyncClient,
) -> None:
    roomy = await make_meeting(title="Roomy")
    full = await make_meeting(title="Full", capacity=1)
    mine = await client.post(
        f"/api/meetings/{roomy.meeting.public_id}/rsvps",
        json={"name": "Ada", "email": "ada@example.org"},
    )
    await client.post(
        f"/api/meetings/{full.meeting.public_id}/rsvps",
        json={"name": "Bo", "email": "bo@example.org"},
    )
    await client.post(
        f"/api/meetings/{full.meeting.public_id}/rsvps",
        json={"name": "Ada", "email": "ada@example.org"},
    )

    assert mine.status_code == 202
    page = await rsvp_link("ada@example.org")
    token = await csrf_from(client, page)
    shown = await client.post(f"{page}/feed", data={"csrf_token": token})
    feed_url = re.search(r"http://testserver(/feeds/[\w-]+\.ics)", shown.text)
    assert feed_url
    feed = await client.get(feed_url.group(1))
    assert feed.headers["cache-control"] == "private, no-store"
    events = {e["summary"]: e for e in parse_ics(feed.content).events}
    assert set(events) == {"Roomy", "Full"}
    assert STREET in events["Roomy"]["location"]
    assert STREET not in events["Full"]["location"]

    # A second link leaves the first working (it may be in a calendar already);
    # switching them off is its own button.
    again = await client.post(f"{page}/feed", data={"csrf_token": token})
    assert again.status_code == 200
    assert (await client.get(feed_url.group(1))).status_code == 200
    await client.post(f"{page}/feed/revoke", data={"csrf_token": token})
    assert (await client.get(feed_url.group(1))).status_code == 404


async def test_public_ics_of_a_meeting(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    response = await client.get(f"/meetings/{created.meeting.public_id}.ics")
    parsed = parse_ics(response.content)
    [event] = parsed.events
    assert event["url"] == f"http://testserver/meetings/{created.meeting.public_id}"
    assert event["start"]["tzid"] == "America/New_York"
    assert STREET not in response.text


async def test_a_coordinators_hide_and_approve_show_in_the_cached_feed(
    client: httpx.AsyncClient,
) -> None:
    # One meeting leaves the feed as another joins it, while a third changed last: the
    # count and the newest change alone would not tell the cached feed apart.
    await make_campaign("spring")
    leaving = (await make_meeting(campaign="spring", title="Taken down")).meeting
    joining = (await make_meeting(campaign="spring", title="Just approved")).meeting
    await Meeting.filter(id=joining.id).update(status=MeetingStatus.PENDING)
    await make_meeting(campaign="spring", title="Changed last")
    before = await client.get("/campaigns/spring/meetings.ics")
    assert "Taken down" in before.text and "Just approved" not in before.text

    boss, _ = await add_coordinator("boss@example.org", is_admin=True)
    await hide_meeting(boss, leaving.public_id, {"reason": "Duplicate."}, site=SITE)
    await approve_meeting(joining.public_id)
    after = await client.get(
        "/campaigns/spring/meetings.ics", headers={"If-None-Match": before.headers["etag"]}
    )
    assert after.status_code == 200
    assert "Taken down" not in after.text and "Just approved" in after.text


# A row stored before meetings were limited to two years ahead, or edited by hand.
END_OF_TIME = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
LYON = {"address": {"locality": "Lyon", "postal_code": "", "country": "FR"}}


async def store_dates(meeting: Meeting, starts_at: datetime, ends_at: datetime) -> None:
    await Meeting.filter(id=meeting.id).update(starts_at=starts_at, ends_at=ends_at)


@pytest.mark.parametrize(
    ("where", "near"),
    [({}, "10027"), (LYON, "Lyon, France")],  # year 9999 on New York's clock, 10000 on Paris'
    ids=["new-york", "paris"],
)
async def test_a_meeting_dated_9999_is_left_out_of_every_feed_and_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, where: dict, near: str
) -> None:
    await make_campaign("spring")
    fine = await make_meeting(campaign="spring", title="Fine", **where)
    broken = await make_meeting(campaign="spring", title="Broken", **where)
    await store_dates(broken.meeting, END_OF_TIME, END_OF_TIME + timedelta(minutes=59))
    for created in (fine, broken):
        rsvp = await client.post(
            f"/api/meetings/{created.meeting.public_id}/rsvps",
            json={"name": "Ada", "email": "ada@example.org"},
        )
        assert rsvp.status_code == 202, rsvp.text
    page = await rsvp_link("ada@example.org")
    shown = await client.post(f"{page}/feed", data={"csrf_token": await csrf_from(client, page)})
    feed_url = re.search(r"http://testserver(/feeds/[\w-]+\.ics)", shown.text)
    assert feed_url

    for path in (
        "/campaigns/spring/meetings.ics",
        f"/meetings.ics?near={near}",
        feed_url.group(1),  # Ada's own: she RSVPed to both
    ):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="kit.meetings.feeds"):
            response = await client.get(path)
        assert response.status_code == 200, path
        assert [e["summary"] for e in parse_ics(response.content).events] == ["Fine"], path
        [warning] = [r for r in caplog.records if r.name == "kit.meetings.feeds"]
        assert warning.levelno == logging.WARNING
        assert broken.meeting.public_id in warning.getMessage()
        assert "9999-12-31T23:00:00+00:00" in warning.getMessage()


async def test_a_meeting_stored_decades_ahead_is_left_out_of_the_feed(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Showable, but its VTIMEZONE would span every year until then: megabytes.
    await make_campaign("spring")
    await make_meeting(campaign="spring", title="Fine")
    far = await make_meeting(campaign="spring", title="Far")
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=366 * 40)
    await store_dates(far.meeting, starts, starts + timedelta(hours=2))
    with caplog.at_level(logging.WARNING, logger="kit.meetings.feeds"):
        response = await client.get("/campaigns/spring/meetings.ics")
    assert [e["summary"] for e in parse_ics(response.content).events] == ["Fine"]
    assert len(response.content) < 10_000
    assert f"{far.meeting.public_id}" in caplog.text and "more than ten years ahead" in caplog.text


def test_feed_cache_keeps_the_newest_feeds_within_its_bytes() -> None:
    cache = feeds.FeedCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # now the most recent: "b" goes first
    cache.put("c", b"90")
    cache.put("d", b"xy")
    assert (cache.get("a"), cache.get("b"), cache.get("c"), cache.get("d")) == (
        b"1234",
        None,
        b"90",
        b"xy",
    )
    cache.put("a", b"12")  # a new value for a key counts once
    assert cache.bytes == 6
    cache.put("huge", b"x" * 50)  # over the bound alone: kept, the rest let go
    assert cache.get("huge") == b"x" * 50 and cache.get("a") is None and cache.bytes == 50
