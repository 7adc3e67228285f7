"""Build whole, valid objects the way users create them, with times relative to now."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from kit.maps.geocoding import make_geocoder
from kit.meetings import CreatedMeeting, create_meeting, parse_meeting_input
from kit.models import Campaign

GEOCODER = make_geocoder("offline", "house-meeting-kit-tests/1.0")
SECRET = "test-secret-key-not-for-production"


def local(days: int = 7, hour: int = 18) -> str:
    """A wall-clock time `days` from now, as a host types it."""
    day = datetime.now(UTC) + timedelta(days=days)
    return f"{day:%Y-%m-%d}T{hour:02d}:30"


def meeting_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Neighbors talk schools",
        "description": "A living-room conversation.",
        "starts_at": local(7, 18),
        "ends_at": local(7, 20),
        "address": {
            "street": "417 Elm St",
            "locality": "New York",
            "postal_code": "10027",
            "country": "US",
            "directions": "ring the blue door",
        },
        "kind": "home",
        "capacity": 12,
        "visibility": "public",
        "rsvp_goal": 10,
        "host": {"name": "Quinn Doe", "email": "quinn@example.org", "phone": "+1 212 555 0100"},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


async def make_meeting(**overrides: Any) -> CreatedMeeting:
    data = parse_meeting_input(meeting_body(**overrides))
    return await create_meeting(
        data, geocoder=GEOCODER, secret_key=SECRET, base_url="http://testserver"
    )


async def make_campaign(slug: str = "winter-house-meetings", **fields: Any) -> Campaign:
    return await Campaign.create(
        slug=slug, name=fields.pop("name", "Winter House Meetings"), **fields
    )


async def csrf_from(client: httpx.AsyncClient, path: str) -> str:
    """Open a page as a browser would and read its form's CSRF token."""
    html = (await client.get(path)).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def as_form(body: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A JSON-shaped body as the host form posts it (dotted input names)."""
    form: dict[str, str] = {}
    for key, value in body.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            form.update(as_form(value, f"{name}."))
        elif value is not None:
            form[name] = str(value)
    return form
