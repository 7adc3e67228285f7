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
