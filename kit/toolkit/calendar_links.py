"""Links that open a meeting in a web calendar: Google Calendar and Outlook.com.

A leaf: a plain ``CalendarLinkEvent`` in, URLs out, nothing of the kit imported.
The caller decides what the event may say (kit.meetings.calendar_events.calendar_link_event
holds the privacy rule); every value is URL-encoded here, so a title with ``&`` or
``#`` can't cut a link short.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

GOOGLE = "https://calendar.google.com/calendar/render"
OUTLOOK = "https://outlook.live.com/calendar/0/deeplink/compose"


@dataclass(frozen=True)
class CalendarLinkEvent:
    title: str
    starts_at: datetime  # aware
    ends_at: datetime  # aware
    details: str
    location: str


def google_calendar_url(event: CalendarLinkEvent) -> str:
    # Google reads UTC times as ...Z and shows them on the viewer's own clock.
    dates = f"{google_time(event.starts_at)}/{google_time(event.ends_at)}"
    query = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": dates,
        "details": event.details,
        "location": event.location,
    }
    return f"{GOOGLE}?{urlencode(query)}"


def outlook_calendar_url(event: CalendarLinkEvent) -> str:
    query = {
        # path and rru make Outlook.com open the "new event" form, not the inbox.
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": event.title,
        "startdt": outlook_time(event.starts_at),
        "enddt": outlook_time(event.ends_at),
        "body": event.details,
        "location": event.location,
    }
    return f"{OUTLOOK}?{urlencode(query)}"


def google_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def outlook_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
