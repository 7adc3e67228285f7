"""Villages and small towns outside the US are found offline (GeoNames places of 500+)."""

from __future__ import annotations

import httpx
import pytest

from kit.maps.geocoding import make_geocoder
from kit.maps.places import AddressQuery
from kit.store.models import Meeting
from tests.factories import meeting_body

GEOCODER = make_geocoder("offline", "house-meeting-kit-tests/1.0")


@pytest.mark.parametrize(
    ("town", "country", "zone"),
    [
        ("Grindelwald", "CH", "Europe/Zurich"),  # about 3,800 people
        ("Hallstatt", "AT", "Europe/Vienna"),  # about 750
        ("Giverny", "FR", "Europe/Paris"),  # about 500
    ],
)
async def test_a_small_town_abroad_is_placed(town: str, country: str, zone: str) -> None:
    place = await GEOCODER.locate(AddressQuery("", town, "", country))
    assert place is not None
    assert (place.locality, place.country, place.timezone) == (town, country, zone)
    searched = await GEOCODER.search(f"{town}, {country}")
    assert searched is not None and searched.locality == town


async def test_a_host_in_a_village_abroad_can_publish(client: httpx.AsyncClient) -> None:
    address = {"street": "", "locality": "Grindelwald", "postal_code": "", "country": "CH"}
    created = await client.post("/api/meetings", json=meeting_body(address=address))
    assert created.status_code == 201, created.text
    assert (await Meeting.get()).timezone == "Europe/Zurich"
