"""Geocoding: the offline gazetteer answers ZIPs, towns and points; a remote geopy
service (here a loopback server replaying recorded Nominatim answers) answers
first when configured, and the offline answer stands in whenever it fails."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from kit.core.errors import SettingsError
from kit.core.settings import Settings
from kit.maps import build_gazetteer, gazetteer
from kit.maps.gazetteer import Gazetteer, index_version, normalize_name
from kit.maps.geocoding import (
    GeocoderConfigError,
    GeopyGeocoder,
    MemoryGeocodeCache,
    OfflineGeocoder,
    make_geocoder,
)
from kit.maps.places import AddressQuery, Place

USER_AGENT = "house-meeting-kit-tests/0.1 (tests@example.org)"


@pytest.fixture(scope="module")
def index_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real index per test module, built the way production builds it (~30 s)."""
    path = tmp_path_factory.mktemp("gazetteer") / "gazetteer.sqlite3"
    Gazetteer(path).load()
    return path


@pytest.fixture(scope="module")
def places(index_path: Path) -> Iterator[Gazetteer]:
    g = Gazetteer(index_path)
    yield g
    g.close()


@pytest.fixture(scope="module")
def offline(places: Gazetteer) -> OfflineGeocoder:
    return OfflineGeocoder(places)


# --- the gazetteer index ----------------------------------------------------------


def test_gazetteer_index_is_built_on_first_use_at_the_given_path(index_path: Path) -> None:
    assert index_path.exists()
    assert not list(index_path.parent.glob("*.tmp")), "no temporary file is left behind"
    with closing(sqlite3.connect(index_path)) as db:
        assert db.execute("SELECT value FROM meta").fetchone() == (index_version(),)
        assert db.execute("SELECT count(*) FROM zips").fetchone()[0] > 40_000
        assert db.execute("SELECT count(*) FROM places").fetchone()[0] > 50_000


def test_gazetteer_rebuilds_an_index_of_another_version(
    index_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "gazetteer.sqlite3"
    with closing(sqlite3.connect(stale)) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('version', 'old')")
        db.commit()
    builds: list[Path] = []

    def build(path: Path) -> None:  # stands in for the 30-second subprocess
        builds.append(path)
        shutil.copyfile(index_path, path)

    monkeypatch.setattr(gazetteer, "_build_out_of_process", build)
    g = Gazetteer(stale)
    try:
        assert g.lookup_zip("10027") is not None
    finally:
        g.close()
    assert builds == [stale]


def test_a_failed_build_keeps_the_previous_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "gazetteer.sqlite3"
    path.write_bytes(b"previous index")
    monkeypatch.setattr(build_gazetteer, "read_zips", lambda: [])
    monkeypatch.setattr(build_gazetteer, "read_cities", lambda: [])

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(build_gazetteer, "write_index", fail)
    with pytest.raises(OSError, match="disk full"):
        build_gazetteer.build_index(path)
    assert path.read_bytes() == b"previous index"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_module_lookups_use_the_process_wide_gazetteer(
    places: Gazetteer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gazetteer, "_default", places)
    assert gazetteer.default_gazetteer() is places
    assert gazetteer.lookup_zip("10027") == places.lookup_zip("10027")
    assert gazetteer.lookup_place("Lyon", "FR") == places.lookup_place("Lyon", "France")


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("Zürich", "zurich"),
        ("  ZURICH ", "zurich"),
        ("St. Louis", "saint louis"),
        ("Coeur d'Alene", "coeur d alene"),
        ("Winston-Salem", "winston salem"),
        ("København", "kobenhavn"),
        ("Łódź", "lodz"),
    ],
)
def test_names_are_compared_without_case_accents_or_punctuation(text: str, normalized: str) -> None:
    assert normalize_name(text) == normalized


def test_lookup_zip_takes_zip_plus_four_and_rejects_unknown_zips(places: Gazetteer) -> None:
    assert places.lookup_zip("10027-1234") == places.lookup_zip("10027")
    assert places.lookup_zip("99999") is None
    assert places.lookup_zip("1002") is None


def test_lookup_place_reads_a_two_letter_qualifier_as_a_state_before_a_country(
    places: Gazetteer,
) -> None:
    oakland = places.lookup_place("Oakland", "CA")
    toronto = places.lookup_place("Toronto", "CA")
    assert oakland is not None and (oakland.country, oakland.region) == ("US", "CA")
    assert toronto is not None and (toronto.country, toronto.region) == ("CA", "ON")


