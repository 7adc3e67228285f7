"""kit.toolkit.calendar: plain events in, RFC 5545 bytes out. Every .ics is read back
twice, by icalendar (which wrote it) and by Mozilla's ical.js (Thunderbird's parser)
through node, so a mistake the writer and its own reader share still fails a test.

No database and no models: the events are built as plain data. What a meeting's
event may say (which address, whose links) is tested in tests/meetings/test_calendar_events.py,
which reads its files back with the helpers below. Setup for ical.js:
``npm ci --prefix tests/toolkit``.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Alarm, Calendar, Component, Event
from icalendar.parser import Contentline

from kit.toolkit.calendar import (
    ALARM_BEFORE,
    Attendee,
    CalendarEvent,
    InviteMethod,
    Organizer,
    attendee_address,
    event_text,
    event_times,
    fold,
    new_calendar,
    organizer_address,
    render_feed,
    render_invite,
    render_public_ics,
    serialize,
)

HERE = Path(__file__).parent
ICALJS = HERE / "icaljs_parse.mjs"
BASE_URL = "https://kit.example"
MAIL_FROM = "House Meeting Kit <invites@kit.example>"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------
# Plain events


def lyon_event(**fields: Any) -> CalendarEvent:
    """A guest's view of a home meeting in Lyon, 18:30–20:30 local time on 1 December 2026."""
    values: dict[str, Any] = {
        "uid": "meeting-lyon1@kit.example",
        "sequence": 0,
        "title": "Neighbours talk schools",
        "description": "A living-room conversation about our schools.",
        "starts_at": datetime(2026, 12, 1, 17, 30, tzinfo=UTC),
        "ends_at": datetime(2026, 12, 1, 19, 30, tzinfo=UTC),
        "timezone": "Europe/Paris",
        "location": "12 rue Mercière, Lyon 69002, FR",
        "url": f"{BASE_URL}/meetings/lyon1",
        "geo": (45.7641, 4.8274),
        "organizer": Organizer(name="Camille via House Meeting Kit", email=MAIL_FROM),
        "attendee": Attendee(name="Sam Lee", email="sam.lee@example.org", partstat="ACCEPTED"),
        "last_modified": datetime(2026, 11, 20, 8, 15, tzinfo=UTC),
    }
    return CalendarEvent(**(values | fields))


def event_in(pk: int, zone: str, start_utc: datetime, **fields: Any) -> CalendarEvent:
    return lyon_event(
        uid=f"meeting-{pk}@kit.example",
        title=f"Meeting {pk}",
        timezone=zone,
        starts_at=start_utc,
        ends_at=start_utc + timedelta(hours=2),
        **fields,
    )


def invite(event: CalendarEvent, method: InviteMethod = "REQUEST") -> bytes:
    return render_invite(event, method=method, now=NOW)


# ---------------------------------------------------------------------------
# Reading back: icalendar, ical.js, and the raw bytes


@pytest.fixture(scope="session")
def node() -> str:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "ical.js").is_dir():
        pytest.fail("ical.js is missing: install node, then run `npm ci --prefix tests/toolkit`")
    return node


def icaljs(node: str, ics: bytes) -> dict[str, Any]:
    run = subprocess.run(
        [node, str(ICALJS)], input=ics, capture_output=True, cwd=HERE, timeout=60, check=False
    )
    assert run.returncode == 0, f"ical.js could not read the file:\n{run.stderr.decode()}"
    return json.loads(run.stdout)


def parse(ics: bytes) -> Calendar:
    calendar = Calendar.from_ical(ics)
    broken = [(c.name, c.errors) for c in calendar.walk() if c.errors]
    assert not broken, f"icalendar found broken values: {broken}"
    assert calendar.get_missing_tzids() == set()
    return calendar


def read_both(node: str, ics: bytes) -> tuple[Calendar, dict[str, Any]]:
    assert_wire_format(ics)
    return parse(ics), icaljs(node, ics)


