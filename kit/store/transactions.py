"""Transactions that change a meeting's seats: one lock order, and a bounded retry.

Every write that moves seats (an RSVP, a resize, a cancellation, a promotion, a host's
approval or removal) starts by locking the meeting's row, so on PostgreSQL two such
transactions on one meeting run one after the other and every later read in the
transaction sees the latest committed state; rows are always locked meeting first,
then RSVP, then person, so they can't deadlock each other. SQLite needs no row lock:
kit.store.sqlite begins every transaction IMMEDIATE, which serializes writers.

Some conflicts can still end a PostgreSQL transaction (a deadlock with some other
statement order, a serialization failure): the whole transaction is then run again, a
few times, after a short random pause. The work must therefore be safe to repeat:
read everything it decides on inside the transaction.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from asyncpg.exceptions import TransactionRollbackError
from tortoise.transactions import in_transaction

from kit.store.models import Meeting

T = TypeVar("T")
ATTEMPTS = 4
log = logging.getLogger("kit.store.transactions")


async def lock_meeting(meeting_id: int) -> Meeting:
    """The meeting's current row, locked until the transaction ends (PostgreSQL)."""
    return await Meeting.select_for_update().get(id=meeting_id)


async def atomically(work: Callable[[], Awaitable[T]], *, attempts: int = ATTEMPTS) -> T:
    """Run ``work`` in one transaction; run it again if the database rolled it back."""
    for attempt in range(1, attempts + 1):
        try:
            async with in_transaction():
                return await work()
        except TransactionRollbackError as exc:  # deadlock_detected, serialization_failure
            if attempt == attempts:
                raise
            log.info("transaction rolled back by the database (%s); retry %d", exc, attempt)
            await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")
