"""SQLite with several `kit serve` workers: bursts of writes wait their turn, never fail.

Two processes share one SQLite file. Tortoise's deferred ``BEGIN`` made a transaction
that had already read fail at once with "database is locked" when the other process
held the write lock; kit/sqlite.py begins transactions IMMEDIATE, so the second writer
waits (busy_timeout) instead. These tests always run on SQLite, whatever database the
rest of the suite uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from kit.db import tortoise_config
from tests.servers import KitServer, kit_serve
from tests.test_concurrency import create_meeting, get_meeting, read_seats, rsvp_at_once

pytestmark = pytest.mark.server

WORKERS = 2
BURST = 120
FEW_SEATS = 6


def worker_pids(supervisor: int) -> list[int]:
    """The worker processes uvicorn's supervisor spawned (not multiprocessing's helpers)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [
        int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


@pytest.fixture(scope="module")
async def two_workers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KitServer]:
    data_dir = tmp_path_factory.mktemp("sqlite-workers")
    url = f"sqlite://{data_dir / 'kit.sqlite3'}"
    quiet = ("--log-level", "warning")
    async with kit_serve(data_dir, url, workers=WORKERS, args=quiet) as server:
        assert len(worker_pids(server.proc.pid)) == WORKERS, server.log_text()
        yield server


def assert_no_server_errors(responses: list[httpx.Response], server: KitServer) -> Counter[int]:
    codes = Counter(r.status_code for r in responses)
    errors = [f"{r.status_code} {r.text[:200]}" for r in responses if r.status_code >= 500]
    log = server.log.read_text()
    assert not errors, f"{codes}; first: {errors[:3]}; server log: {log[-3000:]}"
    assert "database is locked" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    return codes


async def test_two_workers_answer_a_burst_of_rsvps_without_errors_or_overbooking(
    two_workers: KitServer,
) -> None:
    meeting_id = await create_meeting(two_workers, FEW_SEATS)

    responses = await rsvp_at_once(two_workers, meeting_id, [i % 3 for i in range(BURST)])

    codes = assert_no_server_errors(responses, two_workers)
    # Every RSVP is recorded, confirmed or waitlisted: waiting for the lock is not a 4xx.
    assert codes == {201: BURST}
    told = Counter(r.json()["status"] for r in responses)
    stored = await read_seats(two_workers.database_url, meeting_id)
    assert stored.confirmed_seats == stored.seats_taken <= FEW_SEATS
    assert stored.statuses == told
    assert told["confirmed"] > 0 and told["waitlisted"] > 0
    public = await get_meeting(two_workers, meeting_id)
    assert public["seats_left"] == FEW_SEATS - stored.seats_taken


async def test_two_workers_take_rsvps_to_many_meetings_while_hosts_publish(
    two_workers: KitServer,
) -> None:
    meetings = [await create_meeting(two_workers, FEW_SEATS) for _ in range(3)]

    bursts = [rsvp_at_once(two_workers, m, [0] * (BURST // 3)) for m in meetings]
    publishing = [create_meeting(two_workers, FEW_SEATS) for _ in range(6)]
    results = await asyncio.gather(*bursts, *publishing)

    responses = [r for burst in results[: len(meetings)] for r in burst]
    assert assert_no_server_errors(responses, two_workers) == {201: len(responses)}
    for meeting_id in meetings:
        stored = await read_seats(two_workers.database_url, meeting_id)
        assert stored.seats_taken == stored.confirmed_seats == FEW_SEATS
        assert stored.statuses == {"confirmed": FEW_SEATS, "waitlisted": BURST // 3 - FEW_SEATS}


@contextlib.contextmanager
def another_process_writing(path: Path, seconds: float) -> Iterator[None]:
    """Hold SQLite's write lock from another connection for ``seconds``."""
    locked = threading.Event()

    def hold() -> None:
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO tally (n) VALUES (100)")
            locked.set()
            time.sleep(seconds)
            db.execute("COMMIT")

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(5)
        yield
    finally:
        thread.join()


async def test_a_transaction_that_reads_then_writes_waits_for_the_other_writer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kit.sqlite3"
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(f"sqlite://{path}"))
        conn = ctx.connections.get("default")
        await conn.execute_script("CREATE TABLE tally (n INTEGER NOT NULL)")
        assert (await conn.execute_query_dict("PRAGMA journal_mode"))[0]["journal_mode"] == "wal"

        with another_process_writing(path, seconds=0.5):
            started = time.monotonic()
            async with in_transaction() as tx:
                # Read first, then write: the pattern that used to fail at once.
                [row] = await tx.execute_query_dict("SELECT count(*) AS n FROM tally")
                await tx.execute_query("INSERT INTO tally (n) VALUES (?)", [row["n"]])
            waited = time.monotonic() - started

        rows = await conn.execute_query_dict("SELECT n FROM tally ORDER BY rowid")
    assert waited >= 0.3
    # It began after the other writer committed, so it counted that writer's row.
    assert [r["n"] for r in rows] == [100, 1]
