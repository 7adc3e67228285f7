"""Is the service able to do its job? Used by /healthz and `kit check`."""

from __future__ import annotations

import asyncio
import time

from tortoise import Tortoise

# A health check must answer even when the database hangs (a half-open connection,
# a server stuck in recovery): past this, it counts as down.
CHECK_TIMEOUT = 5.0


async def check_database(timeout: float = CHECK_TIMEOUT) -> dict[str, object]:
    """Run ``SELECT 1``; raises (TimeoutError after ``timeout`` s) when the database is down."""
    started = time.perf_counter()
    conn = Tortoise.get_connection("default")
    await asyncio.wait_for(conn.execute_query("SELECT 1"), timeout)
    return {
        "ok": True,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "dialect": conn.capabilities.dialect,
    }
