"""kit.meetings.calendar_events: what a meeting's invite, public .ics and feed may say, to whom.

Each file is read back twice, by icalendar and by Mozilla's ical.js (the helpers of
tests/toolkit/test_calendar.py), and searched for the host's and the home's private
facts. No database: the models are built in memory.
"""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise import Tortoise

from kit.meetings.calendar_events import (
    invite_file,
    meeting_to_event,
    meeting_uid,
    render_feed,
    render_invite,
    render_public_ics,
)
from kit.store.models import Meeting, MeetingStatus, Person, RsvpStatus, VenueKind
from kit.toolkit import calendar
from tests.toolkit import test_calendar as leaf
from tests.toolkit.test_calendar import (
    BASE_URL,
    MAIL_FROM,
    NOW,
    everything_readable,
    only_event,
    read_both,
    unfolded,
)

node = leaf.node  # the session fixture that finds node and ical.js

# The Lyon home meeting's private and public facts, to look for in the output.
STREET = "12 rue Mercière"
DIRECTIONS = "3e étage, porte gauche; code 4711"
EXACT = (45.7641, 4.8274)
APPROX = (45.7712, 4.8391)
HOST = {
    "name": "Camille Durand-Roux",
    "email": "camille.dr@example.fr",
    "phone": "+33 6 12 34 56 78",
}
HOST_SECRETS = ["Durand", "Roux", HOST["email"], HOST["phone"], "612345678"]


# ---------------------------------------------------------------------------
# In-memory models


@pytest.fixture(scope="module", autouse=True)
def models_ready() -> None:
    """Relations need Tortoise's model registry, not a database. Built in a copied
    context so that no TortoiseContext leaks into the tests that use one."""
    if not Meeting._meta._inited:
        contextvars.copy_context().run(Tortoise.init_models, ["kit.store.models"], "models")


def person(pk: int, name: str, email: str, phone: str | None = None) -> Person:
    return Person(id=pk, name=name, email=email, phone=phone)


def host() -> Person:
    return person(1, **HOST)


def guest() -> Person:
    return person(2, "Sam Lee", "sam.lee@example.org", "+1 212 555 0199")


def lyon_meeting(**fields: Any) -> Meeting:
    """A home meeting in Lyon, 18:30–20:30 local time on 1 December 2026."""
    values: dict[str, Any] = {
        "id": 1,
        "title": "Neighbours talk schools",
        "description": "A living-room conversation about our schools.",
        "host_note": "Bring a mug if you can.",
        "starts_at": datetime(2026, 12, 1, 17, 30, tzinfo=UTC),
        "ends_at": datetime(2026, 12, 1, 19, 30, tzinfo=UTC),
        "timezone": "Europe/Paris",
        "street": STREET,
        "directions": DIRECTIONS,
        "lat": EXACT[0],
        "lon": EXACT[1],
        "locality": "Lyon",
        "region": "Auvergne-Rhône-Alpes",
        "postal_code": "69002",
        "country": "FR",
        "approx_lat": APPROX[0],
        "approx_lon": APPROX[1],
        "kind": VenueKind.HOME,
        "updated_at": datetime(2026, 11, 20, 8, 15, tzinfo=UTC),
    }
    meeting = Meeting(**(values | fields))
    meeting.host = host()
    return meeting


def library_meeting(**fields: Any) -> Meeting:
    """A meeting in a public place: its address is public."""
    values: dict[str, Any] = {
        "id": 2,
        "title": "Library meetup",
        "street": "30 boulevard Vivier-Merle",
        "directions": "Room B, ask at the front desk",
        "lat": 45.7590,
        "lon": 4.8580,
        # A public venue's public point is its exact one (kit.maps.privacy.public_point).
        "approx_lat": 45.7590,
        "approx_lon": 4.8580,
        "postal_code": "69003",
        "kind": VenueKind.PUBLIC,
    }
    return lyon_meeting(**(values | fields))


def meeting_in(pk: int, zone: str, start_utc: datetime, **fields: Any) -> Meeting:
    return lyon_meeting(
        id=pk,
        title=f"Meeting {pk}",
        timezone=zone,
        starts_at=start_utc,
        ends_at=start_utc + timedelta(hours=2),
        **fields,
    )


def invite(meeting: Meeting, method: str = "REQUEST", **kwargs: Any) -> bytes:
    options: dict[str, Any] = {
        "base_url": BASE_URL,
        "organizer_email": MAIL_FROM,
        "attendee": guest(),
        "sequence": 0,
        "method": method,
        "now": NOW,
    }
    return render_invite(meeting, **(options | kwargs))


