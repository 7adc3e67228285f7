"""The approximate point shown instead of a home's exact spot.

The displacement is derived from a keyed hash of the meeting's id, so it is
fixed per meeting: asking a thousand times returns the same point, and there is
nothing to average back to the house. Without the secret key the offset can't
be recomputed either.
"""

from __future__ import annotations

import hashlib
import hmac
import math

EARTH_RADIUS_KM = 6371.0088
MIN_OFFSET_KM = 0.5
MAX_OFFSET_KM = 1.5


def approximate_point(lat: float, lon: float, *, key: str, salt: str) -> tuple[float, float]:
    digest = hmac.new(key.encode(), f"approx:{salt}".encode(), hashlib.sha256).digest()
    u1 = int.from_bytes(digest[:8], "big") / 2**64
    u2 = int.from_bytes(digest[8:16], "big") / 2**64
    distance = MIN_OFFSET_KM + (MAX_OFFSET_KM - MIN_OFFSET_KM) * u1
    bearing = 2 * math.pi * u2
    return destination(lat, lon, distance, bearing)


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