def test_lookup_place_tries_the_state_then_the_country_of_the_same_name(
    places: Gazetteer,
) -> None:
    atlanta = places.lookup_place("Atlanta", "Georgia")
    tbilisi = places.lookup_place("Tbilisi", "Georgia")
    assert atlanta is not None and atlanta.country == "US"
    assert tbilisi is not None and tbilisi.country == "GE"


def test_lookup_place_finds_small_us_towns_from_the_zip_data(places: Gazetteer) -> None:
    town = places.lookup_place("Woodstock", "Vermont")
    assert town is not None
    assert (town.region, town.timezone) == ("VT", "America/New_York")
    assert town.lat == pytest.approx(43.62, abs=0.1)


def test_lookup_place_with_an_unknown_qualifier_finds_nothing(places: Gazetteer) -> None:
    assert places.lookup_place("Springfield", "Atlantis") is None
    assert places.lookup_place("Lyon", "Canada") is None


# --- the offline geocoder -----------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "locality", "country", "zone", "lat", "lon"),
    [
        ("10027", "New York", "US", "America/New_York", 40.81, -73.96),
        ("10027-1234", "New York", "US", "America/New_York", 40.81, -73.96),
        ("Oakland, CA", "Oakland", "US", "America/Los_Angeles", 37.80, -122.27),
        ("Oakland CA", "Oakland", "US", "America/Los_Angeles", 37.80, -122.27),
        ("Lyon, France", "Lyon", "FR", "Europe/Paris", 45.75, 4.85),
        ("Zürich", "Zürich", "CH", "Europe/Zurich", 47.37, 8.55),
        ("Zurich", "Zürich", "CH", "Europe/Zurich", 47.37, 8.55),
        ("Paris", "Paris", "FR", "Europe/Paris", 48.85, 2.35),
        ("Paris, TX", "Paris", "US", "America/Chicago", 33.66, -95.56),
        ("Springfield, IL", "Springfield", "US", "America/Chicago", 39.80, -89.64),
        ("Toronto, Ontario", "Toronto", "CA", "America/Toronto", 43.71, -79.40),
    ],
)
async def test_search_finds_zips_and_towns(
    offline: OfflineGeocoder,
    query: str,
    locality: str,
    country: str,
    zone: str,
    lat: float,
    lon: float,
) -> None:
    place = await offline.search(query)
    assert place is not None
    assert (place.locality, place.country, place.timezone) == (locality, country, zone)
    assert (place.lat, place.lon) == (pytest.approx(lat, abs=0.05), pytest.approx(lon, abs=0.05))


async def test_search_zip_has_postal_code_precision_and_a_label(offline: OfflineGeocoder) -> None:
    place = await offline.search("10027")
    assert place is not None
    assert (place.precision, place.postal_code, place.region) == ("postal_code", "10027", "NY")
    assert place.label == "10027 New York, NY"


async def test_search_town_has_city_precision_and_a_label(offline: OfflineGeocoder) -> None:
    oakland, lyon = await offline.search("Oakland, CA"), await offline.search("Lyon, France")
    assert oakland is not None and lyon is not None
    assert (oakland.precision, oakland.label) == ("city", "Oakland, CA")
    assert (lyon.precision, lyon.label) == ("city", "Lyon, FR")


async def test_search_state_and_zip_after_the_town_gives_the_zip(offline: OfflineGeocoder) -> None:
    place = await offline.search("Oakland, CA 94612")
    assert place is not None and (place.precision, place.postal_code) == ("postal_code", "94612")


async def test_search_foreign_postal_code_is_not_read_as_a_us_zip(
    offline: OfflineGeocoder,
) -> None:
    place = await offline.search("Paris, France 75001")
    assert place is not None and place.country == "FR"


async def test_search_coordinates_give_a_point_named_after_the_nearest_town(
    offline: OfflineGeocoder,
) -> None:
    place = await offline.search("48.85,2.35")
    assert place == Place(
        lat=48.85,
        lon=2.35,
        locality="Paris",
        region="",
        postal_code="",
        country="FR",
        timezone="Europe/Paris",
        precision="point",
    )


async def test_search_coordinates_far_from_any_town_have_no_locality(
    offline: OfflineGeocoder,
) -> None:
    place = await offline.search("0, -30")
    assert place is not None
    assert (place.locality, place.country, place.timezone) == ("", "", "Etc/GMT+2")


@pytest.mark.parametrize("query", ["95,200", "-91, 0", "Qwxzyville", "99999", "", "  ", ",,"])
async def test_search_answers_none_when_nothing_matches(
    offline: OfflineGeocoder, query: str
) -> None:
    assert await offline.search(query) is None