# ---------------------------------------------------------------------------
# Identity: UID, METHOD, SEQUENCE, STATUS


def test_uid_is_stable_across_renders_and_outputs(node: str) -> None:
    meeting = lyon_meeting()
    uid = f"meeting-{meeting.public_id}@kit.example"
    assert meeting_uid(meeting, "kit.example") == uid
    outputs = [
        invite(meeting, now=NOW),
        invite(meeting, now=NOW + timedelta(days=3), sequence=4),
        invite(meeting, "CANCEL", sequence=5),
        render_public_ics(meeting, base_url=BASE_URL),
        render_feed([meeting], base_url=BASE_URL + "/", name="Lyon"),
    ]
    for ics in outputs:
        calendar, seen = read_both(node, ics)
        assert str(only_event(calendar)["UID"]) == uid
        assert [e["uid"] for e in seen["events"]] == [uid]


def test_request_then_cancel_keep_the_uid(node: str) -> None:
    meeting = lyon_meeting()
    request, seen_request = read_both(node, invite(meeting, "REQUEST", sequence=0))
    cancel, seen_cancel = read_both(node, invite(meeting, "CANCEL", sequence=1))

    assert str(request["METHOD"]) == "REQUEST" and seen_request["method"] == "REQUEST"
    assert str(cancel["METHOD"]) == "CANCEL" and seen_cancel["method"] == "CANCEL"
    first, second = only_event(request), only_event(cancel)
    assert first.uid == second.uid
    assert (first.sequence, second.sequence) == (0, 1)
    assert (str(first["STATUS"]), str(second["STATUS"])) == ("CONFIRMED", "CANCELLED")
    (cancelled,) = seen_cancel["events"]
    assert (cancelled["status"], cancelled["sequence"]) == ("CANCELLED", 1)
    # The guest is still named, as iTIP wants for a cancellation, but no
    # reminder fires and the home address is not sent again.
    assert [a["value"] for a in cancelled["attendees"]] == ["mailto:sam.lee@example.org"]
    assert cancelled["alarms"] == []
    assert STREET not in everything_readable(invite(meeting, "CANCEL", sequence=1), seen_cancel)


def test_cancelled_meeting_is_cancelled_everywhere(node: str) -> None:
    meeting = lyon_meeting(status=MeetingStatus.CANCELLED)
    for ics in (
        render_public_ics(meeting, base_url=BASE_URL),
        render_feed([meeting], base_url=BASE_URL, name="x"),
    ):
        calendar, seen = read_both(node, ics)
        assert str(only_event(calendar)["STATUS"]) == "CANCELLED"
        assert seen["events"][0]["status"] == "CANCELLED"


def test_dtstamp_and_last_modified(node: str) -> None:
    calendar, seen = read_both(node, invite(lyon_meeting(), now=NOW))
    event = only_event(calendar)
    assert event.DTSTAMP == NOW
    assert event.LAST_MODIFIED == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    assert seen["events"][0]["dtstamp"] == "2026-11-23T09:00:00Z"


# ---------------------------------------------------------------------------
# Who sees what


def test_confirmed_guest_invite_has_street_directions_and_exact_point(node: str) -> None:
    ics = invite(lyon_meeting())
    calendar, seen = read_both(node, ics)
    event = only_event(calendar)
    location = str(event["LOCATION"])
    assert STREET in location and DIRECTIONS in location and "Lyon 69002" in location
    assert tuple(seen["events"][0]["geo"]) == EXACT
    assert (event["GEO"].latitude, event["GEO"].longitude) == EXACT
    assert seen["events"][0]["location"] == location

    (attendee,) = seen["events"][0]["attendees"]
    assert attendee == {
        "value": "mailto:sam.lee@example.org",
        "cn": "Sam Lee",
        "role": "REQ-PARTICIPANT",
        "partstat": "ACCEPTED",
        "rsvp": "FALSE",
        "cutype": "INDIVIDUAL",
    }
    assert only_event(calendar).attendees[0].PARTSTAT == "ACCEPTED"


def test_waitlisted_guest_invite_keeps_the_address_private(node: str) -> None:
    ics = invite(lyon_meeting(), attendee_status=RsvpStatus.WAITLISTED)
    _, seen = read_both(node, ics)
    readable = everything_readable(ics, seen)
    assert STREET not in readable and DIRECTIONS not in readable
    assert seen["events"][0]["attendees"][0]["partstat"] == "TENTATIVE"
    assert tuple(seen["events"][0]["geo"]) == APPROX


def assert_nothing_private(readable: str) -> None:
    for secret in [STREET, "Mercière", DIRECTIONS, "porte gauche", *HOST_SECRETS]:
        assert secret not in readable, secret
    for coordinate in EXACT:
        assert str(coordinate) not in readable, coordinate


