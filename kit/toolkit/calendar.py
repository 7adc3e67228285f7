"""Meetings as iCalendar: email invites (iTIP REQUEST / CANCEL), the public .ics, feeds.

Pure functions: domain objects in, ``icalendar`` components or bytes out; no
database, no Request. The caller loads ``meeting.host`` (select_related) and
decides who may see the exact place: ``exact=True`` only for the host and
confirmed guests. Everything else goes through ``kit.public.public_location``,
the one place that decides what the world may know about a meeting.

Times are written in the meeting's own zone (``DTSTART;TZID=Europe/Paris``)
with a VTIMEZONE, so a guest's calendar shows the local wall time even when
daylight-saving rules change; a UTC or floating time would lose the zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, timedelta
from email.utils import parseaddr
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import (
    CUTYPE,
    PARTSTAT,
    ROLE,
    STATUS,
    Alarm,
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

from kit.models import Meeting, MeetingStatus, Person, RsvpStatus
from kit.public import public_location
from kit.toolkit.calendar_links import (
    CalendarLinkEvent,
    google_calendar_url,
    outlook_calendar_url,
)

PRODID = "-//House Meeting Kit//kit//EN"
KIT_NAME = "House Meeting Kit"
ALARM_BEFORE = timedelta(hours=2)
# How often subscribers should re-fetch a feed (RFC 7986 and the Apple/Google
# X-PUBLISHED-TTL spelling); feeds are cached for about as long.
FEED_REFRESH = timedelta(hours=1)
_END_VCALENDAR = b"END:VCALENDAR\r\n"

InviteMethod = Literal["REQUEST", "CANCEL"]

_PARTSTAT = {
    RsvpStatus.CONFIRMED: PARTSTAT.ACCEPTED,
    RsvpStatus.WAITLISTED: PARTSTAT.TENTATIVE,
    RsvpStatus.CANCELLED: PARTSTAT.DECLINED,
}


# ---------------------------------------------------------------------------
# One event


def meeting_uid(meeting: Meeting, domain: str) -> str:
    """Stable across renders and edits, so an update or CANCEL replaces the first invite."""
    return f"meeting-{meeting.public_id}@{domain}"


def base_domain(base_url: str) -> str:
    return urlsplit(base_url).hostname or "localhost"


def meeting_page_url(base_url: str, meeting: Meeting) -> str:
    # Same shape as kit.meetings.meeting_url (a test checks they agree). Not
    # imported: kit.meetings imports the mail toolkit, which imports this module.
    return f"{base_url}/meetings/{meeting.public_id}"


def meeting_to_event(
    meeting: Meeting,
    *,
    base_url: str,
    exact: bool,
    sequence: int,
    organizer_email: str | None = None,
    attendee: Person | None = None,
    attendee_status: RsvpStatus | None = None,
    cancelled: bool = False,
    alarm: bool = False,
    stamp: datetime | None = None,
    manage_url: str | None = None,
) -> Event:
    """The VEVENT for one meeting, as one reader may see it.

    ``exact`` reveals the street, directions and exact point: pass True only
    for the host and confirmed guests. ``organizer_email`` must be an address
    the kit controls (iTIP sends replies and cancellations to the organizer);
    the host appears only by first name, in its CN. ``manage_url`` is the attendee's
    own private link (change or cancel): only for that one person's invite.
    """
    start, end = event_times(meeting)
    url = meeting_page_url(base_url, meeting)
    # Event() + add() rather than Event.new(): .new() runs every property setter
    # and a start/end check per event (0.1 s of a 5,000-event feed), and
    # kit.meetings already guarantees that a meeting ends after it starts.
    event = Event()
    event.add("UID", meeting_uid(meeting, base_domain(base_url)))
    event.add("DTSTAMP", stamp or datetime.now(UTC))
    event.add("DTSTART", start)
    event.add("DTEND", end)
    event.add("SUMMARY", meeting.title)
    event.add("DESCRIPTION", event_description(meeting, url, manage_url=manage_url))
    event.add("LOCATION", event_location(meeting, exact=exact))
    event.add("GEO", event_geo(meeting, exact=exact))
    event.add("URL", url)
    event.add("STATUS", event_status(meeting, cancelled=cancelled))
    event.add("SEQUENCE", sequence)
    if meeting.updated_at is not None:  # None only for an unsaved meeting
        event.add("LAST-MODIFIED", meeting.updated_at.astimezone(UTC))
    if organizer_email:
        event.add("ORGANIZER", organizer(meeting, organizer_email))
    if attendee:
        event.add("ATTENDEE", attendee_address(attendee, attendee_status))
    if alarm:
        event.add_component(reminder(meeting))
    return event


def local_times(meeting: Meeting) -> tuple[datetime, datetime] | None:
    """Start and end on the clock of the meeting's place, or None where no calendar
    can hold them: a VTIMEZONE spans whole years around them (``zone_windows``), so
    they must fall after year 1 and before year 9999. (9999-12-31 23:00 UTC is year
    10000 in Paris: no datetime at all.) No meeting can be booked there, but a stored
    row from before that rule, or edited by hand, must not break every calendar."""
    zone = ZoneInfo(meeting.timezone)  # cached by zoneinfo: cheap per meeting
    try:
        start, end = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
    except OverflowError:
        return None
    return (start, end) if MINYEAR < start.year and end.year < MAXYEAR else None


def event_times(meeting: Meeting) -> tuple[datetime, datetime]:
    # Where the place's clock can't be used, the times as stored, in UTC (no VTIMEZONE
    # needed): plain to see in a calendar, and the file still parses.
    return local_times(meeting) or (
        meeting.starts_at.astimezone(UTC),
        meeting.ends_at.astimezone(UTC),
    )


def event_status(meeting: Meeting, *, cancelled: bool = False) -> STATUS:
    if cancelled or meeting.status is MeetingStatus.CANCELLED:
        return STATUS.CANCELLED
    return STATUS.CONFIRMED


def event_description(meeting: Meeting, url: str, *, manage_url: str | None = None) -> str:
    parts = [meeting.description.strip()]
    if meeting.host_note.strip():
        parts.append(f"From the host: {meeting.host_note.strip()}")
    parts.append(url)
    if manage_url:
        # In the guest's calendar, where they look on the day: change or cancel from there.
        parts.append(f"Change or cancel your RSVP: {manage_url}")
    return "\n\n".join(part for part in parts if part)


def postal_address(street: str, locality: str, postal_code: str, country: str) -> str:
    """ "417 Elm St, New York 10027, US" — empty parts leave no stray commas or spaces."""
    town = " ".join(part for part in (locality, postal_code) if part)
    return ", ".join(part for part in (street, town, country) if part)


def event_location(meeting: Meeting, *, exact: bool) -> str:
    if exact:
        address = postal_address(
            meeting.street, meeting.locality, meeting.postal_code, meeting.country
        )
        return f"{address} — {meeting.directions}" if meeting.directions else address
    place = public_location(meeting)
    address = postal_address(
        place.get("street", ""), place["locality"], place["postal_code"], place["country"]
    )
    if place["approximate"]:
        return f"Near {address} — exact address sent to confirmed guests"
    return address


def event_geo(meeting: Meeting, *, exact: bool) -> tuple[float, float]:
    if exact:
        return (meeting.lat, meeting.lon)
    place = public_location(meeting)
    return (place["lat"], place["lon"])


def organizer(meeting: Meeting, organizer_email: str) -> vCalAddress:
    # The kit's own address with the host's first name: guests see who hosts,
    # but never the host's email, phone or last name.
    cn = f"{meeting.host.first_name} via {KIT_NAME}"
    return vCalAddress.new(bare_address(organizer_email), cn=cn)


@lru_cache(maxsize=16)
def bare_address(sender: str) -> str:
    """KIT_MAIL_FROM may be "Name <addr>"; a CAL-ADDRESS is only the address.
    Cached: a feed asks once per event, and parseaddr is slow."""
    return parseaddr(sender)[1] or sender


def attendee_address(person: Person, status: RsvpStatus | None) -> vCalAddress:
    # RSVP=FALSE: the RSVP already happened on the kit's pages; a calendar
    # client's "Accept/Decline" reply would only land in the kit's mailbox.
    return vCalAddress.new(
        person.email,
        cn=person.name,
        cutype=CUTYPE.INDIVIDUAL,
        role=ROLE.REQ_PARTICIPANT,
        partstat=_PARTSTAT[status] if status else PARTSTAT.NEEDS_ACTION,
        rsvp=False,
    )


def reminder(meeting: Meeting) -> Alarm:
    return Alarm.new_display(description=f"Reminder: {meeting.title}", trigger=-ALARM_BEFORE)


# ---------------------------------------------------------------------------
# Web calendars (Google, Outlook.com)


def calendar_link_event(meeting: Meeting, *, base_url: str, exact: bool) -> CalendarLinkEvent:
    """The meeting as a web calendar link may carry it: the same words and place as
    the .ics for this reader (``exact`` only for a confirmed guest who was sent the
    address), and never a private link: the URL is handed to Google or Microsoft."""
    return CalendarLinkEvent(
        title=meeting.title,
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        details=event_description(meeting, meeting_page_url(base_url, meeting)),
        location=event_location(meeting, exact=exact),
    )


def calendar_links(meeting: Meeting, *, base_url: str, exact: bool) -> dict[str, str]:
    """``{"google": url, "outlook": url}`` for a page's "Add to calendar" links."""
    event = calendar_link_event(meeting, base_url=base_url, exact=exact)
    return {"google": google_calendar_url(event), "outlook": outlook_calendar_url(event)}


