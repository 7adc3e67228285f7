"""Postal codes outside the US, offline: countrystatecity's codes placed at GeoNames towns."""

from __future__ import annotations

import pytest

from kit.maps.gazetteer import default_gazetteer, normalize_postcode
from kit.maps.geocoding import make_geocoder

GAZETTEER = default_gazetteer()


@pytest.mark.parametrize(
    ("code", "country", "town", "zone", "point"),
    [
        ("75011", "FR", "Paris", "Europe/Paris", (48.86, 2.38)),  # the 11e, not the centre
        ("10115", "DE", "Berlin", "Europe/Berlin", (52.52, 13.41)),
        ("75011", "IT", "Accettura", "Europe/Rome", (40.49, 16.16)),
        ("1011 AB", "NL", "Amsterdam", "Europe/Amsterdam", (52.37, 4.89)),  # its 4 digits
    ],
)
def test_a_postal_code_abroad_is_its_town(
    code: str, country: str, town: str, zone: str, point: tuple[float, float]
) -> None:
    place = GAZETTEER.lookup_postcode(code, country)
    assert place is not None
    assert (place.locality, place.country, place.timezone, place.precision) == (
        town,
        country,
        zone,
        "postal_code",
    )
    assert place.lat == pytest.approx(point[0], abs=0.02)
    assert place.lon == pytest.approx(point[1], abs=0.02)


def test_an_unknown_code_or_a_code_of_another_country_is_none() -> None:
    assert GAZETTEER.lookup_postcode("00000", "FR") is None
    assert GAZETTEER.lookup_postcode("75011", "DE") is None


def test_us_codes_are_left_to_the_zip_data() -> None:
    assert all(p.country != "US" for p in GAZETTEER.postcode_places("10115"))


def test_the_countries_with_a_code_come_most_populous_first() -> None:
    places = GAZETTEER.postcode_places("75011")
    assert [p.country for p in places][:1] == ["FR"]
    assert "IT" in {p.country for p in places}


def test_postal_codes_are_compared_without_spaces_dashes_or_case() -> None:
    assert normalize_postcode(" sw1a 1aa ") == "SW1A1AA"
    assert normalize_postcode("1000-001") == "1000001"


@pytest.mark.parametrize(
    ("query", "label"),
    [("75011, FR", "75011 Paris, FR"), ("10115, Germany", "10115 Berlin, DE")],
)
async def test_the_offline_geocoder_searches_a_code_with_its_country(
    query: str, label: str
) -> None:
    place = await make_geocoder("offline", "house-meeting-kit-tests/1.0").search(query)
    assert place is not None and place.label == label
