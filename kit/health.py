"""Is the service able to do its job? Used by /healthz and `kit check`."""

from __future__ import annotations

import time

from tortoise import Tortoise


async def check_database() -> dict[str, object]:
    started = time.perf_counter()
    conn = Tortoise.get_connection("default")
    await conn.execute_query("SELECT 1")
    return {
        "ok": True,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "dialect": conn.capabilities.dialect,
    }
