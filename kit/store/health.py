"""Is the service able to do its job? Used by /healthz (load balancers, monitoring).

Reading is not enough: a read-only disk or mount, a full disk, a PostgreSQL standby or a
database set to ``default_transaction_read_only`` all answer ``SELECT 1`` and refuse
every RSVP. So the check also writes: one committed UPDATE of one fixed row of
``rate_counter``, the same row every time, so checking often never grows the database.
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

# A health check must answer even when the database hangs (a half-open connection,
# a server stuck in recovery, a write lock held too long): past this, it counts as down.
CHECK_TIMEOUT = 5.0
# The one row the write probe rewrites. Not a real counter: nothing ever counts hits on it.
PROBE_KEY = "kit:healthz:write-probe"


async def probe_write(now: datetime | None = None) -> None:
    """Commit one small write (an UPDATE outside a transaction commits at once); the first
    check of a new database creates the row."""
    now = now or datetime.now(UTC)
    if await RateCounter.filter(key=PROBE_KEY).update(window_start=now):
        return
    try:
        await RateCounter.create(key=PROBE_KEY, window_start=now, hits=0)
    except IntegrityError:  # a check in another worker created it meanwhile
        await RateCounter.filter(key=PROBE_KEY).update(window_start=now)


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
# test, then costs one read and one write per round trip of the database, not one per
# request (a write per request held /healthz to a tenth of a hello-world's rate on
# SQLite). Nothing is cached once the check ends: the next request checks afresh.
_in_flight: dict[asyncio.AbstractEventLoop, asyncio.Task[dict[str, Any]]] = {}


async def check_database(timeout: float = CHECK_TIMEOUT) -> dict[str, Any]:
    """Read (``SELECT 1``), then write (:func:`probe_write`), within ``timeout`` seconds in
    all, or share the answer of the check already under way. Never raises: what failed is
    in the answer, ``ok`` false."""
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
    deadline = started + timeout
    state: dict[str, Any] = {"ok": False, "readable": False, "writable": False}
    try:
        conn = Tortoise.get_connection("default")
        await asyncio.wait_for(conn.execute_query("SELECT 1"), timeout)
        state.update(readable=True, dialect=conn.capabilities.dialect)
        await asyncio.wait_for(probe_write(), max(deadline - time.perf_counter(), 0.1))
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        reading = not state["readable"]
        return {**state, "error": type(exc).__name__, "problem": _problem(exc, reading=reading)}
    latency = round((time.perf_counter() - started) * 1000, 2)
    return {**state, "ok": True, "writable": True, "latency_ms": latency}
