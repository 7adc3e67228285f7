"""Geocoders: the offline one (bundled gazetteers) and any geopy service in front of it.

``make_geocoder(settings.geocoder, settings.geocoder_user_agent)`` picks one:
"offline" answers from the gazetteer index on this machine; any other name is a
geopy service (e.g. "nominatim") that falls back to the offline answer when it
fails, so a dead or rate-limited service degrades the precision, not the page.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import anyio.to_thread

from kit.maps.gazetteer import (
    REGION_COUNTRIES,
    US_ZIP_COUNTRIES,
    Gazetteer,
    default_gazetteer,
    looks_like_postcode,
    parse_zip,
)
from kit.maps.places import AddressQuery, Geocoder, Place, Precision
from kit.maps.timezones import load_timezones, timezone_at, timezones_loaded, valid_coordinates

if TYPE_CHECKING:
    from geopy.location import Location

logger = logging.getLogger("kit.maps")

_COORDINATES = re.compile(r"^\s*([+-]?\d{1,3}(?:\.\d+)?)\s*[,;\s]\s*([+-]?\d{1,3}(?:\.\d+)?)\s*$")
# "Oakland, CA 94612": a state followed by its ZIP.
_STATE_ZIP = re.compile(r"^(.*\S)\s+(\d{5}(?:-\d{4})?)$")
MAX_QUERY_LENGTH = 200


class GeocoderConfigError(Exception):
    """A geocoder that can't be built as configured; ``env`` names the setting at fault."""

    def __init__(self, env: str, problem: str) -> None:
        super().__init__(f"{env} {problem}")
        self.env = env
        self.problem = problem


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """ "48.85,2.35" or "48.85 2.35" -> (48.85, 2.35), without checking the ranges."""
    match = _COORDINATES.match(text)
    return (float(match.group(1)), float(match.group(2))) if match else None


def point_place(lat: float, lon: float) -> Place:
    """A point as a place with no name yet: its own clock, no town, region or country."""
    return Place(
        lat=round(lat, 6),
        lon=round(lon, 6),
        locality="",
        region="",
        postal_code="",
        country="",
        timezone=timezone_at(lat, lon),
        precision="point",
    )


