"""Rate limits kept in the database, so every worker process enforces the same ones.

A fixed window per key ("rsvp:ip:1.2.3.4", "rsvp:meeting:42"): one conditional
UPDATE counts a hit while the window is open and under the limit; an expired
window is restarted by another conditional UPDATE; a new key is inserted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from kit.core.errors import RateLimited
from kit.core.settings import Limit
from kit.store.models import RateCounter


async def hit(key: str, limit: Limit, *, message: str, now: datetime | None = None) -> None:
    """Count one hit for ``key``; raise RateLimited (with Retry-After) when over the limit."""
    now = now or datetime.now(UTC)
    window = timedelta(seconds=limit.seconds)
    key = key[:200]
    for _ in range(3):
        counted = await RateCounter.filter(
            key=key, window_start__gt=now - window, hits__lt=limit.hits
        ).update(hits=F("hits") + 1)
        if counted:
            return
        restarted = await RateCounter.filter(key=key, window_start__lte=now - window).update(
            window_start=now, hits=1
        )
        if restarted:
            return
        counter = await RateCounter.get_or_none(key=key)
        if counter is None:
            try:
                await RateCounter.create(key=key, window_start=now, hits=1)
                return
            except IntegrityError:
                continue  # another request created it first: count against that row
        if counter.hits >= limit.hits and counter.window_start > now - window:
            retry = counter.window_start + window - now
            raise RateLimited(message, retry_after=max(int(retry.total_seconds()) + 1, 1))
        # Created or restarted by a concurrent request after our UPDATEs: count again.
    raise RateLimited(message, retry_after=1)
