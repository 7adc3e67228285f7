"""Is the service able to do its job? Used by /healthz (load balancers, monitoring).

Reading is not enough: a read-only disk or mount, a full disk, a PostgreSQL standby or a
database set to ``default_transaction_read_only`` all answer ``SELECT 1`` and refuse
every RSVP. So the check writes: one committed UPDATE of one fixed row of
``rate_counter``, the same row every time, so checking often never grows the database
(a write that commits proves reading too; ``SELECT 1`` runs only to say why one failed).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from tortoise import Tortoise
from tortoise.exceptions import IntegrityError

from kit.core.errors import database_unavailable
from kit.store.models import RateCounter
from kit.store.sql import SqlParams

# A health check must answer even when the database hangs (a half-open connection,
# a server stuck in recovery, a write lock held too long): past this, it counts as down.
CHECK_TIMEOUT = 5.0
# The one row the write probe rewrites. Not a real counter: nothing ever counts hits on it.
PROBE_KEY = "kit:healthz:write-probe"


async def probe_write(now: datetime | None = None) -> None:
    """Commit one small write (an UPDATE outside a transaction commits at once); the first
    check of a new database creates the row. Raw SQL: the ORM's query building cost more
    than the database's write."""
    now = now or datetime.now(UTC)
    conn = Tortoise.get_connection("default")
    p = SqlParams(conn.capabilities.dialect)
    sql = f"UPDATE rate_counter SET window_start = {p.add(now)} WHERE key = {p.add(PROBE_KEY)}"
    updated, _ = await conn.execute_query(sql, p.values)
    if updated:
        return
    try:
        await RateCounter.create(key=PROBE_KEY, window_start=now, hits=0)
    except IntegrityError:  # a check in another worker created it meanwhile
        await conn.execute_query(sql, p.values)


def _problem(exc: BaseException, *, reading: bool) -> str:
    """ "unreachable", "read_only" (a refused write: read-only disk, mount or server, or a
    full disk), "busy" (the write lock wasn't free in time) or "timeout"."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if reading:
        return "unreachable"
    unavailable = database_unavailable(exc)
    return "busy" if unavailable is not None and unavailable.problem == "busy" else "read_only"


# The check in flight in each event loop: checks that arrive meanwhile wait for its answer
# instead of queueing their own write behind it. A balancer polling every node, or a load
# test, then costs one write per round trip of the database, not one per
# request (a write per request held /healthz to a tenth of a hello-world's rate on
# SQLite). Nothing is cached once the check ends: the next request checks afresh.
_in_flight: dict[asyncio.AbstractEventLoop, asyncio.Task[dict[str, Any]]] = {}


async def check_database(timeout: float = CHECK_TIMEOUT) -> dict[str, Any]:
    """Write (:func:`probe_write`), and only if that fails read (``SELECT 1``) to say why,
    within ``timeout`` seconds in all, or share the answer of the check already under
    way. Never raises: what failed is in the answer, ``ok`` false."""
    loop = asyncio.get_running_loop()
    check = _in_flight.get(loop)
    if check is None:
        check = loop.create_task(_check_database(timeout))
        _in_flight[loop] = check
        check.add_done_callback(lambda _: _in_flight.pop(loop, None))
    # Shielded: a client that hangs up cancels its wait, not the check others share.
    return dict(await asyncio.shield(check))


async def _check_database(timeout: float) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        # A committed write proves reading too: one round trip while healthy.
        await asyncio.wait_for(probe_write(), timeout)
    except Exception as refused:  # noqa: BLE001 - any failure means "not healthy"
        return await _explain(refused, max(started + timeout - time.perf_counter(), 0.1))
    latency = round((time.perf_counter() - started) * 1000, 2)
    dialect = Tortoise.get_connection("default").capabilities.dialect
    return {"ok": True, "readable": True, "writable": True, "dialect": dialect,
            "latency_ms": latency}  # fmt: skip


async def _explain(refused: BaseException, timeout: float) -> dict[str, Any]:
    """The answer for a refused write: does the database still read (``SELECT 1``)?"""
    state: dict[str, Any] = {"ok": False, "readable": False, "writable": False}
    failure = refused
    try:
        conn = Tortoise.get_connection("default")
        await asyncio.wait_for(conn.execute_query("SELECT 1"), timeout)
        state.update(readable=True, dialect=conn.capabilities.dialect)
    except Exception as unreadable:  # noqa: BLE001
        # A write that timed out is a timeout, whatever the read then did.
        failure = refused if isinstance(refused, TimeoutError) else unreadable
    problem = _problem(failure, reading=not state["readable"])
    return {**state, "error": type(failure).__name__, "problem": problem}