def assert_wire_format(ics: bytes) -> None:
    """RFC 5545 3.1: CRLF line ends; lines of at most 75 octets, continued by a space."""
    assert ics.endswith(b"\r\n")
    assert b"\n" not in ics.replace(b"\r\n", b""), "a bare LF"
    assert b"\r" not in ics.replace(b"\r\n", b""), "a bare CR"
    lines = ics.split(b"\r\n")[:-1]
    assert lines[0] == b"BEGIN:VCALENDAR" and lines[-1] == b"END:VCALENDAR"
    for line in lines:
        assert len(line) <= 75, f"{len(line)} octets: {line!r}"
        line.decode("utf-8")  # folding never splits a UTF-8 sequence


def unfolded(ics: bytes) -> str:
    return ics.replace(b"\r\n ", b"").decode("utf-8")


def everything_readable(ics: bytes, seen_by_icaljs: dict[str, Any]) -> str:
    """The raw text, unfolded and unescaped, plus all ical.js saw: where a leak would show."""
    text = unfolded(ics)
    return "\n".join([text, re.sub(r"\\([,;\\])", r"\1", text), json.dumps(seen_by_icaljs)])


def only_event(calendar: Calendar) -> Event:
    events = calendar.events
    assert len(events) == 1
    return events[0]


# ---------------------------------------------------------------------------
# Times and zones


@pytest.mark.parametrize(
    ("starts_at", "wall", "raw"),
    [
        (datetime(2026, 12, 1, 17, 30, tzinfo=UTC), "2026-12-01T18:30:00", "20261201T183000"),
        (datetime(2026, 7, 1, 16, 30, tzinfo=UTC), "2026-07-01T18:30:00", "20260701T183000"),
    ],
    ids=["winter-CET", "summer-CEST"],
)
def test_invite_lyon_local_wall_time_with_vtimezone(
    node: str, starts_at: datetime, wall: str, raw: str
) -> None:
    event = lyon_event(starts_at=starts_at, ends_at=starts_at + timedelta(hours=2))
    ics = invite(event)
    calendar, seen = read_both(node, ics)

    assert f"DTSTART;TZID=Europe/Paris:{raw}" in unfolded(ics)
    vevent = only_event(calendar)
    paris = ZoneInfo("Europe/Paris")
    assert vevent.start == starts_at.astimezone(paris)
    assert vevent.start.tzinfo is not None and vevent.start.tzname() in {"CET", "CEST"}
    assert vevent.end - vevent.start == timedelta(hours=2)
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Paris"]

    (seen_event,) = seen["events"]
    assert seen["timezones"] == ["Europe/Paris"]
    assert seen_event["start"]["local"] == wall
    assert seen_event["start"]["tzid"] == seen_event["start"]["zone"] == "Europe/Paris"
    # ical.js turns the wall time into an instant with kit's own VTIMEZONE:
    # the right instant means the VTIMEZONE's offsets are right too.
    assert seen_event["start"]["utc"] == starts_at.timestamp()
    assert seen_event["end"]["utc"] == (starts_at + timedelta(hours=2)).timestamp()


def test_vtimezone_is_limited_to_the_events_year(node: str) -> None:
    calendar, _ = read_both(node, invite(lyon_event()))
    vtimezone = calendar.timezones[0].to_ical()
    assert len(vtimezone) < 700  # 1970–2038 would be about 3 kB
    assert b"2026" in vtimezone and b"2025" not in vtimezone and b"2028" not in vtimezone


def test_a_utc_event_needs_no_vtimezone(node: str) -> None:
    ics = invite(lyon_event(timezone="UTC"))
    calendar, seen = read_both(node, ics)
    assert "DTSTART:20261201T173000Z" in unfolded(ics)
    assert calendar.timezones == [] and seen["timezones"] == []


# A row stored before meetings were limited to two years ahead, or edited by hand: in
# Paris this moment is already year 10000, which no datetime holds (an OverflowError
# before); in New York it is year 9999, with no next year for a VTIMEZONE to reach.
END_OF_TIME = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)


def at_the_end_of_time(zone: str, **fields: Any) -> CalendarEvent:
    return lyon_event(
        timezone=zone, starts_at=END_OF_TIME, ends_at=END_OF_TIME + timedelta(minutes=59), **fields
    )


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York"])
def test_an_event_at_the_calendars_end_is_written_as_given_in_utc(node: str, zone: str) -> None:
    event = at_the_end_of_time(zone)
    for ics in (invite(event), render_public_ics(event, now=NOW)):
        calendar, seen = read_both(node, ics)
        assert "DTSTART:99991231T230000Z" in unfolded(ics)
        assert calendar.timezones == [] and seen["timezones"] == []
        assert only_event(calendar).start == END_OF_TIME
        assert seen["events"][0]["start"]["utc"] == END_OF_TIME.timestamp()


