"""The pure half of searching near a point: query parameters, the sort key the
database orders by, and the keyset cursors that page through one search.

Nothing here touches the database (``kit.meetings.search`` runs the queries):
parameters and cursors are refused with the leaf's ``QueryError``.

Distances are measured to each meeting's PUBLIC point, with the plain arithmetic
below (``Origin``): a squared equirectangular distance whose cosines are computed
here and passed in, so SQLite built without trigonometry sorts by it too. Pages
are keyset pages: the cursor carries the last row's sort key (or start) and public
id, and a fingerprint of its search, so page 50 costs what page 2 does and a cursor
can't be replayed against another search.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kit.maps.bbox import LonRanges, QueryError, lon_ranges
from kit.maps.privacy import KM_PER_DEGREE

DEFAULT_RADIUS_KM = 25.0
MAX_RADIUS_KM = 500.0
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# The first circle searched. In a city it already holds a page; in the country
# the growth below reaches 25 km in two or three more (cheap, nearly empty) queries.
FIRST_RADIUS_KM = 2.0
# Below this cosine (about 1.1 degrees from a pole) every longitude is searched.
MIN_COS_LAT = 0.02
MAX_CURSOR_CHARS = 256
DISTANCE, DATE = "distance", "date"
SORTS = (DISTANCE, DATE)


@dataclass(frozen=True, kw_only=True)
class Filters:
    """What every search narrows by, and its page."""

    campaign_id: int | None = None
    starts_from: datetime | None = None  # UTC aware, inclusive
    starts_before: datetime | None = None  # UTC aware, exclusive
    has_space: bool = False
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    now: datetime | None = None


@dataclass(frozen=True)
class NearbyQuery(Filters):
    lat: float
    lon: float
    radius_km: float = DEFAULT_RADIUS_KM
    sort: str = DISTANCE  # or DATE: soonest first


@dataclass(frozen=True, kw_only=True)
class UpcomingQuery(Filters):
    """A campaign's upcoming public meetings anywhere, soonest first: no place, no radius."""

    campaign_id: int


# --- what the API calls to check query parameters ---------------------------------


def parse_radius(text: str | None) -> float:
    if text is None or not text.strip():
        return DEFAULT_RADIUS_KM
    try:
        radius = float(text[:32])
    except ValueError:
        radius = math.nan
    if not math.isfinite(radius):
        raise QueryError("Enter the search radius in km as a number, e.g. 25.", "radius_km")
    check_radius(radius)
    return radius


def check_radius(radius: float) -> None:
    if not radius > 0:
        raise QueryError("The search radius must be more than 0 km.", "radius_km")
    if radius > MAX_RADIUS_KM:
        raise QueryError(
            f"The search radius can be at most {MAX_RADIUS_KM:.0f} km. "
            "To look further away, search near a place in that area.",
            "radius_km",
        )


def parse_limit(text: str | None) -> int:
    if text is None or not text.strip():
        return DEFAULT_LIMIT
    try:
        limit = int(text.strip()[:12])
    except ValueError:
        raise QueryError(
            f"Enter how many results per page as a whole number, 1 to {MAX_LIMIT}.", "limit"
        ) from None
    check_limit(limit)
    return limit


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"Ask for between 1 and {MAX_LIMIT} results per page.", "limit")


def parse_sort(text: str | None) -> str:
    sort = (text or "").strip().lower() or DISTANCE
    check_sort(sort)
    return sort


def check_sort(sort: str) -> None:
    if sort not in SORTS:
        raise QueryError("Sort by “distance” (nearest first) or “date” (soonest first).", "sort")


# --- geometry -----------------------------------------------------------------------


def km_to_key(km: float) -> float:
    """The SQL sort key (squared degrees of latitude) for a distance in km."""
    return (km / KM_PER_DEGREE) ** 2


def key_to_km(key: float) -> float:
    return math.sqrt(max(key, 0.0)) * KM_PER_DEGREE


@dataclass(frozen=True)
class Origin:
    """The search point, and the arithmetic-only distance the database sorts by.

    Squared equirectangular distance in degrees, with the east-west degrees
    scaled by the cosine of the MIDPOINT latitude, itself linearised around the
    origin (cos φm ≈ cos φ0 - sin φ0 · Δφ/2). Against haversine: under 1 m at 25 km,
    under 5 m at 100 km (below 60°), 0.1-0.6 km at 500 km. So the SQL order is the
    order of the distances shown, and the radius is decided by this same measure.
    """

    lat: float
    lon: float
    cos_lat: float
    slope: float  # d(cos φm)/d(lat in degrees)
    wraps: bool  # the largest box crosses the antimeridian or reaches a pole

    @classmethod
    def at(cls, lat: float, lon: float, max_radius_km: float) -> Origin:
        phi = math.radians(lat)
        origin = cls(lat, lon, math.cos(phi), math.sin(phi) * math.pi / 360, wraps=False)
        ranges = origin.box(max_radius_km)[2]
        return cls(lat, lon, origin.cos_lat, origin.slope, ranges is None or len(ranges) > 1)

    def box(self, radius_km: float) -> tuple[float, float, LonRanges | None]:
        """South, north and longitude ranges (None: every longitude) enclosing every row
        with key <= radius²."""
        dlat = radius_km / KM_PER_DEGREE
        south, north = max(-90.0, self.lat - dlat), min(90.0, self.lat + dlat)
        narrowest = self.cos_lat - abs(self.slope) * dlat  # smallest east-west scale in the band
        if narrowest < MIN_COS_LAT or dlat / narrowest >= 180:
            return south, north, None
        dlon = dlat / narrowest
        return south, north, lon_ranges(self.lon - dlon, self.lon + dlon)