def test_public_ics_of_a_home_shows_only_the_neighbourhood(node: str) -> None:
    meeting = lyon_meeting()
    ics = render_public_ics(meeting, base_url=BASE_URL, organizer_email=MAIL_FROM)
    calendar, seen = read_both(node, ics)

    assert_nothing_private(everything_readable(ics, seen))
    event = only_event(calendar)
    assert str(event["LOCATION"]) == (
        "Near Lyon 69002, FR — exact address sent to confirmed guests"
    )
    assert tuple(seen["events"][0]["geo"]) == APPROX
    assert seen["method"] in {None, "PUBLISH"}
    assert seen["events"][0]["attendees"] == [] and seen["events"][0]["alarms"] == []
    assert "ATTENDEE" not in event and not event.walk("VALARM")
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Paris"]


def test_feed_shows_a_home_exactly_only_to_whom_it_is_meant(node: str) -> None:
    mine, theirs = lyon_meeting(id=1), lyon_meeting(id=2, title="Another home")
    ics = render_feed([mine, theirs], base_url=BASE_URL, name="My meetings", exact_for={1})
    _, seen = read_both(node, ics)
    exact, public = seen["events"]
    assert STREET in exact["location"] and DIRECTIONS in exact["location"]
    assert tuple(exact["geo"]) == EXACT
    assert STREET not in public["location"] and tuple(public["geo"]) == APPROX

    ics = render_feed([theirs], base_url=BASE_URL, name="Near Lyon", organizer_email=MAIL_FROM)
    _, seen = read_both(node, ics)
    assert_nothing_private(everything_readable(ics, seen))
    assert "Lyon" in seen["events"][0]["location"] and "69002" in seen["events"][0]["location"]


def test_public_place_shows_its_address(node: str) -> None:
    meeting = library_meeting()
    for ics in (
        render_public_ics(meeting, base_url=BASE_URL),
        render_feed([meeting], base_url=BASE_URL, name="Lyon"),
    ):
        calendar, seen = read_both(node, ics)
        location = seen["events"][0]["location"]
        assert location == "30 boulevard Vivier-Merle, Lyon 69003, FR"
        assert str(only_event(calendar)["LOCATION"]) == location
        assert tuple(seen["events"][0]["geo"]) == (45.7590, 4.8580)
        assert "Room B" not in everything_readable(ics, seen)  # directions stay private


def test_organizer_is_the_kits_address_with_the_hosts_first_name(node: str) -> None:
    ics = invite(lyon_meeting())
    calendar, seen = read_both(node, ics)
    organizer = seen["events"][0]["organizer"]
    assert organizer == {
        "value": "mailto:invites@kit.example",
        "cn": "Camille via House Meeting Kit",
    }
    event = only_event(calendar)
    assert event.organizer.email == "invites@kit.example"
    assert event.organizer.CN == "Camille via House Meeting Kit"
    # The guest's invite names the guest, never the host's contact details.
    assert_nothing_private_about_host(everything_readable(ics, seen))


def assert_nothing_private_about_host(readable: str) -> None:
    for secret in HOST_SECRETS:
        assert secret not in readable, secret


def test_description_has_the_note_and_the_page(node: str) -> None:
    meeting = lyon_meeting()
    _, seen = read_both(node, render_public_ics(meeting, base_url=BASE_URL))
    event = seen["events"][0]
    url = f"{BASE_URL}/meetings/{meeting.public_id}"
    assert event["url"] == url
    assert event["description"] == (
        "A living-room conversation about our schools.\n\n"
        "From the host: Bring a mug if you can.\n\n" + url
    )


def test_a_guests_invite_carries_their_change_or_cancel_link(node: str) -> None:
    meeting = lyon_meeting()
    link = f"{BASE_URL}/rsvp/s3cr3t-token"
    _, seen = read_both(node, invite(meeting, manage_url=link))
    assert seen["events"][0]["description"].endswith(
        f"{BASE_URL}/meetings/{meeting.public_id}\n\nChange or cancel your RSVP: {link}"
    )
    # A cancellation has nothing to change, and no other file ever holds the link.
    for ics in (
        invite(meeting, "CANCEL", sequence=1, manage_url=link),
        render_public_ics(meeting, base_url=BASE_URL),
        render_feed([meeting], base_url=BASE_URL, name="x"),
    ):
        _, seen = read_both(node, ics)
        assert "s3cr3t" not in seen["events"][0]["description"]
        assert b"s3cr3t" not in ics


