"""Keep every stored public point the one ``public_point()`` gives today.

Meetings stored before home pins were keyed by the place carry a pin keyed by the
meeting: forty meetings at one home there are still forty offsets to average, and a
café shows its exact point but is measured to a hidden one. Re-pinning is a pure
function of (kind, exact point, secret key), so it needs no record of its own to run
once: ``kit migrate`` and ``kit serve`` look at the oldest and newest stored rows and
re-pin the whole table only when one of them is stale (after the upgrade, or after the
secret key changed). When all is well that is two reads of ``SAMPLE`` rows (~1 ms).

Why those rows: the pass walks the table from the newest id down and commits batch by
batch, so a pass that was interrupted has left the oldest rows stale, and the next
start sees them and runs again; a meeting that a process of the old version created
after the pass (a rolling upgrade) is among the newest. Meetings created or moved
by this version already have the right point.

The pass itself is one-off and batched: at 1,000,000 meetings it took 40 s on SQLite
and 53 s on PostgreSQL (2 shared cores), most of it the database updating the
(approx_lat, approx_lon) index; 10,000 rows a batch ran twice as fast as 2,000.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from tortoise import BaseDBAsyncClient

from kit.maps.privacy import public_point
from kit.store.sql import SqlParams, query_dicts

log = logging.getLogger("kit")

SAMPLE = 64
BATCH = 10000
COLUMNS = "id, kind, lat, lon, approx_lat, approx_lon"


async def ensure_public_points(conn: BaseDBAsyncClient, key: str) -> int:
    """Re-pin every meeting if the oldest or newest are stale; return how many changed."""
    for order in ("", " DESC"):
        ends = await query_dicts(
            conn, f"SELECT {COLUMNS} FROM meeting ORDER BY id{order} LIMIT {int(SAMPLE)}"
        )
        if any(stale_point(row, key) for row in ends):
            break
    else:
        return 0
    changed = await repin_meetings(conn, key)
    log.info("Re-pinned %d meeting(s) to the current public-point scheme", changed)
    return changed


async def repin_meetings(conn: BaseDBAsyncClient, key: str, batch: int = BATCH) -> int:
    """Every meeting, newest first, one committed batch at a time; return rows changed."""
    changed, below = 0, None
    while rows := await read_batch(conn, below, batch):
        updates = [
            [*new, row["id"], row["kind"], row["lat"], row["lon"]]
            for row in rows
            if (new := stale_point(row, key))
        ]
        if updates:
            await write_points(conn, updates)
        changed += len(updates)
        below = rows[-1]["id"]
    return changed


async def read_batch(
    conn: BaseDBAsyncClient, below: int | None, batch: int
) -> list[dict[str, Any]]:
    p = SqlParams(conn.capabilities.dialect)
    where = f"WHERE id < {p.add(below)} " if below is not None else ""
    sql = f"SELECT {COLUMNS} FROM meeting {where}ORDER BY id DESC LIMIT {p.add(batch)}"
    return await query_dicts(conn, sql, p.values)


async def write_points(conn: BaseDBAsyncClient, updates: list[list[Any]]) -> None:
    """Set (approx_lat, approx_lon) of each (id, kind, lat, lon), in one transaction.

    Only where the row still holds the kind and point that were read: a host who moved
    the meeting (or changed its kind) meanwhile got the right point from the new code.
    """
    if conn.capabilities.dialect != "postgres":
        # SQLite runs executemany in-process: no round trip per row to save.
        await conn.execute_many(UPDATE_ONE, updates)
        return
    # One statement per batch: asyncpg's executemany pays a round trip per row
    # (200,000 rows took 17 s that way).
    await conn.execute_query(
        UPDATE_FROM_ARRAYS, [list(column) for column in zip(*updates, strict=True)]
    )


UPDATE_ONE = (
    "UPDATE meeting SET approx_lat = ?1, approx_lon = ?2 "
    "WHERE id = ?3 AND kind = ?4 AND lat = ?5 AND lon = ?6"
)
UPDATE_FROM_ARRAYS = (
    "UPDATE meeting AS m SET approx_lat = v.approx_lat, approx_lon = v.approx_lon "
    "FROM unnest($1::float8[], $2::float8[], $3::int[], $4::text[], $5::float8[], "
    "$6::float8[]) AS v(approx_lat, approx_lon, id, kind, lat, lon) "
    "WHERE m.id = v.id AND m.kind = v.kind AND m.lat = v.lat AND m.lon = v.lon"
)


def stale_point(row: dict[str, Any], key: str) -> tuple[float, float] | None:
    """The point the row should have, or None when it has it already."""
    want = public_point(row["kind"], row["lat"], row["lon"], key=key)
    have = (row["approx_lat"], row["approx_lon"])
    # Floats come back bit for bit from both databases; the tolerance is only a guard.
    if all(math.isclose(a, b, rel_tol=0, abs_tol=1e-9) for a, b in zip(want, have, strict=True)):
        return None
    return want
