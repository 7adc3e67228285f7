"""Meetings as calendar events: what one reader's invite, .ics or feed may say.

``kit.toolkit.calendar`` writes the bytes and knows nothing of meetings; this
module decides the words. The caller loads ``meeting.host`` (select_related) and
says who may see the exact place: ``exact=True`` only for the host and confirmed
guests. Everything else goes through ``kit.meetings.public.public_location``, the one
place that decides what the world may know about a meeting. The host appears
only by first name; a guest's private RSVP link only in that guest's invite.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from kit.core import urls
from kit.meetings.public import public_location
from kit.store.models import Meeting, MeetingStatus, Person, RsvpStatus
from kit.toolkit import calendar
from kit.toolkit.calendar import (
    Attendee,
    CalendarEvent,
    EventStatus,
    InviteMethod,
    Organizer,
    Partstat,
)
from kit.toolkit.calendar_links import (
    CalendarLinkEvent,
    google_calendar_url,
    outlook_calendar_url,
)

KIT_NAME = "House Meeting Kit"

_PARTSTAT: dict[RsvpStatus, Partstat] = {
    RsvpStatus.CONFIRMED: "ACCEPTED",
    RsvpStatus.WAITLISTED: "TENTATIVE",
    RsvpStatus.CANCELLED: "DECLINED",
}


# ---------------------------------------------------------------------------
# Meeting -> CalendarEvent


def meeting_uid(meeting: Meeting, domain: str) -> str:
    """Stable across renders and edits, so an update or CANCEL replaces the first invite."""
    return f"meeting-{meeting.public_id}@{domain}"


def base_domain(base_url: str) -> str:
    return urlsplit(base_url).hostname or "localhost"


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
    manage_url: str | None = None,
) -> CalendarEvent:
    """The event for one meeting, as one reader may see it.

    ``exact`` reveals the street, directions and exact point: pass True only
    for the host and confirmed guests. ``organizer_email`` must be an address
    the kit controls (iTIP sends replies and cancellations to the organizer);
    the host appears only by first name, in its CN. ``manage_url`` is the attendee's
    own private link (change or cancel): only for that one person's invite.
    """
    url = urls.meeting(base_url, meeting.public_id)
    return CalendarEvent(
        uid=meeting_uid(meeting, base_domain(base_url)),
        sequence=sequence,
        title=meeting.title,
        description=event_description(meeting, url, manage_url=manage_url),
        starts_at=meeting.starts_at,
        ends_at=meeting.ends_at,
        timezone=meeting.timezone,
        location=event_location(meeting, exact=exact),
        url=url,
        status=event_status(meeting, cancelled=cancelled),
        geo=event_geo(meeting, exact=exact),
        organizer=organizer(meeting, organizer_email) if organizer_email else None,
        attendee=attendee_of(attendee, attendee_status) if attendee else None,
        last_modified=meeting.updated_at,  # None only for an unsaved meeting
    )


def meeting_local_times(meeting: Meeting) -> tuple[datetime, datetime] | None:
    """The meeting on its place's clock, or None where no calendar can hold it."""
    return calendar.local_times(meeting.starts_at, meeting.ends_at, meeting.timezone)


def event_status(meeting: Meeting, *, cancelled: bool = False) -> EventStatus:
    if cancelled or meeting.status is MeetingStatus.CANCELLED:
        return "CANCELLED"
    return "CONFIRMED"


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


def organizer(meeting: Meeting, organizer_email: str) -> Organizer:
    # The kit's own address with the host's first name: guests see who hosts,
    # but never the host's email, phone or last name.
    return Organizer(name=f"{meeting.host.first_name} via {KIT_NAME}", email=organizer_email)


def attendee_of(person: Person, status: RsvpStatus | None) -> Attendee:
    partstat: Partstat = _PARTSTAT[status] if status else "NEEDS-ACTION"
    return Attendee(name=person.name, email=person.email, partstat=partstat)


# ---------------------------------------------------------------------------
# Whole files


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
        manage_url=manage_url if requesting else None,
    )
    return invite_file(event, method=method, now=now)


def invite_file(
    event: calendar.CalendarEvent, *, method: InviteMethod, now: datetime | None = None
) -> bytes:
    """``calendar.render_invite(event, method=method, now=now)``, byte for byte (a test
    holds them equal), with the calendar's head and VTIMEZONE serialized once per method
    and zone window instead of for every invite: building and writing the VTIMEZONE was
    about three quarters of an RSVP confirmation's invite."""
    vevent = calendar.event_text(event, stamp=now or datetime.now(UTC), alarm=method == "REQUEST")
    windows = tuple(sorted(calendar.zone_windows([event]).items()))
    return _invite_head(method, windows) + vevent.encode() + END_VCALENDAR


END_VCALENDAR = b"END:VCALENDAR\r\n"


@functools.lru_cache(maxsize=1024)
def _invite_head(method: InviteMethod, windows: tuple[tuple[str, tuple[date, date]], ...]) -> bytes:
    head = calendar.new_calendar(method)
    head.subcomponents.extend(calendar.vtimezones(dict(windows)))
    text = calendar.serialize(head)
    if not text.endswith(END_VCALENDAR):
        raise ValueError("a calendar must end with END:VCALENDAR")
    return text.removesuffix(END_VCALENDAR)


def render_public_ics(
    meeting: Meeting,
    *,
    base_url: str,
    organizer_email: str | None = None,
    now: datetime | None = None,
) -> bytes:
    """The "add to calendar" file anyone may download: public location, no attendee, no alarm."""
    event = meeting_to_event(
        meeting, base_url=base_url, exact=False, sequence=0, organizer_email=organizer_email
    )
    return calendar.render_public_ics(event, now=now)


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
    events = [
        meeting_to_event(
            meeting,
            base_url=base_url,
            exact=meeting.id in exact_for,
            sequence=0,
            organizer_email=organizer_email,
        )
        for meeting in meetings
    ]
    return calendar.render_feed(events, name=name, now=now)


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
        details=event_description(meeting, urls.meeting(base_url, meeting.public_id)),
        location=event_location(meeting, exact=exact),
    )


def calendar_links(meeting: Meeting, *, base_url: str, exact: bool) -> dict[str, str]:
    """``{"google": url, "outlook": url}`` for a page's "Add to calendar" links."""
    event = calendar_link_event(meeting, base_url=base_url, exact=exact)
    return {"google": google_calendar_url(event), "outlook": outlook_calendar_url(event)}
