"""The campaign dashboards' tallies (``dashboard_tally``, ``dashboard_outcome_tally``):
rebuilt from the meetings, their commitments and reports.

Triggers keep the tallies in step with every write (see
kit/store/migrations/_dashboard_tally.py and _outcome_tally.py); migrations 0014 and 0015
backfill them. ``rebuild``
counts them again from scratch, in one transaction: after restoring a backup made
without them, or to heal them if anything ever wrote around the triggers.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from kit.store.migrations import _dashboard_tally, _outcome_tally


async def rebuild(connection: BaseDBAsyncClient | None = None) -> None:
    """Every campaign's tallies counted again from its meeting rows."""
    if connection is None:
        async with in_transaction() as conn:
            await rebuild(conn)
        return
    dialect = connection.capabilities.dialect
    for statement in _dashboard_tally.rebuild(dialect) + _outcome_tally.rebuild():
        await connection.execute_query(statement)
