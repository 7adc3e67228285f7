"""SQLite with several `kit serve` workers: bursts of writes wait their turn, never fail.

Two processes share one SQLite file. Tortoise's deferred ``BEGIN`` made a transaction
that had already read fail at once with "database is locked" when the other process
held the write lock; kit/store/sqlite.py begins transactions IMMEDIATE, so the second writer
waits (busy_timeout) instead. These tests always run on SQLite, whatever database the
rest of the suite uses.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.servers import ROOT, KitServer, kit_serve
from tests.test_concurrency import create_meeting, get_meeting, read_seats, rsvp_at_once

pytestmark = pytest.mark.server

WORKERS = 2
BURST = 120
FEW_SEATS = 6


@pytest.fixture(scope="module")
async def two_workers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KitServer]:
    data_dir = tmp_path_factory.mktemp("sqlite-workers")
    url = f"sqlite://{data_dir / 'kit.sqlite3'}"
    quiet = ("--log-level", "warning")
    async with kit_serve(data_dir, url, workers=WORKERS, args=quiet) as server:
        assert len(server.worker_pids()) == WORKERS, server.log_text()
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
    assert codes == {202: BURST}
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
    assert assert_no_server_errors(responses, two_workers) == {202: len(responses)}
    for meeting_id in meetings:
        stored = await read_seats(two_workers.database_url, meeting_id)
        assert stored.seats_taken == stored.confirmed_seats == FEW_SEATS
        assert stored.statuses == {"confirmed": FEW_SEATS, "waitlisted": BURST // 3 - FEW_SEATS}


# Run in a process of its own: Tortoise's connections are global, and this test needs
# a SQLite database whatever the suite's own database is.
READ_THEN_WRITE = """
import asyncio, contextlib, json, sqlite3, sys, threading, time
from tortoise import Tortoise
from tortoise.transactions import in_transaction
from kit.store.db import tortoise_config

path = sys.argv[1]

def hold(locked, seconds):
    # Another connection holds the write lock, as a second worker would.
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO tally (n) VALUES (100)")
        locked.set()
        time.sleep(seconds)
        db.execute("COMMIT")

async def main():
    await Tortoise.init(config=tortoise_config(f"sqlite://{path}"))
    conn = Tortoise.get_connection("default")
    await conn.execute_script("CREATE TABLE tally (n INTEGER NOT NULL)")
    [mode] = await conn.execute_query_dict("PRAGMA journal_mode")
    locked = threading.Event()
    holder = threading.Thread(target=hold, args=(locked, 0.5))
    holder.start()
    assert locked.wait(5)
    started = time.monotonic()
    async with in_transaction() as tx:
        # Read first, then write: the pattern that used to fail at once.
        [row] = await tx.execute_query_dict("SELECT count(*) AS n FROM tally")
        await tx.execute_query("INSERT INTO tally (n) VALUES (?)", [row["n"]])
    waited = time.monotonic() - started
    holder.join()
    rows = await conn.execute_query_dict("SELECT n FROM tally ORDER BY rowid")
    await Tortoise.close_connections()
    print(json.dumps({"journal_mode": mode["journal_mode"], "waited": waited,
                      "rows": [r["n"] for r in rows]}))

asyncio.run(main())
"""


async def test_a_transaction_that_reads_then_writes_waits_for_the_other_writer(
    tmp_path: Path,
) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", READ_THEN_WRITE, str(tmp_path / "kit.sqlite3")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["journal_mode"] == "wal"
    # It waited for the other writer (which held the lock for 0.5 s) instead of failing,
    assert result["waited"] >= 0.3
    # and began after that writer committed, so it counted that writer's row.
    assert result["rows"] == [100, 1]
