"""The JSON API takes "lat,lon" as it is: the same point and clock as the geocoder's,
without the nearest town's name (which it never shows)."""

from __future__ import annotations

import pytest

from kit.maps.geocoding import OfflineGeocoder
from kit.meetings.discovery import bare_point


@pytest.mark.parametrize(
    "near", ["40.71278,-74.00597", " 48.8566 2.3522 ", "-33.8688,151.2093", "64.1466,-21.9426"]
)
def test_a_point_is_the_geocoders_point_with_no_name(near: str) -> None:
    found = OfflineGeocoder().search_now(near)
    bare = bare_point(near)
    assert found is not None and bare is not None
    assert (bare.lat, bare.lon, bare.timezone, bare.precision) == (
        found.lat,
        found.lon,
        found.timezone,
        found.precision,
    )
    assert (bare.locality, bare.region, bare.country) == ("", "", "")


@pytest.mark.parametrize("near", ["91,0", "0,181", "Oakland, CA", "10027", ""])
def test_anything_else_goes_to_the_geocoder(near: str) -> None:
    assert bare_point(near) is None