async def test_locate_a_us_street_address_gives_its_zip_area(offline: OfflineGeocoder) -> None:
    zip_area = await offline.search("10027")
    place = await offline.locate(AddressQuery("400 W 119th St", "", "10027", "US"))
    assert place == zip_area


async def test_locate_keeps_the_locality_the_person_wrote(offline: OfflineGeocoder) -> None:
    place = await offline.locate(AddressQuery("400 W 119th St", "Harlem", "10027-1234", "US"))
    assert place is not None
    assert (place.locality, place.postal_code, place.precision) == (
        "Harlem",
        "10027",
        "postal_code",
    )


async def test_locate_outside_the_us_gives_the_postal_codes_town(
    offline: OfflineGeocoder,
) -> None:
    # Postal codes abroad are known offline now (countrystatecity): the code's area.
    place = await offline.locate(AddressQuery("5 rue de la République", "Lyon", "69001", "FR"))
    assert place is not None
    assert (place.locality, place.postal_code, place.country, place.precision) == (
        "Lyon",
        "69001",
        "FR",
        "postal_code",
    )


async def test_locate_with_an_unknown_postal_code_abroad_gives_the_town(
    offline: OfflineGeocoder,
) -> None:
    place = await offline.locate(AddressQuery("5 rue de la République", "Lyon", "00000", "FR"))
    assert place is not None
    assert (place.locality, place.country, place.precision) == ("Lyon", "FR", "city")


async def test_locate_with_an_unknown_zip_and_no_town_is_none(offline: OfflineGeocoder) -> None:
    assert await offline.locate(AddressQuery("1 Main St", "", "99999", "US")) is None