class OfflineGeocoder:
    """Answers from the bundled gazetteers: US ZIPs, postal codes abroad, US towns, and
    the world's cities and towns.

    It never resolves a street (there is no street data offline): an address is
    placed at its ZIP's area, or else at its town.
    """

    def __init__(self, gazetteer: Gazetteer | None = None) -> None:
        self.gazetteer = gazetteer or default_gazetteer()

    async def search(self, query: str) -> Place | None:
        """A US ZIP ("10027", "10027-1234"), "lat,lon", or a town ("Oakland, CA", "Lyon, France",
        "Zurich"; the most populous one when several share the name)."""
        await self._ready()
        return self.search_now(query)

    async def locate(self, address: AddressQuery) -> Place | None:
        """The address's US ZIP area (precision "postal_code"), else its town ("city").

        The street is not used: offline there is no street data.
        """
        await self._ready()
        return self.locate_now(address)

    def search_now(self, query: str) -> Place | None:
        """``search`` for callers already off the event loop (or sure the index is loaded)."""
        text = query.strip()
        if not text or len(text) > MAX_QUERY_LENGTH:
            return None
        if (point := parse_coordinates(text)) is not None:
            return self._point(*point) if valid_coordinates(*point) else None
        if (code := parse_zip(text)) is not None:
            return self.gazetteer.lookup_zip(code)
        name, *qualifiers = [part.strip() for part in text.split(",") if part.strip()] or [""]
        if qualifiers:
            return self._town(name, qualifiers)
        return self.gazetteer.lookup_place(name) or self._town_with_trailing_qualifier(name)

    def locate_now(self, address: AddressQuery) -> Place | None:
        country = address.country.strip().upper()
        locality = address.locality.strip()
        place = self._postal_area(address.postal_code, country)
        if place is not None:
            return replace(place, locality=locality) if locality else place
        if locality and (region := self._region_in(address.region, country)):
            return self.gazetteer.lookup_place(locality, region)
        if locality:
            return self.gazetteer.lookup_place(locality, country or None)
        return None

    def towns_named(self, name: str, country: str) -> list[Place]:
        """The towns of note a bare town name may mean in ``country`` (kit.meetings.service asks
        the host which one when there are several)."""
        return self.gazetteer.towns_named(name, country)

    def places_with_postcode(self, code: str) -> list[Place]:
        """The towns outside the US with this postal code, the most populous first
        (kit.meetings.discovery offers them as "Did you mean…?" for a bare code)."""
        return self.gazetteer.postcode_places(code) if looks_like_postcode(code) else []

    def _postal_area(self, postal_code: str, country: str) -> Place | None:
        """The area of a US ZIP, or of a postal code in another country."""
        if country in US_ZIP_COUNTRIES:
            code = parse_zip(postal_code)
            return self.gazetteer.lookup_zip(code) if code else None
        if country and looks_like_postcode(postal_code):
            return self.gazetteer.lookup_postcode(postal_code, country)
        return None

    def _region_in(self, region: str, country: str) -> str | None:
        """The typed region when the gazetteer knows it in that country ("Oregon", "OR"
        in the US); None otherwise, and the country alone decides."""
        regions = self.gazetteer.regions_of(region) if region.strip() else set()
        return region if any(c == country and admin1 for c, admin1 in regions) else None

    async def _ready(self) -> None:
        # The first use opens (maybe builds) the index and the time zone finder:
        # up to seconds, so off the event loop; afterwards lookups take ~0.1 ms.
        if not (self.gazetteer.loaded and timezones_loaded()):
            await anyio.to_thread.run_sync(self._load)

    def _load(self) -> None:
        self.gazetteer.load()
        load_timezones()

    def _point(self, lat: float, lon: float) -> Place:
        place = point_place(lat, lon)
        near = self.gazetteer.nearest_place(lat, lon)
        if near is None:
            return place
        return replace(place, locality=near.locality, region=near.region, country=near.country)

    def _town(self, name: str, qualifiers: list[str]) -> Place | None:
        """The first qualifier the gazetteer knows decides ("Paris, Île-de-France, France"
        -> France); with none known, the name alone does."""
        known = False
        for qualifier in qualifiers:
            if (place := self._zip_after_state(qualifier)) is not None:
                return place
            if (place := self._postcode_in(name, qualifier)) is not None:
                return place
            if self.gazetteer.is_qualifier(qualifier):
                known = True
                if (place := self.gazetteer.lookup_place(name, qualifier)) is not None:
                    return place
        return None if known else self.gazetteer.lookup_place(name)

    def _postcode_in(self, code: str, qualifier: str) -> Place | None:
        """ "75011, FR" or "10115, Germany": a postal code in the country named."""
        if not looks_like_postcode(code):
            return None
        countries = {c for c, admin1 in self.gazetteer.regions_of(qualifier) if not admin1}
        for country in sorted(countries):
            if (place := self._postal_area(code, country)) is not None:
                return place
        return None

    def _zip_after_state(self, qualifier: str) -> Place | None:
        """ "CA 94612" -> the ZIP's area, when the ZIP is in that state."""
        match = _STATE_ZIP.match(qualifier)
        if match is None:
            return None
        place = self.gazetteer.lookup_zip(match.group(2))
        regions = self.gazetteer.regions_of(match.group(1))
        if place is None or not {(place.country, place.region), (place.country, "")} & regions:
            return None  # "France 75001" is not the Texan ZIP 75001
        return place

    def _town_with_trailing_qualifier(self, text: str) -> Place | None:
        """ "Oakland CA", "Concord New Hampshire": the comma left out."""
        words = text.split()
        for cut in range(len(words) - 1, max(0, len(words) - 4), -1):
            qualifier = " ".join(words[cut:])
            if self.gazetteer.is_qualifier(qualifier):
                place = self.gazetteer.lookup_place(" ".join(words[:cut]), qualifier)
                if place is not None:
                    return place
        return None


class GeocodeCache(Protocol):
    """Where remote answers are kept; ``{}`` stands for "the service knows no such place"."""

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def set(self, key: str, value: dict[str, Any]) -> None: ...


