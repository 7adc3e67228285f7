"""Counting the writes a test causes, as the database sees them: a trigger on every kit
table logs each write into ``kit_test_writes`` (per statement on PostgreSQL, so an
UPDATE that matches no row counts too; per row on SQLite, which has no statement
triggers), whatever code path (ORM or raw SQL) sent it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tortoise import Tortoise

from kit.ops.export import kit_tables

LOG = "kit_test_writes"


async def _sql(script: str) -> None:
    await Tortoise.get_connection("default").execute_script(script)


@pytest.fixture
async def writes(db: str) -> AsyncIterator[None]:
    """Log every write to every kit table while the test runs."""
    conn = Tortoise.get_connection("default")
    postgres = conn.capabilities.dialect == "postgres"
    tables = kit_tables()
    if postgres:
        await _sql(
            f"CREATE TABLE {LOG} (tbl text, op text);"
            "CREATE FUNCTION kit_test_log_write() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN INSERT INTO {LOG} VALUES (TG_TABLE_NAME, TG_OP); RETURN NULL; END $$;"
            + "".join(
                f'CREATE TRIGGER kit_test_writes AFTER INSERT OR UPDATE OR DELETE ON "{t}" '
                "FOR EACH STATEMENT EXECUTE FUNCTION kit_test_log_write();"
                for t in tables
            )
        )
    else:
        await _sql(
            f"CREATE TABLE {LOG} (tbl TEXT, op TEXT);"
            + "".join(
                f'CREATE TRIGGER kit_test_w_{t}_{op} AFTER {op} ON "{t}" '
                f"BEGIN INSERT INTO {LOG} VALUES ('{t}', '{op}'); END;"
                for t in tables
                for op in ("INSERT", "UPDATE", "DELETE")
            )
        )
    try:
        yield
    finally:
        if postgres:
            await _sql(f"DROP FUNCTION kit_test_log_write() CASCADE; DROP TABLE {LOG};")
        else:
            await _sql(
                "".join(
                    f"DROP TRIGGER kit_test_w_{t}_{op};"
                    for t in tables
                    for op in ("INSERT", "UPDATE", "DELETE")
                )
                + f"DROP TABLE {LOG};"
            )


async def written() -> set[tuple[str, str]]:
    """The (table, operation) pairs written since the last call, which forgets them."""
    conn = Tortoise.get_connection("default")
    rows = await conn.execute_query_dict(f"SELECT tbl, op FROM {LOG}")
    await conn.execute_script(f"DELETE FROM {LOG}")
    return {(row["tbl"], row["op"]) for row in rows}
