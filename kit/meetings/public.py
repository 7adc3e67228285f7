"""What the world may know about a meeting: the one place that decides.

Every public page, API answer, map feature and feed builds on ``public_meeting``.
A home's street, directions and exact point never appear here, nor the host's
email, phone or last name. Public places (a library, a café) show their address.

And which meetings the world may know of, in two rules, each spelled once for
Python and for the database alike:

- visible: its page may be shown to anyone with the link (published, cancelled or
  completed; not a draft, a meeting awaiting its host or a coordinator, a hidden
  or a declined one). ``VISIBLE_STATUSES``.
- listed: anyone may find it in a search, a list, a count or a feed of what is
  coming: published, public (not unlisted) and not yet started. ``is_listed`` and
  its twins ``listed_q`` (the ORM) and ``listed_sql`` (raw SQL).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from kit.core import urls
from kit.core.rendering import wall_clock
from kit.store.models import Meeting, MeetingStatus, VenueKind, Visibility
from kit.store.sql import SqlParams

VISIBLE_STATUSES = frozenset(
    {MeetingStatus.PUBLISHED, MeetingStatus.CANCELLED, MeetingStatus.COMPLETED}
)


def is_visible(meeting: Meeting) -> bool:
    """Its page may be shown to anyone who has the link."""
    return meeting.status in VISIBLE_STATUSES


def is_listed(meeting: Meeting, now: datetime) -> bool:
    """Anyone may find it: published, public and not yet started."""
    return (
        meeting.status is MeetingStatus.PUBLISHED
        and meeting.visibility is Visibility.PUBLIC
        and meeting.starts_at > now
    )


def listed_q(now: datetime) -> Q:
    """``is_listed`` as a Tortoise filter."""
    return Q(status=MeetingStatus.PUBLISHED, visibility=Visibility.PUBLIC, starts_at__gt=now)


def listed_sql(p: SqlParams, now: datetime, column: Callable[[str], str] = str) -> list[str]:
    """``is_listed`` as raw SQL conditions on the meeting table (joined with AND).

    ``column`` wraps each column name (``p.filter_only`` keeps SQLite off an index).
    """
    return [
        f"{column('status')} = '{MeetingStatus.PUBLISHED.value}'",
        f"{column('visibility')} = '{Visibility.PUBLIC.value}'",
        f"{column('starts_at')} > {p.time(now)}",
    ]


def public_location(meeting: Meeting) -> dict[str, Any]:
    # Always the stored public point, the one search distances are measured to: a
    # public venue's is its exact point, a home's its pin (kit.maps.privacy.public_point).
    if meeting.kind is VenueKind.PUBLIC:
        return {
            "lat": meeting.approx_lat,
            "lon": meeting.approx_lon,
            "approximate": False,
            "venue": meeting.venue_name,
            "street": meeting.street,
            "locality": meeting.locality,
            "region": meeting.region,
            "postal_code": meeting.postal_code,
            "country": meeting.country,
        }
    return {
        "lat": meeting.approx_lat,
        "lon": meeting.approx_lon,
        "approximate": True,
        "locality": meeting.locality,
        "region": meeting.region,
        "postal_code": meeting.postal_code,
        "country": meeting.country,
    }


def public_meeting(meeting: Meeting, base_url: str, *, detail: bool = False) -> dict[str, Any]:
    campaign = meeting.campaign if meeting.campaign_id else None  # type: ignore[attr-defined]
    data: dict[str, Any] = {
        "id": meeting.public_id,
        "title": meeting.title,
        "starts_at": wall_clock(meeting.starts_at, meeting.timezone).isoformat(),
        "ends_at": wall_clock(meeting.ends_at, meeting.timezone).isoformat(),
        "timezone": meeting.timezone,
        "status": str(meeting.status),
        "kind": str(meeting.kind),
        "location": public_location(meeting),
        "capacity": meeting.capacity,
        "seats_left": meeting.seats_left,
        "campaign": campaign.slug if campaign else None,
        "url": urls.meeting(base_url, meeting.public_id),
    }
    if detail:
        data["description"] = meeting.description
        data["host_first_name"] = meeting.host.first_name
        data["host_note"] = meeting.host_note
        data["rsvp_goal"] = meeting.rsvp_goal
    return data


def public_event_ld(public: dict[str, Any]) -> dict[str, Any]:
    """schema.org Event for search engines and link previews, from the public fields only."""
    location = public["location"]
    status = {"cancelled": "EventCancelled"}.get(public["status"], "EventScheduled")
    return {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": public["title"],
        "description": public.get("description", ""),
        "startDate": public["starts_at"],
        "endDate": public["ends_at"],
        "eventStatus": f"https://schema.org/{status}",
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "url": public["url"],
        "location": {
            "@type": "Place",
            "name": location.get("venue") or location["locality"],
            "address": {
                "@type": "PostalAddress",
                **({"streetAddress": location["street"]} if location.get("street") else {}),
                "addressLocality": location["locality"],
                "postalCode": location["postal_code"],
                "addressCountry": location["country"],
            },
        },
        "organizer": {"@type": "Person", "name": public.get("host_first_name", "")},
        "maximumAttendeeCapacity": public["capacity"],
        "remainingAttendeeCapacity": public["seats_left"],
    }