# ---------------------------------------------------------------------------
# Time zones


def zone_windows(meetings: Iterable[Meeting]) -> dict[str, tuple[date, date]]:
    """Per zone, the whole local years spanning its meetings: small (about 0.5 kB
    a year) and holding both DST transitions, which some clients like to see."""
    windows: dict[str, tuple[date, date]] = {}
    for meeting in meetings:
        times = local_times(meeting)
        if times is None:  # written in UTC (event_times): no VTIMEZONE for it
            continue
        first, last = date(times[0].year, 1, 1), date(times[1].year + 1, 1, 1)
        if meeting.timezone in windows:
            known_first, known_last = windows[meeting.timezone]
            first, last = min(first, known_first), max(last, known_last)
        windows[meeting.timezone] = (first, last)
    return windows


def vtimezones(windows: dict[str, tuple[date, date]]) -> list[Timezone]:
    # Built once per zone from the meetings themselves: Calendar.add_missing_timezones
    # would walk every property of every event to find the TZIDs in use.
    return [
        one_onset_per_observance(Timezone.from_tzid(tzid, first_date=first, last_date=last))
        for tzid, (first, last) in sorted(windows.items())
        if tzid != "UTC"  # UTC is written as ...Z and needs no VTIMEZONE
    ]


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


def single_event_file(calendar: Calendar, meeting: Meeting, event: Event) -> bytes:
    # VTIMEZONEs before the events that use them, as most producers write them.
    calendar.subcomponents.extend(vtimezones(zone_windows([meeting])))
    calendar.add_component(event)
    calendar.validate()  # PRODID, VERSION and a component
    if missing := calendar.get_missing_tzids():
        raise IncompleteComponent(f"no VTIMEZONE for {sorted(missing)}")
    return serialize(calendar)


