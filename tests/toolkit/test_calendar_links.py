"""kit.toolkit.calendar_links and the meeting's "Add to Google Calendar" / "Outlook.com"
links: each URL is parsed back, and a home's street stays out of the public ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from kit.meetings.calendar_events import calendar_links
from kit.toolkit.calendar_links import (
    CalendarLinkEvent,
    google_calendar_url,
    outlook_calendar_url,
)
from tests.meetings.test_calendar_events import (  # noqa: F401 (models_ready is an autouse fixture)
    BASE_URL,
    DIRECTIONS,
    STREET,
    library_meeting,
    lyon_meeting,
    models_ready,
)

# A title and place full of characters that would cut a link short unencoded.
EVENT = CalendarLinkEvent(
    title="Schools & taxes: #1 (50% off?)",
    starts_at=datetime(2026, 12, 1, 18, 30, tzinfo=timezone(timedelta(hours=1))),
    ends_at=datetime(2026, 12, 1, 20, 30, tzinfo=timezone(timedelta(hours=1))),
    details="Line one\nLine two https://kit.example/meetings/abc?x=1&y=2",
    location="Near Lyon 69002, FR",
)


def query(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    fields = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in fields.values()), fields
    return f"{parts.scheme}://{parts.netloc}{parts.path}", {k: v[0] for k, v in fields.items()}


def test_google_calendar_link_reads_back_in_utc() -> None:
    base, fields = query(google_calendar_url(EVENT))
    assert base == "https://calendar.google.com/calendar/render"
    assert fields == {
        "action": "TEMPLATE",
        "text": EVENT.title,
        "dates": "20261201T173000Z/20261201T193000Z",
        "details": EVENT.details,
        "location": EVENT.location,
    }


def test_outlook_link_reads_back_in_utc() -> None:
    base, fields = query(outlook_calendar_url(EVENT))
    assert base == "https://outlook.live.com/calendar/0/deeplink/compose"
    assert fields == {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": EVENT.title,
        "startdt": "2026-12-01T17:30:00Z",
        "enddt": "2026-12-01T19:30:00Z",
        "body": EVENT.details,
        "location": EVENT.location,
    }


def test_a_homes_public_links_say_near_the_town_only() -> None:
    meeting = lyon_meeting()
    links = calendar_links(meeting, base_url=BASE_URL, exact=False)
    for url in links.values():
        _, fields = query(url)
        readable = " ".join(fields.values())
        assert STREET not in readable and DIRECTIONS not in readable
        assert "Near Lyon 69002, FR" in readable
        assert f"{BASE_URL}/meetings/{meeting.public_id}" in readable
    _, google = query(links["google"])
    assert google["dates"] == "20261201T173000Z/20261201T193000Z"
    assert google["text"] == "Neighbours talk schools"


def test_a_confirmed_guests_links_carry_the_exact_address() -> None:
    links = calendar_links(lyon_meeting(), base_url=BASE_URL, exact=True)
    _, outlook = query(links["outlook"])
    assert outlook["location"] == f"{STREET}, Lyon 69002, FR — {DIRECTIONS}"
    assert outlook["startdt"] == datetime(2026, 12, 1, 17, 30, tzinfo=UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_a_public_place_shows_its_address_in_public_links() -> None:
    links = calendar_links(library_meeting(), base_url=BASE_URL, exact=False)
    _, google = query(links["google"])
    assert google["location"] == "30 boulevard Vivier-Merle, Lyon 69003, FR"
