"""The map's box at any zoom: the meetings themselves when few, else counted clusters.

A box holding up to ``POINTS_UP_TO`` listed meetings gets them as points, exactly as
``kit.meetings.search.meetings_in_bbox`` finds them. A fuller box is cut into a grid
of square cells of ``360 / 2**level`` degrees (``level`` = zoom + 2: a cell is about 64
px wide, at most ``MAX_CELLS`` cells a box) and each cell holding meetings becomes one
cluster: its count, and the mean of its members' PUBLIC points (approx_lat/approx_lon,
never a home's exact point). A cell is counted whole, so a cluster's count is the
number of listed meetings inside its own bounds (``Cluster.bounds``), and panning
never changes a cluster's number.

Where the counts come from:

- coarse zooms (level <= 12): tables kept in step by triggers on the meeting table,
  at the stored level just at or below the one asked (cells at most twice as wide).
  They count published public meetings by when they start: ``map_cell_span`` by the
  UTC hour and by the 168-hour week (migration 0016), ``map_cell`` by the UTC day
  (migration 0013). A box sums, per cell, today's hours after the current one, the
  days after today to the end of the week, and the weeks after it; the current hour's
  meetings not yet started (the listing rule's ``starts_at > now``) are counted from
  the meeting table on its (status, starts_at) index, all in one query. So past
  meetings drop out at the minute they start, and a continent sums a few dozen rows a
  cell (a few hundred meetings live at 1M), not a million.
- fine zooms: the meeting table itself, on its (approx_lat, approx_lon) index: a
  box that small holds a few thousand meetings at most.

Triggers rather than one domain choke point: meetings change through the ORM, raw SQL
(seat tallies, re-pinning) and bulk loads (``kit demo``, bench/) alike, and a trigger
sees them all, in the same transaction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from kit.maps import bbox
from kit.maps.geojson import cluster_to_feature, features_to_collection
from kit.meetings.public import listed_sql
from kit.meetings.search import feature_collection, meetings_in_bbox
from kit.store.models import Meeting
from kit.store.sql import SqlParams, query_dicts

# The levels map_cell and map_cell_span hold (migrations 0013 and 0016 spell the same).
STORED_LEVELS = (3, 5, 7, 9, 11)
# Up to this level the stored cells are read; finer ones aggregate the meeting table.
STORED_UP_TO = 12
POINTS_UP_TO = 250
MAX_CELLS = 1000
MAX_ZOOM = 20
# A map is assumed about 1024 px (four 256 px tiles) wide when it doesn't say its zoom.
TILES_ACROSS = 4
HOUR_S = 3600
# The spans of map_cell_span's rows, in hours (migration 0016 spells the same).
HOUR, WEEK = 1, 168


@dataclass(frozen=True)
class Cluster:
    level: int
    x: int
    y: int
    count: int
    lat: float  # the mean of the members' public points
    lon: float

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """The cell: (west, south, east, north), clipped to the world."""
        size = cell_size(self.level)
        west, south = self.x * size - 180.0, self.y * size - 90.0
        return (west, south, min(west + size, 180.0), min(south + size, 90.0))


@dataclass(frozen=True)
class MapView:
    zoom: int
    meetings: list[Meeting] | None  # the points, when the box holds few enough
    clusters: list[Cluster]


def cell_size(level: int) -> float:
    return 360.0 / 2**level


def zoom_for_box(box: bbox.Box) -> int:
    """The zoom a map about TILES_ACROSS tiles wide shows this box at."""
    width = sum(east - west for west, east in bbox.lon_ranges(box[0], box[2]))
    return max(0, min(MAX_ZOOM, math.floor(math.log2(360.0 * TILES_ACROSS / max(width, 1e-6)))))


@dataclass(frozen=True)
class Grid:
    """The cells covering a box at one level: rows y0..y1, columns in x_ranges."""

    level: int
    y0: int
    y1: int
    x_ranges: tuple[tuple[int, int], ...]

    @classmethod
    def over(cls, box: bbox.Box, level: int) -> Grid:
        west, south, east, north = box
        size = cell_size(level)
        ys = (math.floor((south + 90.0) / size), math.floor((north + 90.0) / size))
        xs = tuple(
            (math.floor((w + 180.0) / size), math.floor((e + 180.0) / size))
            for w, e in bbox.lon_ranges(west, east)
        )
        return cls(level, ys[0], ys[1], xs)

    @property
    def cells(self) -> int:
        return (self.y1 - self.y0 + 1) * sum(b - a + 1 for a, b in self.x_ranges)


def grid_for(box: bbox.Box, zoom: int) -> Grid:
    """Cells about 64 px wide, never more than MAX_CELLS for the box."""
    level = zoom + 2
    while level > 0 and Grid.over(box, level).cells > MAX_CELLS:
        level -= 1
    if level <= STORED_UP_TO:
        level = max([n for n in STORED_LEVELS if n <= level], default=STORED_LEVELS[0])
    return Grid.over(box, level)


async def map_view(
    box: bbox.Box,
    *,
    zoom: int | None = None,
    campaign_id: int | None = None,
    now: datetime | None = None,
) -> MapView:
    """What the map shows for the box: points when few, else clusters."""
    now = now or datetime.now(UTC)
    zoom = zoom_for_box(box) if zoom is None else zoom
    clusters = await clusters_in(grid_for(box, zoom), campaign_id, now)
    if sum(c.count for c in clusters) <= POINTS_UP_TO:
        found = await meetings_in_bbox(*box, campaign_id=campaign_id, now=now, limit=POINTS_UP_TO)
        return MapView(zoom, found, [])
    return MapView(zoom, None, clusters)


async def clusters_in(grid: Grid, campaign_id: int | None, now: datetime) -> list[Cluster]:
    """One cluster per cell of the grid holding listed meetings (of the campaign)."""
    p = SqlParams(Meeting._meta.db.capabilities.dialect)
    if grid.level in STORED_LEVELS:
        sql = stored_counts_sql(p, grid, campaign_id, now)
    else:
        sql = meeting_counts_sql(p, grid, campaign_id, now)
    return [
        Cluster(grid.level, x, y, n, slat / n, slon / n)
        for (x, y), (n, slat, slon) in sorted((await read_counts(sql, p)).items())
        if n > 0
    ]


Counts = dict[tuple[int, int], tuple[int, float, float]]  # (x, y): (count, sum lat, sum lon)


def grid_sql(p: SqlParams, grid: Grid, y: str, x: str) -> list[str]:
    xs = [f"{x} BETWEEN {p.add(a)} AND {p.add(b)}" for a, b in grid.x_ranges]
    return [f"{y} BETWEEN {p.add(grid.y0)} AND {p.add(grid.y1)}", "(" + " OR ".join(xs) + ")"]


def stored_counts_sql(p: SqlParams, grid: Grid, campaign_id: int | None, now: datetime) -> str:
    """Published public meetings starting after ``now``, per cell, from the stored counts.

    The current hour's rest from the meeting table, then map_cell_span's hours to
    midnight, map_cell's days to the end of the week, map_cell_span's weeks after it.
    """
    hour = math.floor(now.timestamp() / HOUR_S)
    midnight = (hour // 24 + 1) * 24  # hours since the epoch, as the triggers count
    week_end = (hour // WEEK + 1) * WEEK
    live = meeting_counts_sql(
        p, grid, campaign_id, now, until=datetime.fromtimestamp((hour + 1) * HOUR_S, UTC)
    )

    def stored(table: str, *when: str) -> str:
        where = [f"level = {p.add(grid.level)}", f"campaign_key = {p.add(campaign_id or 0)}"]
        where += [when[0], *grid_sql(p, grid, "y", "x"), *when[1:]]
        return (
            "SELECT x, y, count AS n, sum_lat AS slat, sum_lon AS slon "
            f"FROM {table} WHERE {' AND '.join(where)}"
        )

    arms = [
        live,
        stored(
            "map_cell_span",
            f"span = {p.add(HOUR)}",
            f"hour > {p.add(hour)}",
            f"hour < {p.add(midnight)}",
        ),
        stored("map_cell", f"day >= {p.add(midnight // 24)}", f"day < {p.add(week_end // 24)}"),
        stored("map_cell_span", f"span = {p.add(WEEK)}", f"hour >= {p.add(week_end)}"),
    ]
    return (
        "SELECT x, y, SUM(n) AS n, SUM(slat) AS slat, SUM(slon) AS slon FROM ("
        + " UNION ALL ".join(arms)
        + ") AS counted GROUP BY x, y"
    )


def meeting_counts_sql(
    p: SqlParams,
    grid: Grid,
    campaign_id: int | None,
    now: datetime,
    *,
    until: datetime | None = None,
) -> str:
    """Listed meetings per cell, from the meeting table (starting before ``until``).

    With ``until`` (the current hour's rest) SQLite walks the (status, starts_at) index;
    without, the (approx_lat, approx_lon) one. The cell of a meeting is computed as the
    triggers compute it, so both ways agree to the last bit.
    """
    size = cell_size(grid.level)
    cell_y, cell_x = cell_sql(p, "approx_lat", 90.0, size), cell_sql(p, "approx_lon", 180.0, size)
    by_time = until is not None
    column = p.filter_only if by_time else str
    keep = str if by_time else p.filter_only
    # A range the index can use, a hair wider than the cells; the cells decide.
    south, north = grid.y0 * size - 90.0, (grid.y1 + 1) * size - 90.0
    lat = column("approx_lat")
    where = [f"{lat} BETWEEN {p.real(south - 1e-9)} AND {p.real(north + 1e-9)}"]
    lon = column("approx_lon")
    edges = [(a * size - 180.0, (b + 1) * size - 180.0) for a, b in grid.x_ranges]
    lons = [f"{lon} BETWEEN {p.real(w - 1e-9)} AND {p.real(e + 1e-9)}" for w, e in edges]
    where.append("(" + " OR ".join(lons) + ")")
    where += grid_sql(p, grid, cell_y, cell_x)
    where += listed_sql(p, now, keep)
    if until is not None:
        where.append(f"starts_at < {p.time(until)}")
    if campaign_id is not None:
        where.append(f"{keep('campaign_id')} = {p.add(campaign_id)}")
    return (
        f"SELECT {cell_x} AS x, {cell_y} AS y, COUNT(*) AS n, SUM(approx_lat) AS slat, "
        f"SUM(approx_lon) AS slon FROM meeting WHERE {' AND '.join(where)} "
        f"GROUP BY {cell_x}, {cell_y}"
    )


async def read_counts(sql: str, p: SqlParams) -> Counts:
    """The rows of one count query as Counts, planned for its own values on PostgreSQL.

    After five runs of a prepared statement PostgreSQL may switch to a generic plan,
    which can't see that "from now to midnight" is a sliver of the (status, starts_at)
    index, or how little of map_cell a box is: seen, 4 ms became 40-120 ms.
    """
    if not p.postgres:
        return to_counts(await query_dicts(Meeting._meta.db, sql, p.values))
    async with in_transaction() as conn:
        await conn.execute_script("SET LOCAL plan_cache_mode = force_custom_plan")
        return to_counts(await query_dicts(conn, sql, p.values))


def cell_sql(p: SqlParams, column: str, offset: float, size: float) -> str:
    """The cell index of a coordinate, as migration 0013's triggers compute it."""
    if p.postgres:
        return f"floor(({column} + {offset!r}) / {p.real(size)})::int"
    return f"CAST(({column} + {offset!r}) / {p.real(size)} AS INTEGER)"


def to_counts(rows: Iterable[dict[str, Any]]) -> Counts:
    return {
        (int(r["x"]), int(r["y"])): (int(r["n"]), float(r["slat"]), float(r["slon"])) for r in rows
    }


def view_to_collection(view: MapView, base_url: str) -> dict[str, Any]:
    """The GeoJSON of a map view: its meetings' features, or its clusters'."""
    if view.meetings is not None:
        return feature_collection(view.meetings, base_url)
    zoom_to = min(MAX_ZOOM, view.zoom + 2)
    return features_to_collection(
        cluster_to_feature(f"cell-{c.level}-{c.x}-{c.y}", c.count, c.lat, c.lon, c.bounds, zoom_to)
        for c in view.clusters
    )
