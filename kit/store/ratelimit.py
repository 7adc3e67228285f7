"""Rate limits kept in the database, so every worker process enforces the same ones.

A fixed window per key ("rsvp:ip:1.2.3.4", "rsvp:meeting:42"), counted by one statement:
an upsert that inserts a new key, restarts an expired window, or counts a hit, and
returns the count. A hit over the limit is not counted: the count stops at
``limit + 1``, which says "refused" (``hits >= limit`` still reads as "used up").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise import Tortoise

from kit.core.errors import RateLimited
from kit.core.settings import Limit
from kit.store.sql import SqlParams


async def hit(key: str, limit: Limit, *, message: str, now: datetime | None = None) -> None:
    """Count one hit for ``key``; raise RateLimited (with Retry-After) when over the limit."""
    now = now or datetime.now(UTC)
    window = timedelta(seconds=limit.seconds)
    conn = Tortoise.get_connection("default")
    p = SqlParams(conn.capabilities.dialect)
    key_, now_, expired, cap = (
        p.add(key[:200]),
        p.time(now),
        p.time(now - window),
        p.add(limit.hits),
    )
    stale = f"rate_counter.window_start <= {expired}"
    rows = await conn.execute_query_dict(
        f'INSERT INTO rate_counter ("key", window_start, hits) VALUES ({key_}, {now_}, 1) '
        'ON CONFLICT ("key") DO UPDATE SET '
        f"hits = CASE WHEN {stale} THEN 1 WHEN rate_counter.hits < {cap} "
        f"THEN rate_counter.hits + 1 ELSE {cap} + 1 END, "
        f"window_start = CASE WHEN {stale} THEN {now_} ELSE rate_counter.window_start END "
        "RETURNING hits, window_start",
        p.values,
    )
    hits, started = rows[0]["hits"], rows[0]["window_start"]
    if hits <= limit.hits:
        return
    if isinstance(started, str):  # SQLite hands datetimes back as text
        started = datetime.fromisoformat(started)
    retry = started + window - now
    raise RateLimited(message, retry_after=max(int(retry.total_seconds()) + 1, 1))