async def test_first_search_loads_the_index_without_blocking_the_event_loop(
    index_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = Gazetteer.load

    def slow_load(self: Gazetteer) -> None:
        time.sleep(0.3)  # what opening (or building) a big index feels like
        real_load(self)

    monkeypatch.setattr(Gazetteer, "load", slow_load)
    geocoder = OfflineGeocoder(Gazetteer(index_path))
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        assert await geocoder.search("10027") is not None
    finally:
        ticker.cancel()
        geocoder.gazetteer.close()
    assert ticks >= 10


# --- a remote geocoder in front of the offline one ------------------------------

OAKLAND_ANSWER = [
    {
        "place_id": 297926232,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
        "osm_type": "relation",
        "osm_id": 2833530,
        "lat": "37.8044557",
        "lon": "-122.271356",
        "class": "boundary",
        "type": "administrative",
        "place_rank": 16,
        "importance": 0.7131895632379,
        "addresstype": "city",
        "name": "Oakland",
        "display_name": "Oakland, Alameda County, California, United States",
        "address": {
            "city": "Oakland",
            "county": "Alameda County",
            "state": "California",
            "ISO3166-2-lvl4": "US-CA",
            "country": "United States",
            "country_code": "us",
        },
        "boundingbox": ["37.6325791", "37.8855079", "-122.3554438", "-122.1144541"],
    }
]
CITY_HALL_ANSWER = [
    {
        "place_id": 298018834,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
        "osm_type": "way",
        "osm_id": 24453218,
        "lat": "37.8052565",
        "lon": "-122.2725501",
        "class": "amenity",
        "type": "townhall",
        "place_rank": 30,
        "importance": 0.4105342719209,
        "addresstype": "amenity",
        "name": "Oakland City Hall",
        "display_name": "Oakland City Hall, 1, Frank H. Ogawa Plaza, Downtown Oakland, Oakland, "
        "Alameda County, California, 94612, United States",
        "address": {
            "amenity": "Oakland City Hall",
            "house_number": "1",
            "road": "Frank H. Ogawa Plaza",
            "neighbourhood": "Downtown Oakland",
            "city": "Oakland",
            "county": "Alameda County",
            "state": "California",
            "ISO3166-2-lvl4": "US-CA",
            "postcode": "94612",
            "country": "United States",
            "country_code": "us",
        },
        "boundingbox": ["37.8048049", "37.8057302", "-122.2730925", "-122.2720093"],
    }
]


def recorded_answer(params: dict[str, str]) -> list[dict[str, Any]]:
    if params.get("q") == "Oakland, CA":
        return OAKLAND_ANSWER
    if params.get("street") == "1 Frank H. Ogawa Plaza":
        return CITY_HALL_ANSWER
    return []  # what Nominatim says when it knows no such place


@dataclass
class Replay:
    domain: str
    requests: list[dict[str, str]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


@contextmanager
def nominatim_replay(
    status: int = 200, delay: float = 0.0, answer: Callable[..., Any] = recorded_answer
) -> Iterator[Replay]:
    """A loopback HTTP server on a free port answering /search like Nominatim."""
    replay = Replay(domain="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            params = dict(parse_qsl(urlsplit(self.path).query))
            replay.requests.append(
                {
                    **params,
                    "path": urlsplit(self.path).path,
                    "user-agent": self.headers["User-Agent"],
                }
            )
            replay.times.append(time.monotonic())
            time.sleep(delay)
            body = json.dumps(answer(params)).encode() if status == 200 else b"Internal error"
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    replay.domain = f"127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield replay
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def unreachable_domain() -> str:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def remote(
    domain: str, offline: OfflineGeocoder, *, timeout: float = 2.0, min_delay: float = 0.0
) -> GeopyGeocoder:
    return GeopyGeocoder(
        "nominatim",
        USER_AGENT,
        fallback=offline,
        cache=MemoryGeocodeCache(),
        timeout=timeout,
        min_delay_seconds=min_delay,
        domain=domain,
        scheme="http",
    )


async def test_remote_search_turns_a_nominatim_answer_into_a_place(
    offline: OfflineGeocoder,
) -> None:
    with nominatim_replay() as server:
        place = await remote(server.domain, offline).search("Oakland, CA")
    assert place == Place(
        lat=37.8044557,
        lon=-122.271356,
        locality="Oakland",
        region="CA",
        postal_code="",
        country="US",
        timezone="America/Los_Angeles",
        precision="city",
    )
    [request] = server.requests
    assert request["path"] == "/search"
    assert (request["q"], request["format"], request["addressdetails"]) == (
        "Oakland, CA",
        "json",
        "1",
    )
    assert request["user-agent"] == USER_AGENT


async def test_remote_locate_sends_a_structured_query_and_gets_the_address(
    offline: OfflineGeocoder,
) -> None:
    address = AddressQuery("1 Frank H. Ogawa Plaza", "Oakland", "94612", "US")
    with nominatim_replay() as server:
        place = await remote(server.domain, offline).locate(address)
    assert place is not None
    assert (place.precision, place.postal_code, place.locality) == ("address", "94612", "Oakland")
    assert (place.lat, place.lon) == (37.8052565, -122.2725501)
    [request] = server.requests
    assert {k: request[k] for k in ("street", "city", "postalcode", "countrycodes")} == {
        "street": "1 Frank H. Ogawa Plaza",
        "city": "Oakland",
        "postalcode": "94612",
        "countrycodes": "us",
    }


async def test_remote_answer_without_address_details_gets_the_country_offline(
    offline: OfflineGeocoder,
) -> None:
    bare = [{k: v for k, v in OAKLAND_ANSWER[0].items() if k != "address"}]
    with nominatim_replay(answer=lambda params: bare) as server:
        place = await remote(server.domain, offline).search("Oakland, CA")
    assert place is not None
    assert (place.country, place.region, place.locality) == ("US", "CA", "Oakland")
    assert (place.lat, place.lon) == (37.8044557, -122.271356)


async def test_remote_answers_and_unknown_places_are_cached(offline: OfflineGeocoder) -> None:
    with nominatim_replay() as server:
        geocoder = remote(server.domain, offline)
        first = await geocoder.search("Oakland, CA")
        again = await geocoder.search("  oakland,   ca ")
        assert await geocoder.search("Qwxzyville") is None
        assert await geocoder.search("Qwxzyville") is None
    assert first == again
    assert [r["q"] for r in server.requests] == ["Oakland, CA", "Qwxzyville"]


async def test_remote_geocoder_answers_zips_and_coordinates_offline(
    offline: OfflineGeocoder,
) -> None:
    with nominatim_replay() as server:
        geocoder = remote(server.domain, offline)
        assert await geocoder.search("10027") == await offline.search("10027")
        assert await geocoder.search("48.85,2.35") == await offline.search("48.85,2.35")
    assert server.requests == []


async def test_remote_requests_are_spaced_by_the_rate_limiter(offline: OfflineGeocoder) -> None:
    with nominatim_replay() as server:
        geocoder = remote(server.domain, offline, min_delay=0.5)
        # The first request also opens the connection: its own latency would eat into
        # the gap the server sees, so it goes first, alone.
        await geocoder.search("Lyon, France")
        await asyncio.gather(geocoder.search("Oakland, CA"), geocoder.search("Qwxzyville"))
    # Asked at once, they reach the service half a second apart (a few ms without the
    # limiter); the margin is for a loaded machine's scheduling, not for the limiter.
    gaps = [later - earlier for earlier, later in itertools.pairwise(server.times)]
    assert len(gaps) == 2 and min(gaps) >= 0.4, gaps


@pytest.mark.parametrize("failure", ["server error", "unreachable", "too slow"])
async def test_the_offline_answer_stands_in_when_the_service_fails(
    offline: OfflineGeocoder, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    status, delay = (
        (500 if failure == "server error" else 200),
        (0.5 if failure == "too slow" else 0),
    )
    with nominatim_replay(status=status, delay=delay) as server:
        domain = unreachable_domain() if failure == "unreachable" else server.domain
        geocoder = remote(domain, offline, timeout=0.2 if failure == "too slow" else 2.0)
        with caplog.at_level(logging.WARNING, logger="kit.maps"):
            place = await geocoder.search("Oakland, CA")
    assert place is not None
    assert place == await offline.search("Oakland, CA")
    [record] = [r for r in caplog.records if r.name == "kit.maps"]
    assert record.levelno == logging.WARNING
    assert "nominatim failed" in record.getMessage()


async def test_fallback_answers_are_not_cached(offline: OfflineGeocoder) -> None:
    cache = MemoryGeocodeCache()
    with nominatim_replay(status=500) as server:
        geocoder = GeopyGeocoder(
            "nominatim",
            USER_AGENT,
            fallback=offline,
            cache=cache,
            min_delay_seconds=0,
            domain=server.domain,
            scheme="http",
        )
        await geocoder.search("Oakland, CA")
    assert await cache.get("nominatim:search:oakland, ca") is None


# --- choosing a geocoder --------------------------------------------------------


def test_make_geocoder_offline_is_the_gazetteer(places: Gazetteer) -> None:
    geocoder = make_geocoder("offline", USER_AGENT, gazetteer=places)
    assert isinstance(geocoder, OfflineGeocoder) and geocoder.gazetteer is places


def test_make_geocoder_wraps_a_geopy_service_with_the_offline_fallback(places: Gazetteer) -> None:
    assert isinstance(make_geocoder("Nominatim", USER_AGENT, gazetteer=places), GeopyGeocoder)


def test_make_geocoder_rejects_an_unknown_service(places: Gazetteer) -> None:
    with pytest.raises(GeocoderConfigError, match="KIT_GEOCODER 'nowhere' is neither") as error:
        make_geocoder("nowhere", USER_AGENT, gazetteer=places)
    assert error.value.env == "KIT_GEOCODER"


def test_make_geocoder_rejects_the_sample_user_agent_nominatim_forbids(places: Gazetteer) -> None:
    with pytest.raises(GeocoderConfigError) as error:
        make_geocoder("nominatim", "geopy/2.5.0", gazetteer=places)
    assert error.value.env == "KIT_GEOCODER_USER_AGENT"


def test_the_configured_geocoder_reports_a_bad_setting_as_a_settings_error(
    settings: Settings,
) -> None:
    from kit.store.geocode_cache import make_configured_geocoder

    bad = dataclasses.replace(settings, geocoder="nowhere")
    with pytest.raises(SettingsError, match="KIT_GEOCODER 'nowhere' is neither") as error:
        make_configured_geocoder(bad)
    assert error.value.env == "KIT_GEOCODER"


async def test_memory_cache_forgets_the_least_recently_used_first() -> None:
    cache = MemoryGeocodeCache(max_entries=2)
    await cache.set("a", {"n": 1})
    await cache.set("b", {"n": 2})
    assert await cache.get("a") == {"n": 1}  # "a" is now the most recently used
    await cache.set("c", {"n": 3})
    assert (await cache.get("a"), await cache.get("b"), await cache.get("c")) == (
        {"n": 1},
        None,
        {"n": 3},
    )


async def test_remote_answers_are_kept_in_the_database_across_instances(
    offline: OfflineGeocoder, db: str
) -> None:
    from kit.store.geocode_cache import DatabaseGeocodeCache
    from kit.store.models import GeocodeAnswer

    def fresh(domain: str) -> GeopyGeocoder:
        return GeopyGeocoder(
            "nominatim",
            USER_AGENT,
            fallback=offline,
            cache=DatabaseGeocodeCache(),
            timeout=2.0,
            min_delay_seconds=0.0,
            domain=domain,
            scheme="http",
        )

    with nominatim_replay() as server:
        first = await fresh(server.domain).search("Oakland, CA")
        # A second process (a new instance) finds the answer without asking again.
        again = await fresh(server.domain).search("Oakland, CA")
    assert first == again
    assert len(server.requests) == 1
    assert await GeocodeAnswer.all().count() == 1
