"""SQLite that several processes can write: transactions that begin IMMEDIATE.

Tortoise opens a transaction with a plain (deferred) ``BEGIN``, so the
transaction first reads and only asks for the write lock at its first write.
When another process holds the write lock at that moment, SQLite answers
SQLITE_BUSY at once, without calling the busy handler: the reader's snapshot
may already be stale, and waiting could deadlock. With ``kit serve --workers 2``
that surfaced as "database is locked" (500) under bursts of RSVPs.

``BEGIN IMMEDIATE`` takes the write lock before the transaction reads anything,
so a second writer waits in the busy handler (``busy_timeout``, set in
kit/store/db.py) and then runs on a fresh snapshot. Reads outside a transaction never
take the write lock, and in WAL mode they don't wait for writers either.

Tortoise loads this module as the ``engine`` of the connection (``client_class``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tortoise.backends.base.client import TransactionalDBClient, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

BEGIN = "BEGIN IMMEDIATE"


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute(BEGIN)
        except sqlite3.OperationalError as exc:
            # Still busy after busy_timeout: nothing was started, nothing to roll back.
            raise TransactionManagementError(exc) from exc


class ImmediateTransactionContext(SqliteTransactionContext):
    async def __aenter__(self) -> TransactionalDBClient:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = get_connections().set(self.connection_name, self.connection)
            try:
                await self.connection.begin()
            except BaseException:
                get_connections().reset(self.token)
                raise
        except BaseException:
            # Tortoise's own context keeps its lock when BEGIN fails (busy past the
            # timeout, or cancelled), which would stall every later query in the process.
            self._trxlock.release()
            raise
        return self.connection


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return ImmediateTransactionContext(ImmediateTransactionWrapper(self), self._lock)

    @translate_exceptions
    async def execute_many(self, query: str, values: list[list[Any]]) -> None:
        # Tortoise's own version also starts with a deferred BEGIN.
        async with self.acquire_connection() as connection:
            self.log.debug("%s: %s", query, values)
            await connection.execute(BEGIN)
            try:
                await connection.executemany(query, values)
            except Exception:
                await connection.rollback()
                raise
            else:
                await connection.commit()


client_class = ImmediateSqliteClient