def test_page_url_agrees_with_kit_meetings() -> None:
    from kit.core import urls

    meeting = lyon_meeting()
    event = meeting_to_event(meeting, base_url=BASE_URL, exact=False, sequence=0)
    assert event.url == urls.meeting(BASE_URL, meeting.public_id)


# ---------------------------------------------------------------------------
# Feeds


def test_feed_with_three_zones_has_three_vtimezones(node: str) -> None:
    zones = ["Europe/Paris", "America/New_York", "Asia/Kolkata"]
    start = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    meetings = [
        meeting_in(pk, zones[pk % 3], start + timedelta(days=40 * pk)) for pk in range(1, 11)
    ]
    meetings[3].status = MeetingStatus.CANCELLED
    ics = render_feed(meetings, base_url=BASE_URL, name="Winter, house; meetings", now=NOW)
    calendar, seen = read_both(node, ics)

    assert sorted(tz.tz_name for tz in calendar.timezones) == sorted(zones)
    assert sorted(seen["timezones"]) == sorted(zones)
    assert len(calendar.events) == len(seen["events"]) == 10
    assert str(calendar["METHOD"]) == seen["method"] == "PUBLISH"
    assert seen["calname"] == calendar.calendar_name == "Winter, house; meetings"
    text = unfolded(ics)
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert "X-PUBLISHED-TTL:PT1H\r\n" in text
    assert seen["refresh_interval"] == {"value": "PT1H", "type": "duration"}
    for meeting, event in zip(meetings, seen["events"], strict=True):
        assert event["start"]["tzid"] == meeting.timezone
        assert event["start"]["utc"] == meeting.starts_at.timestamp()
        assert event["status"] == ("CANCELLED" if meeting.id == 4 else "CONFIRMED")
        assert event["attendees"] == [] and event["alarms"] == []
    # The window spans every event of a zone, 2026 to 2028 here, one block per
    # transition: ical.js misreads icalendar's RDATE lists (the utc check above).
    new_york = next(tz for tz in calendar.timezones if tz.tz_name == "America/New_York")
    assert b"DTSTART:20281105T020000" in new_york.to_ical()
    assert "RDATE" not in text


# ---------------------------------------------------------------------------
# Text and wire format


TRICKY_TITLE = 'Schools, taxes; and "us"\nPart 2: back\\slash, ünïcödé 🏠'


def test_text_escaping_survives_a_round_trip(node: str) -> None:
    description = "Line one, with a comma;\nline two; \\ and a tab\there.\r\nWindows line."
    meeting = lyon_meeting(title=TRICKY_TITLE, description=description, host_note="")
    for ics in (invite(meeting), render_feed([meeting], base_url=BASE_URL, name=TRICKY_TITLE)):
        calendar, seen = read_both(node, ics)
        event = only_event(calendar)
        assert event["SUMMARY"] == seen["events"][0]["summary"] == TRICKY_TITLE
        expected = f"{description.replace(chr(13), '')}\n\n{BASE_URL}/meetings/{meeting.public_id}"
        assert seen["events"][0]["description"] == expected
        assert str(event["DESCRIPTION"]).replace("\r", "") == expected
    _, seen = read_both(node, render_feed([meeting], base_url=BASE_URL, name=TRICKY_TITLE))
    assert seen["calname"] == TRICKY_TITLE
    assert 'SUMMARY:Schools\\, taxes\\; and "us"\\nPart 2: back\\\\slash' in unfolded(
        invite(meeting)
    )


def test_an_invite_is_byte_for_byte_what_the_calendar_leaf_writes() -> None:
    """render_invite keeps each calendar head and VTIMEZONE it wrote (invite_file): the
    bytes are calendar.render_invite's, for every zone, year span and method, the first
    time and when the head comes from the cache."""
    meetings = [
        meeting_in(7, "Europe/Paris", datetime(2027, 3, 1, 18, tzinfo=UTC)),
        meeting_in(8, "America/New_York", datetime(2026, 12, 31, 23, tzinfo=UTC)),
        meeting_in(9, "Asia/Kolkata", datetime(2027, 7, 1, 12, tzinfo=UTC)),
        meeting_in(10, "UTC", datetime(2027, 1, 5, 9, tzinfo=UTC)),
    ]
    for _ in range(2):
        for meeting in meetings:
            for method in ("REQUEST", "CANCEL"):
                event = meeting_to_event(
                    meeting,
                    base_url=BASE_URL,
                    exact=method == "REQUEST",
                    sequence=1,
                    organizer_email=MAIL_FROM,
                    attendee=guest(),
                    cancelled=method == "CANCEL",
                )
                expected = calendar.render_invite(event, method=method, now=NOW)
                assert invite_file(event, method=method, now=NOW) == expected
