"""iCalendar files from plain events: email invites (iTIP REQUEST / CANCEL), a public
.ics, subscribable feeds.

A leaf: it knows nothing of meetings, people or who may see what. The caller
(``kit.meetings.calendar_events``) decides every word an event carries, the exact or the
public place included, and hands over a ``CalendarEvent``; this module only writes
it as RFC 5545 bytes that Thunderbird, Apple, Google and Outlook all read alike.

Times are written in the event's own zone (``DTSTART;TZID=Europe/Paris``)
with a VTIMEZONE, so a guest's calendar shows the local wall time even when
daylight-saving rules change; a UTC or floating time would lose the zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, timedelta, tzinfo
from email.utils import parseaddr
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from icalendar import (
    CUTYPE,
    ROLE,
    Calendar,
    Component,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vDuration,
)
from icalendar.error import IncompleteComponent
from icalendar.parser import Contentline
from icalendar.timezone import tzid_from_tzinfo

PRODID = "-//House Meeting Kit//kit//EN"
ALARM_BEFORE = timedelta(hours=2)
# How often subscribers should re-fetch a feed (RFC 7986 and the Apple/Google
# X-PUBLISHED-TTL spelling); feeds are cached for about as long.
FEED_REFRESH = timedelta(hours=1)
_END_VCALENDAR = b"END:VCALENDAR\r\n"

InviteMethod = Literal["REQUEST", "CANCEL"]
EventStatus = Literal["CONFIRMED", "CANCELLED"]
# RFC 5545 3.2.12, the answers an attendee of a VEVENT can have given.
Partstat = Literal["ACCEPTED", "TENTATIVE", "DECLINED", "NEEDS-ACTION"]


@dataclass(frozen=True)
class Organizer:
    """Who sends the invite: ``email`` may be "Name <addr>" (only the address is
    written) and must be one the sender reads, since iTIP replies go there."""

    name: str
    email: str


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str
    partstat: Partstat = "NEEDS-ACTION"


@dataclass(frozen=True)
class CalendarEvent:
    """One VEVENT, exactly as one reader may see it: every field is written as given.

    ``uid`` must stay the same across renders and edits, so an update or a CANCEL
    replaces the first invite; ``sequence`` grows with each change that matters.
    ``starts_at``/``ends_at`` are aware; ``timezone`` is the IANA name whose wall
    clock the calendar should show. ``last_modified`` is None for an unsaved event.
    """

    uid: str
    sequence: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    location: str
    url: str
    status: EventStatus = "CONFIRMED"
    geo: tuple[float, float] | None = None
    organizer: Organizer | None = None
    attendee: Attendee | None = None
    last_modified: datetime | None = None


# ---------------------------------------------------------------------------
# One event, written as RFC 5545 text
#
# A 5,000-event feed took 1.8 s through icalendar's objects (0.29 ms an event:
# property objects, parameter dicts, content lines); the same VEVENTs written as
# text take a tenth of that. The text is byte for byte what icalendar writes
# (its property order, escaping and folding; tests/toolkit/test_calendar.py holds
# the two side by side on random events), so every reader that took the files before
# takes them now. icalendar still writes the head (once per file), the VTIMEZONEs
# (once per zone and span of years: ``vtimezone_text``), the ORGANIZER and ATTENDEE
# lines (quoted parameters, once per organizer) and parses everything back in the tests.


def escape_text(text: str) -> str:
    r"""A TEXT value (RFC 5545 3.3.11): backslash, semicolon and comma escaped, every
    line break (CRLF, LF or a lone CR) as ``\n``; icalendar's own rules and order."""
    return (
        text.replace("\\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


FOLD_AT = 75  # octets per physical line, the line break excluded (RFC 5545 3.1)


def fold(line: str) -> str:
    """One content line folded at 75 octets: never inside a UTF-8 character, never
    right after a backslash or caret that starts an escape (icalendar issue #1501)."""
    if line.isascii():
        return line if len(line) < FOLD_AT else _fold_ascii(line)
    if len(line.encode()) < FOLD_AT:
        return line
    pieces: list[str] = []
    current: list[str] = []
    count = 0
    for char in line:
        size = 1 if char < "\x80" else len(char.encode())
        if current and count + size >= FOLD_AT:
            if len(current) > 1 and current[-1] in "\\^":
                carried = current.pop()
                pieces.append("".join(current))
                current, count = [carried], 1
            else:
                pieces.append("".join(current))
                current, count = [], 0
        current.append(char)
        count += size
    pieces.append("".join(current))
    return "\r\n ".join(pieces)


def _fold_ascii(line: str) -> str:
    """``fold`` for a line of one octet per character, by slices: 74 characters a
    physical line (the continuation's leading space makes 75), one fewer where the
    74th would leave a backslash or caret at the end of a line."""
    pieces = []
    start, size = 0, FOLD_AT - 1
    while len(line) - start > size:
        end = start + size
        if line[end - 1] in "\\^":
            end -= 1
        pieces.append(line[start:end])
        start = end
    pieces.append(line[start:])
    return "\r\n ".join(pieces)


def _utc_stamp(moment: datetime) -> str:
    return _basic_format(moment.astimezone(UTC)) + "Z"


def _basic_format(moment: datetime) -> str:
    """``moment.strftime("%Y%m%dT%H%M%S")``, three times faster. (strftime writes a
    year before 1000 with fewer digits; such a year goes through it, as before.)"""
    if moment.year < 1000:
        return moment.strftime("%Y%m%dT%H%M%S")
    return (
        f"{moment.year}{moment.month:02}{moment.day:02}"
        f"T{moment.hour:02}{moment.minute:02}{moment.second:02}"
    )


def _date_time(name: str, moment: datetime) -> str:
    """``DTSTART;TZID=Europe/Paris:20261201T183000``, or ``...Z`` in UTC."""
    zone = _zone_id(moment.tzinfo)
    if zone == "UTC":
        return f"{name}:{_utc_stamp(moment)}"
    return f"{name};TZID={zone}:{_basic_format(moment)}"


@lru_cache(maxsize=512)
def _zone_id(zone: tzinfo | None) -> str:
    # icalendar's name for the zone: "UTC" for every zone equivalent to it (Etc/UTC too).
    return tzid_from_tzinfo(zone) or "UTC"


def event_text(event: CalendarEvent, *, stamp: datetime, alarm: bool = False) -> str:
    """The VEVENT as CRLF-terminated, folded lines; ``alarm`` adds a display reminder
    ``ALARM_BEFORE`` the start. Properties in icalendar's canonical order."""
    return vevent_text(event, event_times(event), stamp=_utc_stamp(stamp), alarm=alarm)


def vevent_text(
    event: CalendarEvent, times: tuple[datetime, datetime], *, stamp: str, alarm: bool
) -> str:
    """``event_text`` with the times it is written in (``event_times``) and the
    DTSTAMP's text at hand: a file works both out once."""
    start, end = times
    lines = [
        "BEGIN:VEVENT",
        fold("SUMMARY:" + escape_text(event.title)),
        fold(_date_time("DTSTART", start)),
        fold(_date_time("DTEND", end)),
        "DTSTAMP:" + stamp,
        fold("UID:" + escape_text(event.uid)),
        f"SEQUENCE:{event.sequence}",
    ]
    if event.attendee:
        lines.append(fold(attendee_line(event.attendee)))
    lines.append(fold("DESCRIPTION:" + escape_text(event.description)))
    if event.geo is not None:
        lines.append(fold(f"GEO:{float(event.geo[0])};{float(event.geo[1])}"))
    if event.last_modified is not None:
        lines.append("LAST-MODIFIED:" + _utc_stamp(event.last_modified))
    lines.append(fold("LOCATION:" + escape_text(event.location)))
    if event.organizer:
        lines.append(folded_organizer_line(event.organizer))
    lines.append("STATUS:" + event.status)
    lines.append(fold("URL:" + event.url))
    if alarm:
        lines += [
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            fold("DESCRIPTION:" + escape_text(f"Reminder: {event.title}")),
            "TRIGGER:" + ALARM_TRIGGER,
            "END:VALARM",
        ]
    lines.append("END:VEVENT\r\n")
    return "\r\n".join(lines)


ALARM_TRIGGER = vDuration(-ALARM_BEFORE).to_ical().decode()


@lru_cache(maxsize=64)
def organizer_line(organizer: Organizer) -> str:
    """Cached: every event of a feed has the same organizer."""
    return _address_line("ORGANIZER", organizer_address(organizer))


@lru_cache(maxsize=64)
def folded_organizer_line(organizer: Organizer) -> str:
    return fold(organizer_line(organizer))


def attendee_line(attendee: Attendee) -> str:
    return _address_line("ATTENDEE", attendee_address(attendee))


def _address_line(name: str, address: vCalAddress) -> str:
    # icalendar quotes and escapes the CN parameter (RFC 6868) as readers expect.
    holder = Event()
    holder.add(name, address)
    [line] = [line for line in holder.content_lines() if line.startswith(name)]
    return str(line)


def local_times(
    starts_at: datetime, ends_at: datetime, timezone: str
) -> tuple[datetime, datetime] | None:
    """Start and end on the clock of ``timezone``, or None where no calendar can hold
    them: a VTIMEZONE spans whole years around them (``widen``), so they must
    fall after year 1 and before year 9999. (9999-12-31 23:00 UTC is year 10000 in
    Paris: no datetime at all.) No meeting can be booked there, but a stored row from
    before that rule, or edited by hand, must not break every calendar."""
    zone = ZoneInfo(timezone)  # cached by zoneinfo: cheap per event
    try:
        start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    except OverflowError:
        return None
    return (start, end) if MINYEAR < start.year and end.year < MAXYEAR else None


def event_local_times(event: CalendarEvent) -> tuple[datetime, datetime] | None:
    return local_times(event.starts_at, event.ends_at, event.timezone)


def event_times(event: CalendarEvent) -> tuple[datetime, datetime]:
    return event_local_times(event) or utc_times(event)


def utc_times(event: CalendarEvent) -> tuple[datetime, datetime]:
    # Where the place's clock can't be used, the times as given, in UTC (no VTIMEZONE
    # needed): plain to see in a calendar, and the file still parses.
    return (event.starts_at.astimezone(UTC), event.ends_at.astimezone(UTC))


def organizer_address(organizer: Organizer) -> vCalAddress:
    return vCalAddress.new(bare_address(organizer.email), cn=organizer.name)


@lru_cache(maxsize=16)
def bare_address(sender: str) -> str:
    """KIT_MAIL_FROM may be "Name <addr>"; a CAL-ADDRESS is only the address.
    Cached: a feed asks once per event, and parseaddr is slow."""
    return parseaddr(sender)[1] or sender


def attendee_address(attendee: Attendee) -> vCalAddress:
    # RSVP=FALSE: the RSVP already happened on the kit's pages; a calendar
    # client's "Accept/Decline" reply would only land in the kit's mailbox.
    return vCalAddress.new(
        attendee.email,
        cn=attendee.name,
        cutype=CUTYPE.INDIVIDUAL,
        role=ROLE.REQ_PARTICIPANT,
        partstat=attendee.partstat,
        rsvp=False,
    )


# ---------------------------------------------------------------------------
# Time zones


def widen(
    windows: dict[str, tuple[date, date]], zone: str, times: tuple[datetime, datetime]
) -> None:
    """Per zone, the whole local years spanning its events (``times`` one more): small
    (about 0.5 kB a year) and holding both DST transitions, which some clients like
    to see."""
    first, last = date(times[0].year, 1, 1), date(times[1].year + 1, 1, 1)
    if zone in windows:
        known_first, known_last = windows[zone]
        first, last = min(first, known_first), max(last, known_last)
    windows[zone] = (first, last)


def vtimezones_text(windows: dict[str, tuple[date, date]]) -> bytes:
    # Found from the events themselves: Calendar.add_missing_timezones would walk every
    # property of every event to find the TZIDs in use.
    return b"".join(
        vtimezone_text(tzid, first, last)
        for tzid, (first, last) in sorted(windows.items())
        if tzid != "UTC"  # UTC is written as ...Z and needs no VTIMEZONE
    )


@lru_cache(maxsize=256)
def vtimezone_text(tzid: str, first: date, last: date) -> bytes:
    """One VTIMEZONE, as the calendar holding it would write it. Cached: icalendar takes
    a millisecond or more to build one (a small feed's whole render, before), and every
    feed and invite of a zone in the same years has the same."""
    zone = Timezone.from_tzid(tzid, first_date=first, last_date=last)
    return serialize(one_onset_per_observance(zone))


def one_onset_per_observance(timezone: Timezone) -> Timezone:
    """Give every transition its own STANDARD/DAYLIGHT block, without RDATE.

    Over more than a year icalendar folds the repeats (each March, each
    November) into one block as ``DTSTART`` + ``RDATE:a,b``. Mozilla's ical.js
    (Thunderbird) skips DTSTART when RDATE is present and reads only the first
    RDATE value (old libical skipped DTSTART too), which put New York summer
    meetings an hour off in the years it missed. One onset per block means the
    same thing (RFC 5545 3.6.5) and every reader gets it right.
    """
    blocks: list[TimezoneStandard | TimezoneDaylight] = []
    for observance in timezone.subcomponents:
        for onset in [observance.DTSTART, *rdates(observance)]:
            block = type(observance)()
            for name, value in observance.items():
                if name not in {"DTSTART", "RDATE"}:
                    block[name] = value
            block.add("DTSTART", onset)
            blocks.append(block)
    timezone.subcomponents = sorted(blocks, key=lambda block: block.DTSTART)
    return timezone


def rdates(observance: Component) -> list[datetime]:
    value = observance.get("RDATE", [])
    lists = value if isinstance(value, list) else [value]
    return [item.dt for dates in lists for item in dates.dts]


# ---------------------------------------------------------------------------
# Whole files


def new_calendar(method: str | None) -> Calendar:
    # Calendar() rather than Calendar.new(): .new() adds a random calendar UID
    # to every render, which a feed must not change between fetches.
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    if method:
        calendar.add("METHOD", method)
    return calendar


def streamed_file(
    calendar: Calendar, events: Iterable[CalendarEvent], *, stamp: datetime, alarm: bool = False
) -> bytes:
    """The calendar's head, its VTIMEZONEs (before the events that use them, as most
    producers write them), then each event written as text (``event_text``). One pass
    over the events finds both the years each zone must span and their times."""
    windows: dict[str, tuple[date, date]] = {}
    vevents = []
    stamp_text = _utc_stamp(stamp)
    for event in events:
        local = event_local_times(event)
        if local is not None:  # else written in UTC (utc_times): no VTIMEZONE for it
            widen(windows, event.timezone, local)
        times = local or utc_times(event)
        vevents.append(vevent_text(event, times, stamp=stamp_text, alarm=alarm))
    return _with_events(calendar, vtimezones_text(windows) + "".join(vevents).encode())


def _with_events(calendar: Calendar, body: bytes) -> bytes:
    head = serialize(calendar)
    if not head.endswith(_END_VCALENDAR):
        raise IncompleteComponent("a calendar must end with END:VCALENDAR")
    return head.removesuffix(_END_VCALENDAR) + body + _END_VCALENDAR


def serialize(component: Component) -> bytes:
    """``component.to_ical()``, byte for byte, a fifth faster.

    icalendar folds every content line character by character, even the ~90 %
    that are already shorter than 75 octets; those need no folding at all.
    Lines are CRLF-terminated and folded at 75 octets (RFC 5545 3.1).
    """
    return b"\r\n".join(_folded(line) for line in component.content_lines() if line) + b"\r\n"


def _folded(line: Contentline) -> bytes:
    encoded = line.encode("utf-8")
    # icalendar folds once a line reaches 75 octets; anything shorter is left as is.
    return encoded if len(encoded) < 75 else line.to_ical()


def render_invite(
    event: CalendarEvent, *, method: InviteMethod, now: datetime | None = None
) -> bytes:
    """An iTIP invite for one attendee, to attach as ``text/calendar; method=<method>``.

    A REQUEST carries a reminder; a CANCEL (same ``uid``, the next ``sequence``,
    status CANCELLED) has nothing left to remind anyone of.
    """
    stamp = now or datetime.now(UTC)
    return streamed_file(new_calendar(method), [event], stamp=stamp, alarm=method == "REQUEST")


def render_public_ics(event: CalendarEvent, *, now: datetime | None = None) -> bytes:
    """An "add to calendar" file anyone may download: no attendee is expected, no alarm."""
    return streamed_file(new_calendar("PUBLISH"), [event], stamp=now or datetime.now(UTC))


def render_feed(
    events: Sequence[CalendarEvent], *, name: str, now: datetime | None = None
) -> bytes:
    """A subscribable calendar named ``name``: one VEVENT per event, in the order given."""
    stamp = now or datetime.now(UTC)
    calendar = new_calendar("PUBLISH")
    # NAME is TEXT (RFC 7986), but icalendar 7.3 and ical.js don't know it and
    # read it (and X-WR-CALNAME) raw, so "Lyon, FR" came back as "Lyon\, FR";
    # an explicit VALUE=TEXT makes both unescape it. (``calendar.calendar_name =``
    # doesn't even escape it: a newline in the name broke the file.)
    for prop in ("NAME", "X-WR-CALNAME"):  # X-WR-CALNAME: what Apple and Google read
        calendar.add(prop, name, parameters={"VALUE": "TEXT"})
    calendar.add("REFRESH-INTERVAL", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(FEED_REFRESH))
    return streamed_file(calendar, events, stamp=stamp)
