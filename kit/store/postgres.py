"""PostgreSQL whose pooled transactions survive a database restart.

Tortoise's pooled transaction context takes a connection from the asyncpg pool,
then marks itself as the task's current connection, then sends ``BEGIN``. When
``BEGIN`` fails (the server just went away: "terminating connection due to
administrator command", or asyncpg's "another operation is in progress" on a
connection that is dying) ``__aexit__`` never runs, so:

- the connection is never handed back: the pool has one slot less for good, and
  after ``max_size`` such failures every query waits forever;
- the task keeps the dead transaction as its current connection: a long-lived
  task (the mail delivery loop) then fails on every query until the process restarts.

The second also happens on the way out: ``__aexit__`` hands the connection back
before it forgets the transaction, and handing back a connection that died mid-way
raises (its reset query fails), so the forgetting is skipped.

Both were seen by tests/faults/test_postgres_restart.py (and "connection has been
released back to the pool", thousands of times, in a loop that outlived a restart).
Here the transaction is always forgotten and the connection always handed back.

Tortoise loads this module as the ``engine`` of the connection (``client_class``).
"""

from __future__ import annotations

import contextlib
from typing import Any

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    TransactionalDBClient,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError


class ReleasingTransactionContext(TransactionContextPooled):
    async def __aenter__(self) -> TransactionalDBClient:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        self.token = get_connections().set(self.connection_name, self.client)
        try:
            await self.client.begin()
        except BaseException:
            get_connections().reset(self.token)
            # Releasing a dead connection can fail too (its reset query); asyncpg
            # terminates it and frees the slot either way. BEGIN's error is the one to report.
            with contextlib.suppress(Exception):
                await pool.release(self.client._connection)
            raise
        return self.client

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            if not self.client._finalized:
                if exc_type is None:
                    await self.client.commit()
                elif exc_type is not TransactionManagementError:
                    await self.client.rollback()
        finally:
            # Forget the transaction first: releasing a dead connection may raise.
            get_connections().reset(self.token)
            if self.client._parent._pool:
                await self.client._parent._pool.release(self.client._connection)


class KitAsyncpgClient(AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return ReleasingTransactionContext(TransactionWrapper(self), self._pool_init_lock)


client_class = KitAsyncpgClient
