"""Benchmark RSVPs over HTTP: POST /api/meetings/{id}/rsvps through a real `kit serve`.

    .venv/bin/python bench/rsvp.py [--db sqlite|postgres|both] [--rsvps 2000]
                                   [--concurrency 16] [--meetings 200] [--capacity 15]

For each database (SQLite: 1 worker; PostgreSQL: 1 and 2 workers): a fresh database,
``kit serve`` on a free loopback port, ``--meetings`` public meetings created over the
API, then ``--rsvps`` RSVPs (new email each, 0-2 guests, round-robin over the meetings,
so both confirmations and a waitlist happen) sent with ``--concurrency`` in flight.
Prints a Markdown table: RSVPs/s, p50/p99 latency, errors, outcomes, and a check that
no meeting holds more seats than its capacity. See bench/README.md.

Each RSVP queues two emails (the guest's confirmation with its invite, or the waitlist
note; and the host's "new RSVP") in the same transaction. With KIT_SMTP_URL unset, the
server's in-process delivery loop writes them as .eml files to KIT_DATA_DIR/outbox
while the load runs: that work is part of what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgres://postgres@127.0.0.1:5432/kit_bench_rsvp"
SECRET = "bench-secret-key-not-for-production"
WARMUP = 100  # RSVPs to meetings of their own, before the clock starts
MAX_GUESTS = 2


@dataclass
class Result:
    db: str
    workers: int
    rsvps: int
    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    codes: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    emails_queued: int = 0
    eml_written: int = 0
    overbooked: int = 0
    warmup_codes: Counter[int] = field(default_factory=Counter)
    server_cpu: float = 0.0  # seconds, uvicorn and its workers, during the timed phase
    db_cpu: float | None = None  # seconds, the PostgreSQL backends serving the bench
    client_cpu: float = 0.0  # seconds, this load generator, on the same cores

    @property
    def errors(self) -> int:
        return sum(n for code, n in self.codes.items() if code != 201)

    @property
    def rate(self) -> float:
        return self.rsvps / self.seconds


# --- server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def reset_postgres(url: str) -> None:
    """Create the bench database if needed and empty its schema (never the test database)."""
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    if name in {"test", "postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to wipe database {name!r}: give the bench its own (--pg-url)")
    admin = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def kit_serve(url: str, data_dir: Path, workers: int) -> AsyncIterator[tuple[str, int]]:
    """``kit serve`` (which applies the migrations first) until the block ends."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KIT_")},
        "KIT_DATABASE_URL": url,
        "KIT_DATA_DIR": str(data_dir),
        "KIT_BASE_URL": f"http://127.0.0.1:{port}",
        "KIT_SECRET_KEY": SECRET,
        "KIT_MAIL_FROM": "kit@example.org",
        "KIT_RATE_LIMIT_RSVP": "1000000/minute",
    }
    command = [
        sys.executable, "-m", "kit.cli", "serve", "--port", str(port),
        "--workers", str(workers), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    log_path = data_dir / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_until_up(base, server, log_path)
        yield base, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(600):
            if server.poll() is not None:
                raise RuntimeError(f"kit serve exited:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"kit serve did not answer /healthz within 60 s:\n{log.read_text()}")


# --- CPU accounting (Linux /proc) ----------------------------------------------------------


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (uvicorn's supervisor and its workers)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(found)
        tree |= found
    return sorted(tree)


async def postgres_backends(url: str) -> list[int]:
    """The server processes holding the bench database's connections (the kit's pools)."""
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


# --- load --------------------------------------------------------------------------------


def meeting_body(i: int, capacity: int, run: str) -> dict[str, Any]:
    day = datetime.now(UTC) + timedelta(days=7 + i % 30)
    return {
        "title": f"Bench meeting {run} {i}",
        "description": "A living-room conversation.",
        "starts_at": f"{day:%Y-%m-%d}T18:30",
        "ends_at": f"{day:%Y-%m-%d}T20:30",
        "address": {
            "street": f"{100 + i} Elm St",
            "locality": "New York",
            "postal_code": "10027",
            "country": "US",
        },
        "kind": "home",
        "capacity": capacity,
        "visibility": "public",
        "host": {"name": f"Host {i}", "email": f"host{i}.{run}@example.org"},
    }


async def create_meetings(client: httpx.AsyncClient, count: int, capacity: int) -> list[str]:
    run = uuid.uuid4().hex[:6]
    slots = asyncio.Semaphore(8)

    async def one(i: int) -> str:
        async with slots:
            response = await client.post("/api/meetings", json=meeting_body(i, capacity, run))
        if response.status_code != 201:
            raise RuntimeError(
                f"POST /api/meetings answered {response.status_code}: {response.text}"
            )
        return str(response.json()["id"])

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def rsvp_requests(meetings: list[str], count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """Round-robin over the meetings: each fills up over the run, then waitlists."""
    rng = random.Random(seed)
    run = uuid.uuid4().hex[:6]
    return [
        (
            f"/api/meetings/{meetings[i % len(meetings)]}/rsvps",
            {
                "name": f"Neighbor {i}",
                "email": f"guest{i}.{run}@example.org",
                "guests": rng.randint(0, MAX_GUESTS),
            },
        )
        for i in range(count)
    ]


async def send_all(
    client: httpx.AsyncClient, requests: list[tuple[str, dict[str, Any]]], concurrency: int
) -> tuple[list[float], Counter[int], Counter[str], float]:
    """(latencies s, status codes, outcomes, elapsed s) with ``concurrency`` in flight."""
    queue = iter(requests)
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    outcomes: Counter[str] = Counter()

    async def worker() -> None:
        for path, body in queue:
            started = time.perf_counter()
            try:
                response = await client.post(path, json=body)
            except httpx.HTTPError as exc:
                codes[-1] += 1
                print(f"  {path}: {exc!r}", file=sys.stderr)
                continue
            latencies.append(time.perf_counter() - started)
            codes[response.status_code] += 1
            if response.status_code == 201:
                outcomes[response.json()["status"]] += 1
            elif codes[response.status_code] <= 3:
                print(f"  {response.status_code}: {response.text[:200]}", file=sys.stderr)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, codes, outcomes, time.perf_counter() - started


# --- checks ------------------------------------------------------------------------------

OVERBOOKED_SQL = """
SELECT count(*) FROM meeting m
WHERE m.seats_taken > m.capacity OR m.seats_taken <> (
    SELECT coalesce(sum(1 + r.guests), 0) FROM rsvp r
    WHERE r.meeting_id = m.id AND r.status = 'confirmed')
"""
OUTBOX_SQL = "SELECT count(*) FROM outbox_email"


async def database_counts(url: str) -> tuple[int, int]:
    """(meetings whose seat counter is wrong or over capacity, emails in the outbox)."""
    if url.startswith("sqlite://"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite://"))) as db:
            return db.execute(OVERBOOKED_SQL).fetchone()[0], db.execute(OUTBOX_SQL).fetchone()[0]
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(OVERBOOKED_SQL), await conn.fetchval(OUTBOX_SQL)
    finally:
        await conn.close()


# --- run ---------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def bench_one(db: str, workers: int, args: argparse.Namespace, workdir: Path) -> Result:
    data_dir = workdir / f"{db}-{workers}w-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    data_dir.mkdir(parents=True)
    if db == "sqlite":
        url = f"sqlite://{data_dir / 'kit.sqlite3'}"
    else:
        url = args.pg_url
        await reset_postgres(url)
    result = Result(db, workers, args.rsvps, args.concurrency)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=64)
    async with (
        kit_serve(url, data_dir, workers) as (base, pid),
        httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client,
    ):
        warm = await create_meetings(client, max(1, WARMUP // args.capacity), args.capacity)
        _, result.warmup_codes, _, _ = await send_all(
            client, rsvp_requests(warm, WARMUP, seed=0), args.concurrency
        )
        meetings = await create_meetings(client, args.meetings, args.capacity)
        requests = rsvp_requests(meetings, args.rsvps, seed=1)
        print(f"{db}, {workers} worker(s): {args.rsvps} RSVPs", file=sys.stderr)
        server = process_tree(pid)
        backends = await postgres_backends(url) if db == "postgres" else []
        server_cpu, db_cpu = cpu_seconds(server), cpu_seconds(backends)
        client_cpu = time.process_time()
        measured = await send_all(client, requests, args.concurrency)
        result.client_cpu = time.process_time() - client_cpu
        result.server_cpu = cpu_seconds(server) - server_cpu
        if backends:
            result.db_cpu = cpu_seconds(backends) - db_cpu
        result.latencies, result.codes, result.outcomes, result.seconds = measured
        result.eml_written = len(list((data_dir / "outbox").glob("*.eml")))
    result.overbooked, result.emails_queued = await database_counts(url)
    print(f"  {result.rate:,.0f} RSVP/s, codes {dict(result.codes)}", file=sys.stderr)
    return result


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"nproc {os.cpu_count()} ({model}), Python {platform.python_version()}"


async def postgres_version(url: str) -> str:
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        conn = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
        try:
            return "PostgreSQL " + str(await conn.fetchval("SHOW server_version")).split()[0]
        finally:
            await conn.close()
    return "PostgreSQL not reachable"


def table(results: list[Result], args: argparse.Namespace, pg_version: str) -> str:
    lines = [
        f"RSVP benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}; SQLite {sqlite3.sqlite_version}; {pg_version}",
        f"Load: {args.rsvps} RSVPs (new email each, 0-{MAX_GUESTS} guests) round-robin over "
        f"{args.meetings} meetings of capacity {args.capacity}, {args.concurrency} in flight, "
        f"after {WARMUP} warm-up RSVPs; `kit serve` (uvicorn) on loopback; every RSVP queues "
        "2 emails, delivered in-process as .eml files (KIT_SMTP_URL unset).",
        "",
        "| DB | workers | RSVP/s | p50 ms | p99 ms | errors | confirmed | waitlisted "
        "| server CPU ms/RSVP | DB CPU ms/RSVP | emails queued | .eml written "
        "| seat counters wrong |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        db_cpu = "in-process" if r.db_cpu is None else f"{r.db_cpu / r.rsvps * 1000:.1f}"
        lines.append(
            f"| {r.db} | {r.workers} | {r.rate:,.0f} | {percentile(r.latencies, 50) * 1000:.1f} "
            f"| {percentile(r.latencies, 99) * 1000:.1f} | {r.errors} "
            f"| {r.outcomes['confirmed']} | {r.outcomes['waitlisted']} "
            f"| {r.server_cpu / r.rsvps * 1000:.1f} | {db_cpu} | {r.emails_queued:,} "
            f"| {r.eml_written:,} | {r.overbooked} |"
        )
    lines.append("")
    lines.append(
        "errors: non-201 answers in the timed phase. CPU: user+system time of the uvicorn "
        "processes and of the PostgreSQL backends holding the kit's connections, divided by "
        "the RSVPs. .eml written: files the delivery loop had written when the last RSVP "
        "was answered. Seat counters wrong: meetings whose seats_taken is over capacity or "
        "differs from the sum of confirmed parties."
    )
    client = max(r.client_cpu / r.rsvps * 1000 for r in results)
    lines.append(f"The load generator used up to {client:.1f} ms CPU per RSVP on the same cores.")
    for r in results:
        if r.warmup_codes.keys() - {201}:
            lines.append(
                f"Warm-up, {r.db} {r.workers} worker(s): answers {dict(r.warmup_codes)} "
                f"for {WARMUP} RSVPs."
            )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> None:
    runs = []
    if args.db in {"sqlite", "both"}:
        runs.append(("sqlite", 1))  # several workers on SQLite: "database is locked"
    if args.db in {"postgres", "both"}:
        runs += [("postgres", 1), ("postgres", 2)]
    results = []
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        for db, workers in runs:
            results.append(await bench_one(db, workers, args, workdir))
    print(table(results, args, await postgres_version(args.pg_url)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rsvps", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--meetings", type=int, default=200)
    parser.add_argument("--capacity", type=int, default=15)
    parser.add_argument("--pg-url", default=os.environ.get("KIT_BENCH_PG_URL", PG_URL))
    parser.add_argument("--workdir", type=Path, help="keep data and logs here (default: temp)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