def streamed_file(
    calendar: Calendar, meetings: Sequence[Meeting], events: Iterable[Event]
) -> bytes:
    """The calendar's head and VTIMEZONEs, then each event serialized as soon as it is built.

    Holding thousands of event objects at once kept the garbage collector busy
    for a quarter of a big feed's render time; bytes cost it nothing. No
    per-event validation either: the tests parse feeds back with two parsers.
    """
    calendar.subcomponents.extend(vtimezones(zone_windows(meetings)))
    head = serialize(calendar)
    if not head.endswith(_END_VCALENDAR):
        raise IncompleteComponent("a calendar must end with END:VCALENDAR")
    body = b"".join(serialize(event) for event in events)
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
    meeting: Meeting,
    *,
    base_url: str,
    organizer_email: str,
    attendee: Person,
    sequence: int,
    method: InviteMethod,
    attendee_status: RsvpStatus = RsvpStatus.CONFIRMED,
    now: datetime | None = None,
    exact: bool = True,
    manage_url: str | None = None,
) -> bytes:
    """An iTIP invite for one person, to attach as ``text/calendar; method=<method>``.

    REQUEST to a confirmed guest (or the host) carries the exact place (unless the
    caller says ``exact=False``) and a reminder. CANCEL keeps the UID, takes the next
    ``sequence`` and only the public location: a cancellation has no reason to repeat a
    home address. ``manage_url`` (the attendee's private RSVP link) goes into a REQUEST's
    description; a CANCEL has nothing left to change.
    """
    requesting = method == "REQUEST"
    event = meeting_to_event(
        meeting,
        base_url=base_url,
        exact=exact and requesting and attendee_status is RsvpStatus.CONFIRMED,
        sequence=sequence,
        organizer_email=organizer_email,
        attendee=attendee,
        attendee_status=attendee_status,
        cancelled=not requesting,
        alarm=requesting,
        stamp=now,
        manage_url=manage_url if requesting else None,
    )
    return single_event_file(new_calendar(method), meeting, event)


def render_public_ics(
    meeting: Meeting,
    *,
    base_url: str,
    organizer_email: str | None = None,
    now: datetime | None = None,
) -> bytes:
    """The "add to calendar" file anyone may download: public location, no attendee, no alarm."""
    event = meeting_to_event(
        meeting,
        base_url=base_url,
        exact=False,
        sequence=0,
        organizer_email=organizer_email,
        stamp=now,
    )
    return single_event_file(new_calendar("PUBLISH"), meeting, event)


def render_feed(
    meetings: Sequence[Meeting],
    *,
    base_url: str,
    name: str,
    exact_for: frozenset[int] | set[int] = frozenset(),
    organizer_email: str | None = None,
    now: datetime | None = None,
) -> bytes:
    """A subscribable calendar: one VEVENT per meeting, cancelled ones marked CANCELLED.

    ``exact_for`` holds the ids of meetings whose exact place this reader may
    see (their own confirmed RSVPs, or meetings they host).
    """
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
    events = (
        meeting_to_event(
            meeting,
            base_url=base_url,
            exact=meeting.id in exact_for,
            sequence=0,
            organizer_email=organizer_email,
            stamp=stamp,
        )
        for meeting in meetings
    )
    return streamed_file(calendar, meetings, events)
