"""Distances as people near the searched place say them: miles or kilometres.

Searches run in kilometres (the API's ``radius_km``); only what the find page
shows and offers is in the searched place's own unit, so a neighbor in Ohio reads
"within 15 mi" and one in Lyon "within 25 km".
"""

from __future__ import annotations

from dataclasses import dataclass

# Where road signs count in miles.
MILE_COUNTRIES = frozenset({"US", "GB", "LR", "MM", "PR", "GU", "VI", "AS", "MP"})


@dataclass(frozen=True)
class DistanceUnit:
    symbol: str
    km: float  # kilometres in one unit
    radii: tuple[int, ...]  # the search radii the find page offers, in this unit
    default_radius: int

    def to_km(self, amount: float) -> float:
        return amount * self.km

    def show(self, km: float) -> str:
        """'2.4 mi', '15 mi', '0.3 km': one decimal under ten, whole numbers otherwise."""
        amount = km / self.km
        if amount < 9.95 and abs(amount - round(amount)) >= 0.05:
            return f"{amount:.1f} {self.symbol}"
        return f"{round(amount)} {self.symbol}"

    def radius_choices(self) -> list[tuple[int, float]]:
        """(radius in this unit, the same in km) for each radius offered."""
        return [(radius, self.to_km(radius)) for radius in self.radii]

    def wider_than(self, km: float) -> tuple[int, float] | None:
        """The next radius offered beyond ``km``, or None past the last."""
        return next(((r, k) for r, k in self.radius_choices() if k > km * 1.001), None)


KILOMETRES = DistanceUnit("km", 1.0, (10, 25, 50, 100, 250), 25)
MILES = DistanceUnit("mi", 1.609344, (5, 15, 30, 60, 150), 15)


def unit_for(country: str) -> DistanceUnit:
    """The unit people in ``country`` (ISO 3166 alpha-2) read distances in."""
    return MILES if country.upper() in MILE_COUNTRIES else KILOMETRES
