"""What a geocoder answers: a located place, with the zone its clocks keep."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Precision = Literal["address", "postal_code", "city", "point"]


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    locality: str  # city, town or neighborhood
    region: str  # state or province ("NY"), may be empty
    postal_code: str  # may be empty
    country: str  # ISO 3166-1 alpha-2, upper case
    timezone: str  # IANA name, e.g. "America/New_York"
    precision: Precision

    @property
    def label(self) -> str:
        """What a person would call it: "Oakland, CA", "Lyon, FR", "10027 New York, NY"."""
        head = f"{self.postal_code} {self.locality}" if self.postal_code else self.locality
        return f"{head}, {self.region or self.country}"


@dataclass(frozen=True)
class Placement:
    """Where a meeting was placed, as its host is shown it to check: the town and its
    clocks, and the PUBLIC point (a home's pin, never the house)."""

    locality: str
    region: str
    postal_code: str
    country: str
    timezone: str
    lat: float  # the public point
    lon: float
    approximate: bool  # True for a home: the point is its pin, 0.5-1.5 km away

    @property
    def label(self) -> str:
        """ "Portland, ME, US" (the parts that are known)."""
        return ", ".join(part for part in (self.locality, self.region, self.country) if part)

    @property
    def map_url(self) -> str:
        """OpenStreetMap at the public point, zoomed to the town."""
        lat, lon = f"{self.lat:.5f}", f"{self.lon:.5f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=13/{lat}/{lon}"


@dataclass(frozen=True)
class AddressQuery:
    street: str
    locality: str
    postal_code: str
    country: str  # ISO alpha-2
    region: str = ""  # state or province as typed ("OR", "Oregon"), may be empty


class Geocoder(Protocol):
    async def search(self, query: str) -> Place | None:
        """A ZIP code, a town ("Oakland, CA", "Lyon, France") or "lat,lon"."""
        ...

    async def locate(self, address: AddressQuery) -> Place | None:
        """A postal address; at least the ZIP's or the town's area when the street is unknown."""
        ...
