"""How wide the first circle of a nearby search should be, learned from the searches
before it in the same area.

A search reads the circle ``FIRST_RADIUS_KM`` wide first and widens it from the
density it found until the circle holds a page (``kit.meetings.search.find_nearby``).
With one fixed first circle, a town of a few meetings pays two or three queries for
every search, and a city centre sorts thousands of rows it doesn't show. So each
search leaves a hint for its square of the map (``CELL_DEGREES`` on a side, with its
filters, since a campaign's meetings are sparser than everyone's): the distance of
the row just past its page, the circle that held exactly one page plus one, with a
margin. The next search there starts at that circle, and is most often answered by
one query.

A hint only decides where the loop starts, never what it returns: a circle too small
is widened as before, one too large only sorts more rows, and the next search's hint
is measured again from what it found. So the hints are per process, unshared and
bounded (the least recently used are dropped), and losing them costs a query.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from kit.maps.cursors import FIRST_RADIUS_KM, Filters

# About 5 km of latitude: one town, or a part of a city with one density.
CELL_DEGREES = 0.05
MAX_CELLS = 20_000
# The page's last row is a sample of one: start a little wider than it was.
MARGIN = 1.25


@dataclass(frozen=True)
class Hint:
    radius_km: float  # the circle that held ``rows`` meetings; inf: not even the whole radius
    rows: int


Key = tuple[int, int, int | None, bool, bool]


def cell_key(lat: float, lon: float, q: Filters) -> Key:
    windowed = q.starts_from is not None or q.starts_before is not None
    return (
        math.floor(lat / CELL_DEGREES),
        math.floor(lon / CELL_DEGREES),
        q.campaign_id,
        windowed,
        q.has_space,
    )


class FirstCircles:
    """The hints, by cell and filters."""

    def __init__(self, max_cells: int = MAX_CELLS) -> None:
        self.max_cells = max_cells
        self._hints: OrderedDict[Key, Hint] = OrderedDict()

    def __len__(self) -> int:
        return len(self._hints)

    def first_radius(self, lat: float, lon: float, q: Filters, cap_km: float) -> float:
        """Where a search for ``q.limit + 1`` rows should start."""
        key = cell_key(lat, lon, q)
        hint = self._hints.get(key)
        if hint is None:
            return min(cap_km, FIRST_RADIUS_KM)
        self._hints.move_to_end(key)
        if math.isinf(hint.radius_km):
            return cap_km
        # The area of a circle grows with the square of its radius: twice the rows,
        # √2 times as wide, at the density the hint saw.
        wanted = q.limit + 1
        return min(cap_km, max(0.1, hint.radius_km * math.sqrt(wanted / hint.rows) * MARGIN))

    def learn(self, lat: float, lon: float, q: Filters, found: int, last_km: float) -> None:
        """What a first page found: ``found`` rows (at most ``q.limit + 1``), the last of
        them ``last_km`` away."""
        if found > q.limit:
            hint = Hint(max(last_km, 0.05), found)
        else:
            # The whole radius held less than a page: next time, read it all at once.
            hint = Hint(math.inf, max(found, 1))
        key = cell_key(lat, lon, q)
        self._hints[key] = hint
        self._hints.move_to_end(key)
        while len(self._hints) > self.max_cells:
            self._hints.popitem(last=False)

    def clear(self) -> None:
        self._hints.clear()


# One per process (each worker learns its own; see the module's docstring).
FIRST_CIRCLES = FirstCircles()