def test_a_feed_with_an_event_at_the_calendars_end_keeps_its_other_events_local(
    node: str,
) -> None:
    # kit.meetings.feeds leaves such a meeting out (tests/meetings/test_feeds.py); the calendar
    # itself still writes whatever it is given.
    events = [lyon_event(), at_the_end_of_time("Europe/Paris", uid="broken@kit.example")]
    calendar, seen = read_both(node, render_feed(events, name="Lyon", now=NOW))
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Paris"]
    vtimezone = calendar.timezones[0].to_ical()
    assert b"2026" in vtimezone and b"9999" not in vtimezone
    assert [e["start"]["tzid"] for e in seen["events"]] == ["Europe/Paris", None]


# ---------------------------------------------------------------------------
# What the file says: every field as given, the reminder only in a REQUEST


def test_every_field_is_written_as_given(node: str) -> None:
    event = lyon_event(sequence=3, status="CANCELLED")
    calendar, seen = read_both(node, invite(event))
    vevent, (seen_event,) = only_event(calendar), seen["events"]
    assert str(vevent["UID"]) == seen_event["uid"] == event.uid
    assert vevent.sequence == seen_event["sequence"] == 3
    assert str(vevent["STATUS"]) == seen_event["status"] == "CANCELLED"
    assert seen_event["summary"] == event.title and seen_event["url"] == event.url
    assert seen_event["description"] == event.description
    assert seen_event["location"] == event.location and tuple(seen_event["geo"]) == event.geo
    assert vevent.DTSTAMP == NOW
    assert vevent.LAST_MODIFIED == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    assert seen_event["dtstamp"] == "2026-11-23T09:00:00Z"


def test_organizer_is_written_as_a_bare_address_and_the_attendee_as_given(node: str) -> None:
    attendee = Attendee(name="Ana Ruiz", email="ana@example.org", partstat="DECLINED")
    _, seen = read_both(node, invite(lyon_event(attendee=attendee)))
    (seen_event,) = seen["events"]
    # "Name <addr>" in, only the address out: a CAL-ADDRESS is a mailto: URI.
    assert seen_event["organizer"]["value"] == "mailto:invites@kit.example"
    assert seen_event["organizer"]["cn"] == "Camille via House Meeting Kit"
    (seen_attendee,) = seen_event["attendees"]
    assert (seen_attendee["value"], seen_attendee["cn"]) == ("mailto:ana@example.org", "Ana Ruiz")
    assert seen_attendee["partstat"] == "DECLINED"
    # The RSVP happened on the kit's pages: no calendar should offer to reply.
    assert seen_attendee["rsvp"] == "FALSE"


def test_no_organizer_attendee_or_geo_when_none_is_given(node: str) -> None:
    event = lyon_event(organizer=None, attendee=None, geo=None, last_modified=None)
    calendar, seen = read_both(node, render_public_ics(event, now=NOW))
    vevent = only_event(calendar)
    assert not {"ORGANIZER", "ATTENDEE", "GEO", "LAST-MODIFIED"} & set(vevent)
    assert seen["events"][0]["attendees"] == [] and seen["method"] in {None, "PUBLISH"}


def test_alarm_only_in_requests(node: str) -> None:
    event = lyon_event()
    _, seen = read_both(node, invite(event))
    assert seen["events"][0]["alarms"] == [
        {
            "action": "DISPLAY",
            "trigger": "-PT2H",
            "description": "Reminder: Neighbours talk schools",
        }
    ]
    for ics in (
        invite(event, "CANCEL"),
        render_public_ics(event, now=NOW),
        render_feed([event], name="x", now=NOW),
    ):
        calendar, seen = read_both(node, ics)
        assert seen["events"][0]["alarms"] == [] and not calendar.walk("VALARM")


# ---------------------------------------------------------------------------
# Feeds


def test_empty_feed_is_still_a_calendar(node: str) -> None:
    _, seen = read_both(node, render_feed([], name="Nothing yet"))
    assert seen["events"] == [] and seen["calname"] == "Nothing yet"


