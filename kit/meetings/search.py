"""Public meeting searches: near a point, a campaign's upcoming list, the map's box.

The pure parts (query parameters, the sort key, cursors, boxes) are maps leaves
(``kit.maps.cursors``, ``kit.maps.bbox``); here they meet the database, and a leaf's
``QueryError`` becomes the kit's ValidationError (one 400 for the web to render).

Every search reads many meetings per request on hot paths, so it skips the ORM's
query building and writes SQL, reading only the columns the public view needs.
Distances are measured to each meeting's PUBLIC point, the point the map shows
(``kit.maps.privacy.public_point``): never to a home's exact spot (three distances
would give the house away by trilateration), and never to a hidden point other than
the one shown.

How nearest-first stays fast at a million meetings: a spatial index on the public
point of every published public meeting (SQLite's R*Tree, PostgreSQL's GiST; see
``kit/store/migrations/0012_spatial_index.py``) finds the meetings in a bounding box,
ordered by ``Origin``'s arithmetic-only distance; the box grows from a small circle
until it holds one more meeting than the page needs (or reaches ``radius_km``), so a
dense city sorts a few hundred index entries instead of tens of thousands. The page is
cut from the index's candidates first and only its own rows are read whole, with their
campaigns, in the same query (``page_sql``); keyset pagination; haversine in Python for
the page's rows only. One query shape on both databases (``near_sql`` differs only in
how the index is named), checked against reading every meeting on random data
(``tests/meetings/test_spatial_index.py``).

Sorted by date (``sort="date"``, soonest first) the box can't grow from the centre:
the soonest meeting may be at the edge. The whole radius's box is read on the same
index and sorted by (starts_at, public_id), which costs what the radius holds; wide
searches first try the next meetings in start order (``fetch_soonest``). A campaign's
meetings without a place (``list_upcoming``) have no box at all. Both are paged by a
keyset on (starts_at, public_id).

The map's box (``meetings_in_bbox``) is matched against the same public point each
feature shows (``feature_collection``, built from ``public_meeting()``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
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
from kit.maps.first_circle import FIRST_CIRCLES
from kit.maps.geojson import features_to_collection, public_to_feature
from kit.maps.privacy import haversine_km
from kit.meetings.public import listed_sql, public_meeting
from kit.store.models import Campaign, Meeting
from kit.store.sql import SqlParams, as_datetime, partial_model, query_dicts

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
    return filters_sql(p, Filters(campaign_id=campaign_id), now, column)


def lon_ranges_sql(p: SqlParams, ranges: Sequence[tuple[float, float]], table: str = "") -> str:
    """approx_lon within any of the ranges (two when a box crosses the antimeridian)."""
    return any_of([f"{table}approx_lon BETWEEN {p.real(w)} AND {p.real(e)}" for w, e in ranges])


def columns_sql() -> str:
    return ", ".join(PUBLIC_COLUMNS)


async def meetings_from_rows(rows: Iterable[dict[str, Any]]) -> list[Meeting]:
    """Meeting objects from raw rows, with their campaigns, as select_related would give.

    They hold PUBLIC_COLUMNS only (Tortoise marks them partial): enough for
    public_meeting(), not for saving. Rows read with their campaign joined
    (``with_campaigns``, ``page_sql``) carry what a meeting card shows of it
    (CAMPAIGN_SHOWN); others have whole campaigns looked up in one more query.
    """
    rows = list(rows)
    meetings = [partial_model(Meeting, row, PUBLIC_COLUMNS) for row in rows]
    if rows and JOINED_ID in rows[0]:
        campaigns = campaigns_from_rows(rows)
    else:
        campaigns = await campaigns_by_id({m.campaign_id for m in meetings if m.campaign_id})  # type: ignore[attr-defined]
    for meeting in meetings:
        # The slot select_related("campaign") fills; `meeting.campaign` reads it.
        object.__setattr__(meeting, "_campaign", campaigns.get(meeting.campaign_id))  # type: ignore[attr-defined]
    return meetings


JOINED = "campaign__"
JOINED_ID = f"{JOINED}id"
# What the public view and a meeting's card show of its campaign.
CAMPAIGN_SHOWN = ("id", "slug", "name", "is_public")
CAMPAIGN_JOINED = tuple(f"{JOINED}{c}" for c in CAMPAIGN_SHOWN)
BY_START = "page.starts_at, page.public_id"


def campaign_columns_sql() -> str:
    return ", ".join(f"c.{c} AS {JOINED}{c}" for c in CAMPAIGN_SHOWN)


def with_campaigns(sql: str, order: str) -> str:
    """A page's query with each row's campaign joined on (one round trip, not two):
    the page is cut first, so only its own rows are joined."""
    return (
        f"SELECT page.*, {campaign_columns_sql()} FROM ({sql}) AS page "
        f"LEFT JOIN campaign AS c ON c.id = page.campaign_id ORDER BY {order}"
    )


def campaigns_from_rows(rows: list[dict[str, Any]]) -> dict[int, Campaign]:
    campaigns: dict[int, Campaign] = {}
    for row in rows:
        cid = row[JOINED_ID]
        if cid is not None and cid not in campaigns:
            shown = {c: row[j] for c, j in zip(CAMPAIGN_SHOWN, CAMPAIGN_JOINED, strict=True)}
            campaigns[cid] = partial_model(Campaign, shown, CAMPAIGN_SHOWN)
    return campaigns


async def campaigns_by_id(ids: set[int]) -> dict[int, Campaign]:
    """Whole campaigns in one raw query (the ORM's query building costs 0.1-0.2 ms a page)."""
    if not ids:
        return {}
    conn = Campaign._meta.db
    p = SqlParams(conn.capabilities.dialect)
    columns = ", ".join(Campaign._meta.fields_db_projection.values())
    placeholders = ", ".join(p.add(i) for i in sorted(ids))
    sql = f"SELECT {columns} FROM campaign WHERE id IN ({placeholders})"
    rows = await query_dicts(conn, sql, p.values)
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
    if after is None:
        radius = FIRST_CIRCLES.first_radius(q.lat, q.lon, q, q.radius_km)
    else:
        radius = min(q.radius_km, max(FIRST_RADIUS_KM, inner_km * 1.5))
    while True:
        rows = await fetch_within(q, origin, radius, after, now)
        # Enough rows inside this circle: nothing outside it can come before them.
        if len(rows) > q.limit or radius >= q.radius_km:
            break
        radius = wider_radius(radius, inner_km, len(rows), q.limit + 1, q.radius_km)
    if after is None:
        last_km = key_to_km(float(rows[-1]["k"])) if rows else 0.0
        FIRST_CIRCLES.learn(q.lat, q.lon, q, len(rows), last_km)
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


def filters_sql(
    p: SqlParams, q: Filters, now: datetime, column: Callable[[str], str] = str
) -> list[str]:
    """The public-listing rule and the query's own filters, as SQL conditions on the
    columns ``column`` names (``"s.starts_at"`` for ``starts_at``, say)."""
    where = listed_sql(p, now, column)
    if q.campaign_id is not None:
        where.append(f"{column('campaign_id')} = {p.add(q.campaign_id)}")
    if q.starts_from is not None:
        where.append(f"{column('starts_at')} >= {p.time(q.starts_from)}")
    if q.starts_before is not None:
        where.append(f"{column('starts_at')} < {p.time(q.starts_before)}")
    if q.has_space:
        where.append(f"{column('seats_taken')} < {column('capacity')}")
    return where


def of_spot(name: str) -> str:
    """A column of the meeting a spatial search reads (``near_sql``'s ``s``)."""
    return f"s.{name}"


def box_sql(p: SqlParams, origin: Origin, radius_km: float, table: str = "") -> list[str]:
    """The bounding box on (approx_lat, approx_lon), of ``table`` when given (``"s."``)."""
    south, north, lon_ranges = origin.box(radius_km)
    where = [f"{table}approx_lat BETWEEN {p.real(south)} AND {p.real(north)}"]
    if lon_ranges is not None:
        where.append(lon_ranges_sql(p, lon_ranges, table))
    return where


async def fetch_within(
    q: NearbyQuery, origin: Origin, radius_km: float, after: After | None, now: datetime
) -> list[dict[str, Any]]:
    """Up to limit + 1 rows with key <= radius², after the cursor, in order."""
    conn = Meeting._meta.db
    p = SqlParams(conn.capabilities.dialect)
    source, where = near_sql(p, q, origin, radius_km, now)
    outer = [f"k <= {p.real(km_to_key(radius_km))}"]
    if after is not None:
        d, pid = p.real(after.key), p.add(after.public_id)
        outer.append(f"(k > {d} OR (k = {d} AND public_id > {pid}))")
    inner = (
        f"SELECT s.id AS id, s.public_id AS public_id, {key_sql(origin, p, 's.')} AS k "
        f"FROM {source} WHERE {' AND '.join(where)}"
    )
    page = (
        f"SELECT id, public_id, k FROM ({inner}) AS candidate "
        f"WHERE {' AND '.join(outer)} ORDER BY k, public_id LIMIT {p.add(q.limit + 1)}"
    )
    return await query_dicts(conn, page_sql(page, "page.k, m.public_id", "k"), p.values)


def near_sql(
    p: SqlParams, q: Filters, origin: Origin, radius_km: float, now: datetime
) -> tuple[str, list[str]]:
    """FROM and WHERE for the listed meetings of the query whose public point is
    within ``radius_km``'s box, found through the spatial index
    (``kit/store/migrations/0012_spatial_index.py``); ``s`` is the meeting. Only
    what filters and sorts is read for every candidate; the page's own meetings are
    then read whole (``page_sql``).

    Both indexes hold published public meetings only; the whole listed rule is
    checked on the rows anyway (``filters_sql``).
    """
    south, north, lon_ranges = origin.box(radius_km)
    # On PostgreSQL the listed rule's status and visibility, written as constants,
    # are also the partial index's predicate, word for word, as the planner needs.
    where = filters_sql(p, q, now, of_spot)
    if not p.postgres:
        # SQLite's R*Tree: its 32-bit bounds are rounded outwards, so comparing them
        # with the box loses nothing. CROSS JOIN: the R*Tree drives, and the
        # meeting's row (``s``) is read by rowid for each of its entries.
        spot = [f"r.north >= {p.real(south)}", f"r.south <= {p.real(north)}"]
        if lon_ranges is not None:
            ranges = [f"(r.east >= {p.real(w)} AND r.west <= {p.real(e)})" for w, e in lon_ranges]
            spot.append(any_of(ranges))
        exact = box_sql(p, origin, radius_km, "s.")
        return "meeting_rtree AS r CROSS JOIN meeting AS s", [*spot, "s.id = r.id", *exact, *where]
    # PostgreSQL's partial GiST index on point(lon, lat): the same expression and
    # the index's own WHERE written out, so the planner can match both. Its points and
    # boxes are float8, exact: no BETWEEN beside them, which would tempt the planner
    # onto the (approx_lat, approx_lon) btree and its band of latitude round the globe.
    boxes = [(-180.0, 180.0)] if lon_ranges is None else lon_ranges
    point = "point(s.approx_lon, s.approx_lat)"
    spot = [
        f"{point} <@ box(point({p.real(w)}, {p.real(south)}), point({p.real(e)}, {p.real(north)}))"
        for w, e in boxes
    ]
    return "meeting AS s", [any_of(spot), *where]


def page_sql(page: str, order: str, *extra: str) -> str:
    """The meetings of a page cut from the spatial index (``page`` selects their
    ids, and ``extra`` columns), with their public columns and campaigns joined."""
    columns = [f"m.{c} AS {c}" for c in PUBLIC_COLUMNS] + [f"page.{c} AS {c}" for c in extra]
    return (
        f"SELECT {', '.join(columns)}, {campaign_columns_sql()} FROM ({page}) AS page "
        "JOIN meeting AS m ON m.id = page.id "
        f"LEFT JOIN campaign AS c ON c.id = m.campaign_id ORDER BY {order}"
    )


def any_of(conditions: list[str]) -> str:
    return conditions[0] if len(conditions) == 1 else "(" + " OR ".join(conditions) + ")"


def since_sql(
    p: SqlParams, since: Since, starts: str = "starts_at", public_id: str = "public_id"
) -> str:
    """After the cursor in (starts_at, public_id) order."""
    t, pid = p.time(since.starts_at), p.add(since.public_id)
    # The first bound alone is a range on starts_at an index can seek to.
    return f"{starts} >= {t} AND ({starts} > {t} OR {public_id} > {pid})"


def soonest_sql(p: SqlParams, q: Filters, now: datetime, since: Since | None) -> list[str]:
    where = filters_sql(p, q, now)
    if since is not None:
        where.append(since_sql(p, since))
    return where


SOONEST = "ORDER BY starts_at, public_id LIMIT"


async def fetch_upcoming(q: Filters, now: datetime, since: Since | None) -> list[dict[str, Any]]:
    """Up to limit + 1 rows after the cursor, soonest first, wherever they are (SQLite
    walks the (status, starts_at) index)."""
    conn = Meeting._meta.db
    p = SqlParams(conn.capabilities.dialect)
    where = " AND ".join(soonest_sql(p, q, now, since))
    sql = f"SELECT {columns_sql()} FROM meeting WHERE {where} {SOONEST} {p.add(q.limit + 1)}"
    return await query_dicts(conn, with_campaigns(sql, BY_START), p.values)


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
    walk = " AND ".join(soonest_sql(p, q, now, since))
    # A prefix of the (starts_at, public_id) order, so whatever it holds inside the
    # circle comes, in this order, before anything after it.
    walked = f"SELECT {columns_sql()} FROM meeting WHERE {walk} {SOONEST} {p.add(WALK_ROWS)}"
    inside = box_sql(p, origin, q.radius_km)
    inside.append(f"{key_sql(origin, p)} <= {p.real(km_to_key(q.radius_km))}")
    sql = (
        f"SELECT {columns_sql()} FROM ({walked}) AS walked WHERE {' AND '.join(inside)} "
        f"{SOONEST} {p.add(q.limit + 1)}"
    )
    return await query_dicts(conn, with_campaigns(sql, BY_START), p.values)


async def fetch_soonest_in_box(
    q: NearbyQuery, origin: Origin, now: datetime, since: Since | None
) -> list[dict[str, Any]]:
    conn = Meeting._meta.db
    p = SqlParams(conn.capabilities.dialect)
    source, where = near_sql(p, q, origin, q.radius_km, now)
    if since is not None:
        where.append(since_sql(p, since, "s.starts_at", "s.public_id"))
    inner = (
        f"SELECT s.id AS id, s.public_id AS public_id, s.starts_at AS starts_at, "
        f"{key_sql(origin, p, 's.')} AS k FROM {source} WHERE {' AND '.join(where)}"
    )
    page = (
        f"SELECT id FROM ({inner}) AS candidate "
        f"WHERE k <= {p.real(km_to_key(q.radius_km))} {SOONEST} {p.add(q.limit + 1)}"
    )
    return await query_dicts(conn, page_sql(page, "m.starts_at, m.public_id"), p.values)


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


def key_sql(origin: Origin, p: SqlParams, table: str = "") -> str:
    """``Origin``'s sort key over (approx_lat, approx_lon) of ``table``, in SQL."""
    lat, lon = p.real(origin.lat), p.real(origin.lon)
    dy = f"({table}approx_lat - {lat})"
    dlon = f"({table}approx_lon - {lon})"
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
    meetings = await meetings_from_rows(await query_dicts(conn, sql, p.values))
    meetings.sort(key=lambda m: (m.starts_at, m.public_id))
    return meetings


def meeting_to_feature(meeting: Meeting, base_url: str) -> dict[str, Any]:
    return public_to_feature(public_meeting(meeting, base_url))


def feature_collection(meetings: Iterable[Meeting], base_url: str) -> dict[str, Any]:
    return features_to_collection(meeting_to_feature(m, base_url) for m in meetings)
