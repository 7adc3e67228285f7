"""Build whole, valid objects the way users create them, with times relative to now."""

from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from kit.maps.geocoding import make_geocoder
from kit.maps.places import AddressQuery, Geocoder, Place
from kit.meetings import CreatedMeeting, create_meeting, parse_meeting_input
from kit.models import Campaign
from kit.settings import Settings

GEOCODER = make_geocoder("offline", "house-meeting-kit-tests/1.0")
SECRET = "test-secret-key-not-for-production"
# The same public settings as the `settings` fixture (tests/conftest.py).
SITE = Settings.from_env(
    {
        "KIT_DATA_DIR": str(Path(tempfile.gettempdir()) / "kit-test-factories"),
        "KIT_BASE_URL": "http://testserver",
        "KIT_SECRET_KEY": SECRET,
        "KIT_MAIL_FROM": "kit@example.org",
    }
)


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


class HouseGeocoder:
    """The offline gazetteer, but with a house-precise point, as a street geocoder answers."""

    def __init__(self, lat: float, lon: float) -> None:
        self.lat, self.lon = lat, lon

    async def search(self, query: str) -> Place | None:
        return await GEOCODER.search(query)

    async def locate(self, address: AddressQuery) -> Place | None:
        place = await GEOCODER.locate(address)
        return place and replace(place, lat=self.lat, lon=self.lon, precision="address")


async def make_meeting(geocoder: Geocoder = GEOCODER, **overrides: Any) -> CreatedMeeting:
    data = parse_meeting_input(meeting_body(**overrides))
    return await create_meeting(data, geocoder=geocoder, site=SITE)


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