def test_big_feed_reads_back(node: str) -> None:
    zones = ["Europe/Paris", "America/Chicago", "Australia/Sydney", "Asia/Kolkata"]
    start = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    events = [event_in(pk, zones[pk % 4], start + timedelta(hours=5 * pk)) for pk in range(1, 501)]
    calendar, seen = read_both(node, render_feed(events, name="All"))
    assert len(calendar.events) == len(seen["events"]) == 500
    assert len(calendar.timezones) == 4
    assert [e["start"]["utc"] for e in seen["events"]] == [e.starts_at.timestamp() for e in events]


# ---------------------------------------------------------------------------
# Text and wire format


TRICKY_TITLE = 'Schools, taxes; and "us"\nPart 2: back\\slash, ünïcödé 🏠'


def test_text_escaping_survives_a_round_trip(node: str) -> None:
    description = "Line one, with a comma;\nline two; \\ and a tab\there.\r\nWindows line."
    event = lyon_event(title=TRICKY_TITLE, description=description)
    for ics in (invite(event), render_feed([event], name=TRICKY_TITLE)):
        calendar, seen = read_both(node, ics)
        assert only_event(calendar)["SUMMARY"] == seen["events"][0]["summary"] == TRICKY_TITLE
        assert seen["events"][0]["description"] == description.replace("\r", "")
    _, seen = read_both(node, render_feed([event], name=TRICKY_TITLE))
    assert seen["calname"] == TRICKY_TITLE
    assert 'SUMMARY:Schools\\, taxes\\; and "us"\\nPart 2: back\\\\slash' in unfolded(invite(event))


def test_long_lines_fold_at_75_octets_without_splitting_characters(node: str) -> None:
    description = "é" * 200 + " " + "🏠" * 50 + " " + "a," * 100
    ics = invite(lyon_event(description=description))
    assert_wire_format(ics)  # CRLF, <= 75 octets, valid UTF-8 on every physical line
    assert max(len(line) for line in ics.split(b"\r\n")) > 60
    _, seen = read_both(node, ics)
    assert seen["events"][0]["description"].startswith(description)


def icalendar_vevent(event: CalendarEvent, *, stamp: datetime, alarm: bool = False) -> Event:
    """The same VEVENT built from icalendar's objects, as the kit wrote it before it
    wrote text: the oracle the text writer is held to, byte for byte."""
    start, end = event_times(event)
    vevent = Event()
    vevent.add("UID", event.uid)
    vevent.add("DTSTAMP", stamp)
    vevent.add("DTSTART", start)
    vevent.add("DTEND", end)
    vevent.add("SUMMARY", event.title)
    vevent.add("DESCRIPTION", event.description)
    vevent.add("LOCATION", event.location)
    if event.geo is not None:
        vevent.add("GEO", event.geo)
    vevent.add("URL", event.url)
    vevent.add("STATUS", event.status)
    vevent.add("SEQUENCE", event.sequence)
    if event.last_modified is not None:
        vevent.add("LAST-MODIFIED", event.last_modified.astimezone(UTC))
    if event.organizer:
        vevent.add("ORGANIZER", organizer_address(event.organizer))
    if event.attendee:
        vevent.add("ATTENDEE", attendee_address(event.attendee))
    if alarm:
        vevent.add_component(
            Alarm.new_display(description=f"Reminder: {event.title}", trigger=-ALARM_BEFORE)
        )
    return vevent


def test_fast_serialize_is_byte_for_byte_icalendars_to_ical() -> None:
    event = lyon_event(title=TRICKY_TITLE, description="x" * 300 + "é" * 80, sequence=3)
    calendar = new_calendar("REQUEST")
    vevent: Component = icalendar_vevent(event, stamp=NOW, alarm=True)
    calendar.add_component(vevent)
    assert serialize(calendar) == calendar.to_ical()


# Pieces of text that have tripped calendar writers: TEXT escapes, every kind of line
# break, RFC 6868 carets and quotes in names, characters of 2, 3 and 4 UTF-8 octets
# (which a fold must not split), and a backslash or caret right at a fold.
PIECES = [
    "a", "Z", " ", ",", ";", ":", "\\", "\\N", "\\n", "\n", "\r\n", "\r", '"', "'", "^",
    "é", "ß", "日本", "🏠", "🎉", "\t", "x" * 70, "é" * 40, "https://kit.example/a?b=1,2;3",
]  # fmt: skip
ZONES = ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC",
         "Etc/UTC", "America/St_Johns"]  # fmt: skip


