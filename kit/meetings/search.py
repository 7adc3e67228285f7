"""Public meeting searches: near a point, a campaign's upcoming list, the map's box.

The pure parts (query parameters, the sort key, cursors, boxes) are maps leaves
(``kit.maps.cursors``, ``kit.maps.bbox``); here they meet the database, and a leaf's
``QueryError`` becomes the kit's ValidationError (one 400 for the web to render).

Every search reads many meetings per request on hot paths, so it skips the ORM's
query building and writes SQL that SQLite and PostgreSQL both plan onto the
(approx_lat, approx_lon) index, reading only the columns the public view needs.
Distances are measured to each meeting's PUBLIC point, the point the map shows
(``kit.maps.privacy.public_point``): never to a home's exact spot (three distances
would give the house away by trilateration), and never to a hidden point other than
the one shown.

How nearest-first stays fast at a million meetings with the plain btree index:
a bounding box on the indexed columns, then ordering by ``Origin``'s arithmetic-only
distance; the box grows from a small circle until it holds one more meeting than the
page needs (or reaches ``radius_km``), so a dense city sorts a hundred rows instead of
tens of thousands; keyset pagination; haversine in Python for the page's rows only;
campaigns for the whole page in one query.

Sorted by date (``sort="date"``, soonest first) the box can't grow from the centre:
the soonest meeting may be at the edge. The whole radius's box is read on the same
index and sorted by (starts_at, public_id), which costs what the radius holds (about
7,000 rows for 25 km around Manhattan at a million meetings worldwide: tens of ms, not
the nearest-first search's 2 ms); wide searches first try the next meetings in start
order (``fetch_soonest``). A campaign's meetings without a place (``list_upcoming``)
have no box at all. Both are paged by a keyset on (starts_at, public_id).

The map's box (``meetings_in_bbox``) is matched against the same public point each
feature shows (``feature_collection``, built from ``public_meeting()``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kit.core.errors import ValidationError
from kit.maps import bbox, cursors
from kit.maps.bbox import QueryError
from kit.maps.cursors import (
    DATE,
    FIRST_RADIUS_KM,
    After,
    Filters,
    NearbyQuery,
    Origin,
    Since,
    UpcomingQuery,
    check_filters,
    check_query,
    decode_cursor,
    decode_date_cursor,
    encode_cursor,
    fingerprint,
    key_to_km,
    km_to_key,
    require_aware,
    wider_radius,
)
from kit.maps.geojson import features_to_collection, public_to_feature
from kit.maps.privacy import haversine_km
from kit.meetings.public import listed_sql, public_meeting
from kit.store.models import Campaign, Meeting
from kit.store.sql import SqlParams, as_datetime

MAX_FEATURES = 2000


@dataclass(frozen=True)
class NearbyPage:
    # (meeting with its campaign loaded, km to its public point rounded to 0.1)
    items: list[tuple[Meeting, float]]
    next_cursor: str | None


@dataclass(frozen=True)
class UpcomingPage:
    items: list[Meeting]  # with their campaigns loaded
    next_cursor: str | None


# --- the leaves' refusals, as the kit's --------------------------------------------


@contextmanager
def refused_as_validation() -> Iterator[None]:
    """A leaf's QueryError as the kit's ValidationError (the same field and message)."""
    try:
        yield
    except QueryError as error:
        raise ValidationError(error.fields) from None


def parse_radius(text: str | None) -> float:
    with refused_as_validation():
        return cursors.parse_radius(text)


def parse_limit(text: str | None) -> int:
    with refused_as_validation():
        return cursors.parse_limit(text)


def parse_sort(text: str | None) -> str:
    with refused_as_validation():
        return cursors.parse_sort(text)


def parse_bbox(text: str | None) -> bbox.Box:
    with refused_as_validation():
        return bbox.parse_bbox(text)


# --- the SQL shared by every search ---------------------------------------------

# What public_meeting() reads, and nothing else. Not the exact lat/lon: every meeting
# is shown at its public point (a public venue's is its exact one), so a home's exact
# point never leaves the database on these paths.
PUBLIC_COLUMNS = (
    "id",
    "public_id",
    "campaign_id",
    "title",
    "starts_at",
    "ends_at",
    "timezone",
    "kind",
    "venue_name",
    "street",
    "locality",
    "region",
    "postal_code",
    "country",
    "approx_lat",
    "approx_lon",
    "capacity",
    "seats_taken",
    "status",
    "visibility",
)


def public_upcoming_sql(
    p: SqlParams, now: datetime, campaign_id: int | None, *, by_location: bool = True
) -> list[str]:
    """Conditions for a listed meeting (``kit.meetings.public.is_listed``), of the
    campaign when one is given.

    ``by_location``: the query also bounds (approx_lat, approx_lon), and SQLite must use
    that index; without it (a campaign's list, no place) the planner may pick another.
    """
    column = p.filter_only if by_location else str
    conditions = listed_sql(p, now, column)
    if campaign_id is not None:
        conditions.append(f"{column('campaign_id')} = {p.add(campaign_id)}")
    return conditions


def lon_ranges_sql(p: SqlParams, ranges: Sequence[tuple[float, float]]) -> str:
    """approx_lon within any of the ranges (two when a box crosses the antimeridian)."""
    parts = [f"approx_lon BETWEEN {p.real(west)} AND {p.real(east)}" for west, east in ranges]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def columns_sql() -> str:
    return ", ".join(PUBLIC_COLUMNS)


async def meetings_from_rows(rows: Iterable[dict[str, Any]]) -> list[Meeting]:
    """Meeting objects from raw rows, with their campaigns, as select_related would give.

    They hold PUBLIC_COLUMNS only (Tortoise marks them partial): enough for
    public_meeting(), not for saving.
    """
    meetings = [Meeting._init_from_db(**_python_values(row)) for row in rows]
    ids = {m.campaign_id for m in meetings if m.campaign_id is not None}  # type: ignore[attr-defined]
    campaigns = await campaigns_by_id(ids)
    for meeting in meetings:
        # The slot select_related("campaign") fills; `meeting.campaign` reads it.
        object.__setattr__(meeting, "_campaign", campaigns.get(meeting.campaign_id))  # type: ignore[attr-defined]
    return meetings


def _python_values(row: dict[str, Any]) -> dict[str, Any]:
    values = {c: row[c] for c in PUBLIC_COLUMNS}
    for column in ("starts_at", "ends_at"):
        if isinstance(values[column], str):
            # SQLite hands back text; the C parser is ~10x faster than the one
            # Tortoise would use, and this is the hottest part of building a page.
            values[column] = datetime.fromisoformat(values[column])
    return values


async def campaigns_by_id(ids: set[int]) -> dict[int, Campaign]:
    """Whole campaigns in one raw query (the ORM's query building costs 0.1-0.2 ms a page)."""
    if not ids:
        return {}
    conn = Campaign._meta.db
    p = SqlParams(conn.capabilities.dialect)
    columns = ", ".join(Campaign._meta.fields_db_projection.values())
    placeholders = ", ".join(p.add(i) for i in sorted(ids))
    sql = f"SELECT {columns} FROM campaign WHERE id IN ({placeholders})"
    rows = await conn.execute_query_dict(sql, p.values)
    return {row["id"]: Campaign._init_from_db(**row) for row in rows}


# --- near a point, and a campaign's list --------------------------------------


async def find_nearby(q: NearbyQuery) -> NearbyPage:
    """Published public upcoming meetings within ``radius_km`` of the point, nearest
    first, or soonest first with ``sort="date"``."""
    with refused_as_validation():
        check_query(q)
        search = fingerprint(q)
    origin = Origin.at(q.lat, q.lon, q.radius_km)
    now = q.now or datetime.now(UTC)
    if q.sort == DATE:
        since = date_cursor(q.cursor, search)
        rows = await fetch_soonest(q, origin, now, since)
        return with_distances(q, *(await date_page(q.limit, rows, search)))
    with refused_as_validation():
        after = decode_cursor(q.cursor, search) if q.cursor else None
    inner_km = key_to_km(after.key) if after else 0.0
    radius = min(q.radius_km, max(FIRST_RADIUS_KM, inner_km * 1.5))
    while True:
        rows = await fetch_within(q, origin, radius, after, now)
        # Enough rows inside this circle: nothing outside it can come before them.
        if len(rows) > q.limit or radius >= q.radius_km:
            break
        radius = wider_radius(radius, inner_km, len(rows), q.limit + 1, q.radius_km)
    return await to_page(q, rows, search)


async def list_upcoming(q: UpcomingQuery) -> UpcomingPage:
    """A campaign's published public upcoming meetings, wherever they are, soonest first."""
    with refused_as_validation():
        check_filters(q)
    search = fingerprint(q)
    since = date_cursor(q.cursor, search)
    rows = await fetch_upcoming(q, q.now or datetime.now(UTC), since)
    return UpcomingPage(*(await date_page(q.limit, rows, search)))


def date_cursor(text: str | None, search: str) -> Since | None:
    with refused_as_validation():
        return decode_date_cursor(text, search) if text else None


def filters_sql(p: SqlParams, q: Filters, now: datetime, *, by_location: bool = True) -> list[str]:
    """The public-listing rule and the query's own filters, as SQL conditions."""
    column = p.filter_only if by_location else str
    where = public_upcoming_sql(p, now, q.campaign_id, by_location=by_location)
    if q.starts_from is not None:
        where.append(f"{column('starts_at')} >= {p.time(q.starts_from)}")
    if q.starts_before is not None:
        where.append(f"{column('starts_at')} < {p.time(q.starts_before)}")
    if q.has_space:
        where.append("seats_taken < capacity")
    return where


def box_sql(p: SqlParams, origin: Origin, radius_km: float) -> list[str]:
    """The bounding box on the (approx_lat, approx_lon) index."""
    south, north, lon_ranges = origin.box(radius_km)
    where = [f"approx_lat BETWEEN {p.real(south)} AND {p.real(north)}"]
    if lon_ranges is not None:
        where.append(lon_ranges_sql(p, lon_ranges))
    return where


async def fetch_within(
    q: NearbyQuery, origin: Origin, radius_km: float, after: After | None, now: datetime
) -> list[dict[str, Any]]:
    """Up to limit + 1 rows with key <= radius², after the cursor, in order."""
    conn = Meeting._meta.db
    p = SqlParams(conn.capabilities.dialect)
    key = key_sql(origin, p)
    where = box_sql(p, origin, radius_km) + filters_sql(p, q, now)
    outer = [f"k <= {p.real(km_to_key(radius_km))}"]
    if after is not None:
        d, pid = p.real(after.key), p.add(after.public_id)
        outer.append(f"(k > {d} OR (k = {d} AND public_id > {pid}))")
    sql = (
        f"SELECT * FROM (SELECT {columns_sql()}, {key} AS k FROM meeting "
        f"WHERE {' AND '.join(where)}) AS candidate "
        f"WHERE {' AND '.join(outer)} ORDER BY k, public_id LIMIT {p.add(q.limit + 1)}"
    )
    return await conn.execute_query_dict(sql, p.values)


def since_sql(p: SqlParams, since: Since, starts: str = "starts_at") -> str:
    """After the cursor in (starts_at, public_id) order."""
    t, pid = p.time(since.starts_at), p.add(since.public_id)
    # The first bound alone is a range on starts_at an index can seek to.
    return f"{starts} >= {t} AND ({starts} > {t} OR public_id > {pid})"


def soonest_sql(
    p: SqlParams, q: Filters, now: datetime, since: Since | None, *, by_location: bool
) -> list[str]:
    where = filters_sql(p, q, now, by_location=by_location)
    if since is not None:
        where.append(
            since_sql(p, since, p.filter_only("starts_at") if by_location else "starts_at")
        )
    return where


SOONEST = "ORDER BY starts_at, public_id LIMIT"


async def fetch_upcoming(q: Filters, now: datetime, since: Since | None) -> list[dict[str, Any]]:
    """Up to limit + 1 rows after the cursor, soonest first, wherever they are (SQLite
    walks the (status, starts_at) index)."""
    conn = Meeting._meta.db
    p = SqlParams(conn.capabilities.dialect)
    where = " AND ".join(soonest_sql(p, q, now, since, by_location=False))
    sql = f"SELECT {columns_sql()} FROM meeting WHERE {where} {SOONEST} {p.add(q.limit + 1)}"
    return await conn.execute_query_dict(sql, p.values)


async def fetch_soonest(
    q: NearbyQuery, origin: Origin, now: datetime, since: Since | None
) -> list[dict[str, Any]]:
    """Up to limit + 1 rows inside the radius after the cursor, soonest first.

    Two ways, each fast where the other is slow. Reading the circle's box costs what
    the circle holds: quick for a town's 25 km, slow for 500 km. Walking the next
    upcoming meetings anywhere in start order finds a page quickly when the circle
    holds a good share of them (a wide one), and is wasted work when it holds few. So
    wide searches walk WALK_ROWS meetings first and read the box only when those hold
    no page. Measured at a million meetings spread over the world's cities (p50, both
    databases alike): box only 28 ms at 25 km, 50 ms at 100 km, 130-200 ms at 500 km;
    walking first 43, 50 and 21 ms.
    """
    if q.radius_km >= WALK_FROM_KM:
        rows = await fetch_soonest_walking(q, origin, now, since)
        if len(rows) > q.limit:
            return rows
    return await fetch_soonest_in_box(q, origin, now, since)


WALK_FROM_KM = 100.0
# Upcoming meetings read in start order before falling back to the box (a few ms).
WALK_ROWS = 2000


async def fetch_soonest_walking(
    q: NearbyQuery, origin: Origin, now: datetime, since: Since | None
) -> list[dict[str, Any]]:
    conn = Meeting._meta.db
    p = SqlParams(conn.capabilities.dialect)
    walk = " AND ".join(soonest_sql(p, q, now, since, by_location=False))
    # A prefix of the (starts_at, public_id) order, so whatever it holds inside the
    # circle comes, in this order, before anything after it.
    walked = f"SELECT {columns_sql()} FROM meeting WHERE {walk} {SOONEST} {p.add(WALK_ROWS)}"
    inside = box_sql(p, origin, q.radius_km)
    inside.append(f"{key_sql(origin, p)} <= {p.real(km_to_key(q.radius_km))}")
    sql = (
        f"SELECT {columns_sql()} FROM ({walked}) AS walked WHERE {' AND '.join(inside)} "
        f"{SOONEST} {p.add(q.limit + 1)}"
    )
    return await conn.execute_query_dict(sql, p.values)


async def fetch_soonest_in_box(
    q: NearbyQuery, origin: Origin, now: datetime, since: Since | None
) -> list[dict[str, Any]]:
    conn = Meeting._meta.db
    p = SqlParams(conn.capabilities.dialect)
    where = box_sql(p, origin, q.radius_km) + soonest_sql(p, q, now, since, by_location=True)
    sql = (
        f"SELECT {columns_sql()} FROM (SELECT {columns_sql()}, {key_sql(origin, p)} AS k "
        f"FROM meeting WHERE {' AND '.join(where)}) AS candidate "
        f"WHERE k <= {p.real(km_to_key(q.radius_km))} {SOONEST} {p.add(q.limit + 1)}"
    )
    return await conn.execute_query_dict(sql, p.values)


async def to_page(q: NearbyQuery, rows: list[dict[str, Any]], search: str) -> NearbyPage:
    shown = rows[: q.limit]
    next_cursor = None
    if len(rows) > q.limit:
        last = shown[-1]
        next_cursor = encode_cursor(After(float(last["k"]), last["public_id"]), search)
    return with_distances(q, await meetings_from_rows(shown), next_cursor)


async def date_page(
    limit: int, rows: list[dict[str, Any]], search: str
) -> tuple[list[Meeting], str | None]:
    """The page's meetings (with campaigns) and the cursor after its last one."""
    shown = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = shown[-1]
        starts_at = as_datetime(last["starts_at"])
        assert starts_at is not None  # a NOT NULL column
        next_cursor = encode_cursor(Since(starts_at.astimezone(UTC), last["public_id"]), search)
    return await meetings_from_rows(shown), next_cursor


def with_distances(q: NearbyQuery, meetings: list[Meeting], next_cursor: str | None) -> NearbyPage:
    items = [
        (m, round(haversine_km(q.lat, q.lon, m.approx_lat, m.approx_lon), 1)) for m in meetings
    ]
    return NearbyPage(items, next_cursor)


def key_sql(origin: Origin, p: SqlParams) -> str:
    """``Origin``'s sort key over (approx_lat, approx_lon), in SQL."""
    lat, lon = p.real(origin.lat), p.real(origin.lon)
    dy = f"(approx_lat - {lat})"
    dlon = f"(approx_lon - {lon})"
    if origin.wraps:
        # Always the same expression for one search, so a cursor's key compares exactly.
        dlon = (
            f"({dlon} + CASE WHEN {dlon} > 180 THEN -360.0 "
            f"WHEN {dlon} < -180 THEN 360.0 ELSE 0.0 END)"
        )
    dx = f"({dlon} * ({p.real(origin.cos_lat)} - {p.real(origin.slope)} * {dy}))"
    return f"({dy} * {dy} + {dx} * {dx})"


# --- the map's box ---------------------------------------------------------------


async def meetings_in_bbox(
    west: float,
    south: float,
    east: float,
    north: float,
    *,
    campaign_id: int | None = None,
    now: datetime | None = None,
    limit: int = MAX_FEATURES,
) -> list[Meeting]:
    """Published public upcoming meetings whose public point is in the box, soonest first.

    At most ``limit``: a box holding more (a whole continent) gets ``limit`` of them,
    taken in index order rather than sorted, so a huge box stays as cheap as a small
    one. A result of exactly ``limit`` means "zoom in to see them all".
    """
    require_aware(now, "now")
    conn = Meeting._meta.db
    p = SqlParams(conn.capabilities.dialect)
    where = [f"approx_lat BETWEEN {p.real(south)} AND {p.real(north)}"]
    ranges = bbox.lon_ranges(west, east)
    if ranges != [(-180.0, 180.0)]:
        where.append(lon_ranges_sql(p, ranges))
    where += public_upcoming_sql(p, now or datetime.now(UTC), campaign_id)
    sql = f"SELECT {columns_sql()} FROM meeting WHERE {' AND '.join(where)} LIMIT {p.add(limit)}"
    meetings = await meetings_from_rows(await conn.execute_query_dict(sql, p.values))
    meetings.sort(key=lambda m: (m.starts_at, m.public_id))
    return meetings


def meeting_to_feature(meeting: Meeting, base_url: str) -> dict[str, Any]:
    return public_to_feature(public_meeting(meeting, base_url))


def feature_collection(meetings: Iterable[Meeting], base_url: str) -> dict[str, Any]:
    return features_to_collection(meeting_to_feature(m, base_url) for m in meetings)
