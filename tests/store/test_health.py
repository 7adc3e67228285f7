"""/healthz answers 200 only while the database can be read AND written, so a load
balancer takes out a node whose database refuses writes. (A read-only SQLite disk is in
tests/faults/test_sqlite_read_only.py; PostgreSQL set read-only is here, on the
PostgreSQL run.)"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit

import httpx
from tortoise import Tortoise

from kit.core.settings import Settings
from kit.store.health import PROBE_KEY
from kit.store.models import RateCounter
from tests.conftest import is_postgres
from tests.factories import make_meeting
from tests.writes import LOG


async def test_healthz_reads_and_writes_without_growing_the_database(
    client: httpx.AsyncClient,
) -> None:
    for _ in range(5):
        response = await client.get("/healthz")
        assert response.status_code == 200
        body = response.json()
        assert body["ok"] is True
        database = body["database"]
        assert (database["ok"], database["readable"], database["writable"]) == (True, True, True)
        assert database["latency_ms"] < 1000
    # Every check rewrites the same row.
    assert await RateCounter.all().values_list("key", flat=True) == [PROBE_KEY]


# On the PostgreSQL run only: the SQLite run meets a read-only disk in tests/faults.
if is_postgres():

    async def test_healthz_is_503_while_postgres_refuses_writes(
        client: httpx.AsyncClient, settings: Settings
    ) -> None:
        import asyncpg

        parts = urlsplit(settings.database_url)
        name = parts.path.strip("/")  # the suite's own database, never another
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres", query="")))
        pool = Tortoise.get_connection("default")
        meeting = (await make_meeting()).meeting
        assert (await client.get("/healthz")).status_code == 200
        try:
            await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            await pool.close()  # new sessions start with the database's new default
            response = await client.get("/healthz")
            assert response.status_code == 503, response.text
            assert response.json() == {
                "ok": False,
                "database": {
                    "ok": False,
                    "readable": True,
                    "writable": False,
                    "dialect": "postgres",
                    "error": response.json()["database"]["error"],
                    "problem": "read_only",
                },
            }
            # Still readable: the public pages keep working on such a node.
            assert (await client.get("/")).status_code == 200
            # A write says what is wrong (503, read-only), not a 500.
            refused = await client.post(
                f"/api/meetings/{meeting.public_id}/rsvps",
                json={"name": "Ada", "email": "ada@example.org"},
            )
            assert refused.status_code == 503, refused.text
            assert "read-only" in refused.json()["error"]
        finally:
            await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
            await admin.close()
            await pool.close()
        assert (await client.get("/healthz")).status_code == 200


async def test_concurrent_checks_share_one_write(client: httpx.AsyncClient, writes: None) -> None:
    """A burst of checks (a load balancer polling every node, a load test) waits for the
    check under way instead of queueing a write each behind the database's write lock."""
    await client.get("/healthz")  # the probe row exists from here on
    conn = Tortoise.get_connection("default")
    await conn.execute_script(f"DELETE FROM {LOG}")
    answers = await asyncio.gather(*(client.get("/healthz") for _ in range(20)))
    assert [a.status_code for a in answers] == [200] * 20
    assert all(a.json()["database"]["writable"] for a in answers)
    [probes] = await conn.execute_query_dict(
        f"SELECT count(*) AS n FROM {LOG} WHERE tbl = 'rate_counter' AND op = 'UPDATE'"
    )
    assert 1 <= probes["n"] < 20
    # Nothing is kept once a check ends: the next request checks afresh.
    assert (await client.get("/healthz")).status_code == 200
    [after] = await conn.execute_query_dict(f"SELECT count(*) AS n FROM {LOG}")
    assert after["n"] == probes["n"] + 1