# --- the cursor ---------------------------------------------------------------------


@dataclass(frozen=True)
class After:
    """Where the previous page stopped: its last row's sort key and public id."""

    key: float
    public_id: str


@dataclass(frozen=True)
class Since:
    """Where the previous page sorted by date stopped: its last row's start and public id."""

    starts_at: datetime  # UTC aware
    public_id: str


def fingerprint(q: Filters) -> str:
    """Ties a cursor to its search, so it can't be replayed against another one."""
    where = (q.lat, q.lon, q.radius_km) if isinstance(q, NearbyQuery) else ("anywhere",)
    parts: tuple[object, ...] = (
        *where,
        q.campaign_id,
        q.starts_from and q.starts_from.timestamp(),
        q.starts_before and q.starts_before.timestamp(),
        q.has_space,
    )
    if not isinstance(q, NearbyQuery) or q.sort != DISTANCE:
        # Only other sorts add a part: links to nearest-first pages made before sorting
        # existed keep working.
        parts += (DATE,)
    return hashlib.blake2b(repr(parts).encode(), digest_size=6).hexdigest()


def encode_cursor(after: After | Since, search: str) -> str:
    if isinstance(after, After):
        data: dict[str, object] = {"d": after.key, "id": after.public_id, "q": search}
    else:
        data = {"t": after.starts_at.isoformat(), "id": after.public_id, "q": search}
    raw = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


DAMAGED = "This page link is damaged. Start the search again from the first page."


def cursor_data(text: str, search: str, key: str) -> tuple[Any, str]:
    """The cursor's sort key (its ``key`` field, unchecked) and public id; a 400 for a
    damaged cursor or one made by another search (another place, filter or sort)."""
    if len(text) > MAX_CURSOR_CHARS:
        raise QueryError(DAMAGED, "cursor")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        data = json.loads(raw)
    except ValueError:  # bad base64, bad UTF-8 and bad JSON are all ValueErrors
        raise QueryError(DAMAGED, "cursor") from None
    if not isinstance(data, dict) or set(data) != {key, "id", "q"}:
        if isinstance(data, dict) and data.get("q") not in (None, search):
            raise QueryError(FOREIGN, "cursor")
        raise QueryError(DAMAGED, "cursor")
    public_id = data["id"]
    if not isinstance(public_id, str) or not 0 < len(public_id) <= 16:
        raise QueryError(DAMAGED, "cursor")
    if data["q"] != search:
        raise QueryError(FOREIGN, "cursor")
    return data[key], public_id


FOREIGN = "This page link belongs to a different search. Start again from page one."


def decode_cursor(text: str, search: str) -> After:
    key, public_id = cursor_data(text, search, "d")
    if isinstance(key, bool) or not isinstance(key, int | float) or not 0 <= key < math.inf:
        raise QueryError(DAMAGED, "cursor")
    return After(float(key), public_id)


def decode_date_cursor(text: str, search: str) -> Since:
    stamp, public_id = cursor_data(text, search, "t")
    try:
        starts_at = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
        if starts_at is None or starts_at.utcoffset() is None:
            raise ValueError("not an aware datetime")
        return Since(starts_at.astimezone(UTC), public_id)
    except (ValueError, OverflowError):  # year 1 with an offset overflows in UTC
        raise QueryError(DAMAGED, "cursor") from None


# --- checks --------------------------------------------------------------------------


def check_query(q: NearbyQuery) -> None:
    if not (math.isfinite(q.lat) and math.isfinite(q.lon)):
        raise QueryError("The search point must be a latitude and a longitude.", "near")
    if not (-90 <= q.lat <= 90 and -180 <= q.lon <= 180):
        raise QueryError(
            "Latitude must be between -90 and 90, longitude between -180 and 180.", "near"
        )
    check_radius(q.radius_km)
    check_sort(q.sort)
    check_filters(q)


def check_filters(q: Filters) -> None:
    check_limit(q.limit)
    for name in ("starts_from", "starts_before", "now"):
        require_aware(getattr(q, name), name)


def wider_radius(radius: float, inner_km: float, found: int, wanted: int, cap: float) -> float:
    """Guess the circle holding ``wanted`` rows from the density seen so far, plus a margin."""
    if found == 0:
        grown = radius * 4
    else:
        ring = radius**2 - inner_km**2  # the area searched, up to π
        grown = math.sqrt(inner_km**2 + ring * wanted / found * 1.5)
    return min(cap, max(radius * 2, min(grown, radius * 8)))


def require_aware(value: datetime | None, name: str) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