class MemoryGeocodeCache:
    """Answers kept in this process, the least recently used dropped past ``max_entries``."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def get(self, key: str) -> dict[str, Any] | None:
        value = self._entries.get(key)
        if value is None:
            return None
        self._entries.move_to_end(key)
        return dict(value)

    async def set(self, key: str, value: dict[str, Any]) -> None:
        self._entries[key] = dict(value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


# Nominatim's ``addresstype`` values that place a result no finer than a town.
_AREA_TYPES = frozenset(
    "city town village hamlet municipality suburb neighbourhood quarter borough city_district"
    " county state region province country administrative".split()
)
_LOCALITY_KEYS = ("city", "town", "village", "hamlet", "municipality", "suburb")


class GeopyGeocoder:
    """A geopy service by name ("nominatim", "photon", ...), with ``fallback`` behind it.

    Public services ask for restraint (Nominatim: at most one request a second,
    a user agent naming the application, results cached), so: one geopy
    ``RateLimiter`` shared by every call, one request at a time in a worker
    thread, and answers (including "not found") kept in ``cache``. A request
    that can't get its turn and an answer within ``timeout + 2 * min_delay_seconds``
    is abandoned. On any geopy error or that timeout, a warning is logged and
    ``fallback`` answers instead (not cached, so the service is asked again).
    ZIP codes and "lat,lon" go straight to ``fallback``, which answers them exactly.
    ``options`` go to the geopy class (``domain=``, ``scheme=``, ``api_key=``...).
    """

    def __init__(
        self,
        name: str,
        user_agent: str,
        *,
        fallback: Geocoder,
        cache: GeocodeCache | None = None,
        timeout: float = 5.0,
        min_delay_seconds: float = 1.0,
        **options: Any,
    ) -> None:
        from geopy.extra.rate_limiter import RateLimiter
        from geopy.geocoders import get_geocoder_for_service

        self.name = name
        self._service = get_geocoder_for_service(name)(
            user_agent=user_agent, timeout=timeout, **options
        )
        self._geocode = RateLimiter(
            self._service.geocode,
            min_delay_seconds=min_delay_seconds,
            max_retries=0,
            swallow_exceptions=False,
        )
        self._parameters = inspect.signature(self._service.geocode).parameters
        self._fallback = fallback
        self._cache = cache
        self._deadline = timeout + 2 * min_delay_seconds
        self._turns = anyio.CapacityLimiter(1)

    async def search(self, query: str) -> Place | None:
        text = " ".join(query.split())
        if not text or len(text) > MAX_QUERY_LENGTH:
            return None
        if parse_zip(text) is not None or parse_coordinates(text) is not None:
            return await self._fallback.search(text)
        return await self._ask(
            f"search:{text.casefold()}", text, "city", partial(self._fallback.search, text)
        )

    async def locate(self, address: AddressQuery) -> Place | None:
        if not (address.street.strip() or address.locality.strip() or address.postal_code.strip()):
            return None
        key = "locate:" + json.dumps(
            {k: " ".join(v.split()).casefold() for k, v in asdict(address).items()}, sort_keys=True
        )
        return await self._ask(
            key,
            self._address_query(address),
            "address" if address.street.strip() else "city",
            partial(self._fallback.locate, address),
            country=address.country.strip().lower(),
        )

    def towns_named(self, name: str, country: str) -> list[Place]:
        towns = getattr(self._fallback, "towns_named", None)
        return towns(name, country) if towns else []

    def places_with_postcode(self, code: str) -> list[Place]:
        places = getattr(self._fallback, "places_with_postcode", None)
        return places(code) if places else []

    async def _ask(
        self,
        key: str,
        query: str | dict[str, str],
        precision: Precision,
        fallback: Callable[[], Awaitable[Place | None]],
        country: str = "",
    ) -> Place | None:
        from geopy.exc import GeopyError

        key = f"{self.name}:{key}"
        if self._cache is not None and (cached := await self._cache.get(key)) is not None:
            return _place_from_dict(cached)
        call = partial(self._lookup, query, self._options(country), precision)
        try:
            with anyio.fail_after(self._deadline):
                place = await anyio.to_thread.run_sync(
                    call, limiter=self._turns, abandon_on_cancel=True
                )
        except (GeopyError, TimeoutError) as error:
            logger.warning(
                "geocoder %s failed (%s: %s); answering offline instead",
                self.name,
                type(error).__name__,
                error,
            )
            return await fallback()
        if place is not None and not place.country:
            place = await self._with_offline_country(place)
        if self._cache is not None:
            await self._cache.set(key, asdict(place) if place else {})
        return place

    def _lookup(
        self, query: str | dict[str, str], options: dict[str, Any], precision: Precision
    ) -> Place | None:
        location = self._geocode(query, **options)
        return location_to_place(location, precision) if location is not None else None

    def _options(self, country: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if "addressdetails" in self._parameters:
            options["addressdetails"] = True
        if country and "country_codes" in self._parameters:
            options["country_codes"] = country
        return options

    def _address_query(self, address: AddressQuery) -> str | dict[str, str]:
        from geopy.geocoders import Nominatim

        if isinstance(self._service, Nominatim):  # it understands structured queries
            fields = {
                "street": address.street,
                "city": address.locality,
                "state": address.region,
                "postalcode": address.postal_code,
                "country": address.country,
            }
            return {k: v.strip() for k, v in fields.items() if v.strip()}
        town = f"{address.postal_code.strip()} {address.locality.strip()}".strip()
        parts = (address.street, town, address.region, address.country)
        return ", ".join(p.strip() for p in parts if p.strip())

    async def _with_offline_country(self, place: Place) -> Place:
        """Services whose answers carry no country code: take the nearest known town's."""
        near = await self._fallback.search(f"{place.lat},{place.lon}")
        if near is None or not near.country:
            return place
        return replace(
            place,
            country=near.country,
            region=place.region or near.region,
            locality=place.locality or near.locality,
        )


