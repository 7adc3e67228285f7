"""Where a meeting appears to the public: a venue at its door, a home at a pin nearby.

A public venue (a library, a café) is shown at its exact point. Its address is public
anyway, and search distances are measured to the point shown, so distances teach
nothing that the map doesn't already say.

A home is shown at a pin 0.5-1.5 km away, drawn from a keyed hash of the PLACE, never
of the meeting:

- every meeting held at one home shares one pin, so forty meetings give an averaging
  attacker one point, not forty independent offsets whose mean lands on the house;
- a move to another place draws a fresh pin, unrelated to anything shown before, so
  there is no offset to learn at a café (by trilateration) and subtract at the home;
- without the secret key the pin can't be recomputed, nor a place tried against it.

The place is the exact point's cell in a grid of ``CELL_KM`` squares, and the pin is
drawn from the cell, not added to the exact point as an offset. Why cells of 20 m:

- two geocodes of one address (the cached answer again, a float that went through
  JSON, a provider's few centimetres) fall in one cell, so they share a pin; only a
  point within centimetres of a cell's edge can fall on the other side;
- a neighbor in the same cell gets the same pin, not the same offset: knowing your own
  house and its pin tells you only that theirs is within a cell of yours;
- homes farther apart than a cell's diagonal (28 m) are never in one cell, so they get
  unrelated pins. Larger cells would put a whole block behind one pin; smaller ones
  would split one address's geocodes.

Stdlib only: a leaf that knows nothing of the kit.
"""

from __future__ import annotations

import hashlib
import hmac
import math

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180  # along a meridian
MIN_OFFSET_KM = 0.5
MAX_OFFSET_KM = 1.5
CELL_KM = 0.02
# kit.store.models.VenueKind.PUBLIC (a leaf imports nothing of the kit; a test keeps them equal).
PUBLIC_VENUE = "public"
# Near the poles a cell's longitude span would grow without bound; nobody hosts there.
MIN_COS_LAT = 0.01
# The drawn distance stays this far inside the bounds, so that every point of the
# cell (up to half a diagonal from its centre) is MIN..MAX km from the pin.
CELL_MARGIN_KM = CELL_KM * math.sqrt(2) / 2 + 0.001


def public_point(kind: str, lat: float, lon: float, *, key: str) -> tuple[float, float]:
    """The point the public sees, and that search distances are measured to."""
    if kind == PUBLIC_VENUE:
        return lat, lon
    return home_pin(lat, lon, key=key)


def home_pin(lat: float, lon: float, *, key: str) -> tuple[float, float]:
    """The same pin for every point of one cell; unrelated pins for different cells."""
    row, column = place_cell(lat, lon)
    digest = hmac.new(key.encode(), f"home-pin:v2:{row}:{column}".encode(), hashlib.sha256)
    u1, u2 = unit_pair(digest.digest())
    low, high = MIN_OFFSET_KM + CELL_MARGIN_KM, MAX_OFFSET_KM - CELL_MARGIN_KM
    centre_lat, centre_lon = cell_centre(row, column)
    return destination(centre_lat, centre_lon, low + (high - low) * u1, 2 * math.pi * u2)


def place_cell(lat: float, lon: float) -> tuple[int, int]:
    """(row, column) of the CELL_KM square holding the point.

    Rows are bands of latitude; within a row, columns are as wide in km as rows are
    tall (the row's centre latitude sets their width in degrees), so cells are
    squares everywhere rather than slivers near the poles.
    """
    step = CELL_KM / KM_PER_DEGREE
    row = math.floor((lat + 90) / step)
    column = math.floor((lon + 180) / column_width(row))
    return row, column


def cell_centre(row: int, column: int) -> tuple[float, float]:
    step = CELL_KM / KM_PER_DEGREE
    return -90 + (row + 0.5) * step, -180 + (column + 0.5) * column_width(row)


def column_width(row: int) -> float:
    """A column's width in degrees of longitude: CELL_KM at the row's centre latitude."""
    step = CELL_KM / KM_PER_DEGREE
    centre_lat = -90 + (row + 0.5) * step
    return step / max(MIN_COS_LAT, math.cos(math.radians(centre_lat)))


def unit_pair(digest: bytes) -> tuple[float, float]:
    """Two independent uniform numbers in [0, 1) from a hash."""
    return (
        int.from_bytes(digest[:8], "big") / 2**64,
        int.from_bytes(digest[8:16], "big") / 2**64,
    )


def destination(lat: float, lon: float, distance_km: float, bearing: float) -> tuple[float, float]:
    """The point ``distance_km`` away along ``bearing`` (radians) on a sphere."""
    phi1, lam1 = math.radians(lat), math.radians(lon)
    delta = distance_km / EARTH_RADIUS_KM
    phi2 = math.asin(
        math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(bearing)
    )
    lam2 = lam1 + math.atan2(
        math.sin(bearing) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * math.sin(phi2),
    )
    lon2 = (math.degrees(lam2) + 540) % 360 - 180
    return round(math.degrees(phi2), 6), round(lon2, 6)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance; within 0.5 % of geodesic, which is plenty for "km away"."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
