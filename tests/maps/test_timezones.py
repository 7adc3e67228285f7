"""timezone_at: the IANA zone of a point, offline, from any thread."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kit.maps.timezones import close_timezones, load_timezones, timezone_at, timezones_loaded

CITIES = [
    (40.8116, -73.955, "America/New_York"),
    (37.8044, -122.2708, "America/Los_Angeles"),
    (39.8017, -89.6437, "America/Chicago"),
    (21.3069, -157.8583, "Pacific/Honolulu"),
    (48.8534, 2.3488, "Europe/Paris"),
    (47.3667, 8.55, "Europe/Zurich"),
    (-33.8678, 151.2073, "Australia/Sydney"),
]


@pytest.mark.parametrize(("lat", "lon", "zone"), CITIES)
def test_timezone_at_a_city_is_its_local_zone(lat: float, lon: float, zone: str) -> None:
    assert timezone_at(lat, lon) == zone


def test_timezone_at_open_sea_is_the_nautical_zone() -> None:
    assert timezone_at(0.0, -30.0) == "Etc/GMT+2"


@pytest.mark.parametrize(("lat", "lon"), [(95.0, 200.0), (-91.0, 0.0), (0.0, 180.5), (math.nan, 0)])
def test_timezone_at_a_point_off_the_globe_is_utc(lat: float, lon: float) -> None:
    assert timezone_at(lat, lon) == "UTC"


def test_timezone_lookups_after_the_first_take_microseconds() -> None:
    load_timezones()
    assert timezones_loaded()
    started = time.perf_counter()
    for _ in range(1000):
        timezone_at(48.8534, 2.3488)
    assert time.perf_counter() - started < 0.5  # measured: ~3 ms for the thousand


def test_timezone_at_gives_the_same_answers_from_many_threads() -> None:
    points = CITIES * 50
    with ThreadPoolExecutor(max_workers=8) as pool:
        zones = list(pool.map(lambda point: timezone_at(point[0], point[1]), points))
    assert zones == [zone for _, _, zone in points]


def test_the_finder_closes_its_files_and_reopens_on_the_next_lookup() -> None:
    assert timezone_at(45.52, -122.68) == "America/Los_Angeles"
    close_timezones()
    assert not timezones_loaded()
    close_timezones()  # twice is fine: it also runs at exit
    assert timezone_at(48.86, 2.35) == "Europe/Paris"
    assert timezones_loaded()


def test_a_process_that_looked_up_zones_exits_without_resource_warnings() -> None:
    script = "from kit.maps.timezones import timezone_at; timezone_at(40.7, -74.0)"
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert "ResourceWarning" not in done.stderr