def location_to_place(location: Location, precision: Precision) -> Place:
    """A geopy answer as a Place; Nominatim's ``address`` details (asked for with
    ``addressdetails``) give the country code, the town and the US state."""
    raw = location.raw if isinstance(location.raw, dict) else {}
    details = raw.get("address")
    address: dict[str, Any] = details if isinstance(details, dict) else {}
    country = str(address.get("country_code", "")).upper()
    region_code = str(address.get("ISO3166-2-lvl4", ""))  # "US-CA"
    precision = _precision_of(raw, address, precision)
    return Place(
        lat=location.latitude,
        lon=location.longitude,
        locality=next((str(address[k]) for k in _LOCALITY_KEYS if address.get(k)), ""),
        region=region_code.partition("-")[2] if country in REGION_COUNTRIES else "",
        postal_code=str(address.get("postcode", "")) if precision != "city" else "",
        country=country,
        timezone=timezone_at(location.latitude, location.longitude),
        precision=precision,
    )


def _precision_of(raw: dict[str, Any], address: dict[str, Any], asked: Precision) -> Precision:
    kind = str(raw.get("addresstype") or raw.get("type") or "")
    if address.get("house_number"):
        return "address"
    if kind == "postcode":
        return "postal_code"
    if kind in _AREA_TYPES:
        return "city"
    return "address" if kind else asked


def _place_from_dict(value: dict[str, Any]) -> Place | None:
    try:
        return Place(**value) if value else None
    except TypeError:  # written by an older Place: treat as unknown rather than fail
        return None


def make_geocoder(
    name: str,
    user_agent: str,
    cache: GeocodeCache | None = None,
    *,
    gazetteer: Gazetteer | None = None,
    **options: Any,
) -> Geocoder:
    """ "offline" -> OfflineGeocoder; a geopy service name -> GeopyGeocoder in front of it.

    A remote geocoder without ``cache`` gets a MemoryGeocodeCache: answers are
    always cached, as public services require.
    """
    offline = OfflineGeocoder(gazetteer)
    service = name.strip().lower()
    if service == "offline":
        return offline
    from geopy.exc import ConfigurationError, GeocoderNotFound

    try:
        return GeopyGeocoder(
            service,
            user_agent,
            fallback=offline,
            cache=cache if cache is not None else MemoryGeocodeCache(),
            **options,
        )
    except GeocoderNotFound:
        raise GeocoderConfigError(
            "KIT_GEOCODER",
            f"{name!r} is neither 'offline' nor a geopy geocoder name such as 'nominatim'",
        ) from None
    except (ConfigurationError, TypeError) as error:  # e.g. a sample user agent, no API key
        if "user_agent" in str(error):
            raise GeocoderConfigError(
                "KIT_GEOCODER_USER_AGENT", f"{user_agent!r} is refused by {service}: {error}"
            ) from None
        raise GeocoderConfigError(
            "KIT_GEOCODER", f"{name!r} can't be used as set up: {error}"
        ) from None
