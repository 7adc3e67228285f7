"""Boxes on the map: ``west,south,east,north`` as the map asks for them, and the
longitude ranges a box covers (two when it crosses the antimeridian).

``QueryError`` is how the maps leaves refuse a query; the search that calls them
(``kit.meetings.search``) turns it into the kit's ValidationError, the one 400.
"""

from __future__ import annotations

import math

Box = tuple[float, float, float, float]  # west, south, east, north
LonRanges = list[tuple[float, float]]

BBOX_HELP = "Give the map's box as west,south,east,north in degrees, e.g. -74.1,40.6,-73.8,40.9."


class QueryError(ValueError):
    """A query parameter that can't be searched: ``message`` is safe to show the user."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def fields(self) -> dict[str, str]:
        return {self.field: self.message}


def parse_bbox(text: str | None) -> Box:
    """``west,south,east,north``; west > east is a box across the antimeridian."""
    parts = (text or "").split(",")
    if len(parts) != 4 or len(text or "") > 200:
        raise QueryError(BBOX_HELP, "bbox")
    try:
        west, south, east, north = (float(part) for part in parts)
    except ValueError:
        raise QueryError(BBOX_HELP, "bbox") from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise QueryError(BBOX_HELP, "bbox")
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise QueryError("Longitudes (west, east) must be between -180 and 180.", "bbox")
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise QueryError("Latitudes (south, north) must be between -90 and 90.", "bbox")
    if south > north:
        raise QueryError("The box's south edge must not be north of its north edge.", "bbox")
    return west, south, east, north


def lon_ranges(west: float, east: float) -> LonRanges:
    """The longitudes from ``west`` eastwards to ``east``, as ranges within [-180, 180].

    A box across the antimeridian is given either as west > east (the map's bbox) or
    with an edge past ±180 (a circle's box around a point near it): both split in two.
    """
    if west < -180:
        return [(west + 360, 180.0), (-180.0, east)]
    if east > 180:
        return [(west, 180.0), (-180.0, east - 360)]
    if west > east:
        return [(west, 180.0), (-180.0, east)]
    return [(west, east)]
