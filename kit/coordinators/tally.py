"""The campaign dashboards' tallies (``dashboard_tally``): rebuilt from the meetings.

Triggers on the meeting table keep the tallies in step with every write (see
kit/store/migrations/_dashboard_tally.py); migration 0014 backfills them. ``rebuild``
counts them again from scratch, in one transaction: after restoring a backup made
without them, or to heal them if anything ever wrote around the triggers.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from kit.store.migrations._dashboard_tally import rebuild as rebuild_sql


async def rebuild(connection: BaseDBAsyncClient | None = None) -> None:
    """Every campaign's tallies counted again from its meeting rows."""
    if connection is None:
        async with in_transaction() as conn:
            await rebuild(conn)
        return
    for statement in rebuild_sql(connection.capabilities.dialect):
        await connection.execute_query(statement)