def random_text(rng: random.Random, most: int, pieces: list[str] = PIECES) -> str:
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, most)))


# Names come through the kit's input checks, which let no line break through; URLs are
# the kit's own.
URL_PIECES = ["a", "Z", "-", "_", "x" * 70, "?b=1,2;3", "%C3%A9", "#x"]
ONE_LINE = [p for p in PIECES if "\r" not in p and "\n" not in p]


def random_event(rng: random.Random) -> CalendarEvent:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * rng.randint(0, 70_000))
    return CalendarEvent(
        uid=f"meeting-{rng.randint(1, 10**9)}@kit.example{random_text(rng, 2)}",
        sequence=rng.randint(0, 40),
        title=random_text(rng, 12) or "t",
        description=random_text(rng, 30),
        starts_at=start,
        ends_at=start + timedelta(minutes=30 * rng.randint(1, 8)),
        timezone=rng.choice(ZONES),
        location=random_text(rng, 8),
        url="https://kit.example/meetings/" + random_text(rng, 3, URL_PIECES),
        status=rng.choice(["CONFIRMED", "CANCELLED"]),
        geo=rng.choice([None, (rng.uniform(-90, 90), rng.uniform(-180, 180)), (45.0, 4.5)]),
        organizer=rng.choice([None, Organizer(random_text(rng, 4, ONE_LINE) or "Q", MAIL_FROM)]),
        attendee=rng.choice([None, Attendee(random_text(rng, 4, ONE_LINE) or "A", "ada@x.org")]),
        last_modified=rng.choice([None, start - timedelta(days=3, microseconds=1234)]),
    )


def test_the_text_writer_is_byte_for_byte_icalendar_on_random_events() -> None:
    rng = random.Random(5545)
    for _ in range(1500):
        event = random_event(rng)
        alarm = rng.random() < 0.3
        stamp = NOW + timedelta(microseconds=rng.randint(0, 10**6))
        expected = serialize(icalendar_vevent(event, stamp=stamp, alarm=alarm)).decode()
        assert event_text(event, stamp=stamp, alarm=alarm) == expected, event


def test_random_events_pass_icalendar_and_icaljs_strict(node: str) -> None:
    rng = random.Random(7986)
    events = [random_event(rng) for _ in range(200)]
    ics = render_feed(events, name="Random, events", now=NOW)
    assert_wire_format(ics)
    parsed, seen = read_both(node, ics)
    assert len(seen["events"]) == len(parsed.walk("VEVENT")) == len(events)
    for event, vevent in zip(events, seen["events"], strict=True):
        assert vevent["uid"].startswith("meeting-") and vevent["location"] is not None
        assert vevent["description"] == parsed_text(event.description)


def parsed_text(text: str) -> str:
    """What a reader gets back of a TEXT value: every line break read as "\\n" (and, as
    icalendar writes it, a literal backslash-N too)."""
    return text.replace("\\N", "\n").replace("\r\n", "\n").replace("\r", "\n")


def test_streamed_feed_is_what_icalendar_itself_writes() -> None:
    events = [
        event_in(pk, zone, datetime(2026, 12, 1, 17, tzinfo=UTC) + timedelta(days=pk))
        for pk, zone in enumerate(["Europe/Paris", "America/New_York", "Europe/Paris"], 1)
    ]
    events[1] = replace(events[1], status="CANCELLED", organizer=None)
    ics = render_feed(events, name="A, b", now=NOW)
    assert Calendar.from_ical(ics).to_ical() == ics


def test_ascii_lines_fold_as_icalendar_folds_them() -> None:
    # ASCII lines are folded by slices, not character by character: the same bytes,
    # a backslash or caret at a fold carried to the next line included.
    rng = random.Random(75)
    pieces = ["a", "\\", "^", ";", " ", "x" * 30, "y" * 73]
    for _ in range(5000):
        line = "X:" + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        assert fold(line) == Contentline(line).to_ical().decode(), line
