"""Benchmark RSVPs over HTTP: POST /api/meetings/{id}/rsvps through a real `kit serve`.

    .venv/bin/python bench/rsvp.py [--db sqlite|postgres|both] [--rsvps 2000]
                                   [--concurrency 16] [--meetings 200] [--capacity 15]

For each database (SQLite and PostgreSQL, 1 and 2 workers): a fresh database,
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
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _harness import (
    KeepAlive,
    Server,
    cpu_seconds,
    drain,
    fetch_rows,
    kit_serve,
    machine,
    percentile,
    postgres_backends,
    postgres_version,
    publish_confirmed,
    reset_postgres,
    seat_counters_wrong,
)

PG_URL = "postgres://postgres@127.0.0.1:5432/kit_bench_rsvp"
WARMUP = 100  # RSVPs to meetings of their own, before the clock starts
MAX_GUESTS = 2
# The per-client limit would answer 429 to most of a load that comes from one address.
RATE_LIMIT = {"KIT_RATE_LIMIT_RSVP": "1000000/minute", "KIT_RATE_LIMIT_HOST": "1000000/hour"}


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
        return sum(n for code, n in self.codes.items() if code != 202)

    @property
    def rate(self) -> float:
        return self.rsvps / self.seconds


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


async def create_meetings(
    client: httpx.AsyncClient, url: str, count: int, capacity: int
) -> list[str]:
    run = uuid.uuid4().hex[:6]
    slots = asyncio.Semaphore(8)

    async def one(i: int) -> str:
        async with slots:
            return await publish_confirmed(client, url, meeting_body(i, capacity, run))

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
    server: Server, requests: list[tuple[str, dict[str, Any]]], concurrency: int
) -> tuple[list[float], Counter[int], Counter[str], float]:
    """(latencies s, status codes, outcomes, elapsed s) with ``concurrency`` in flight,
    each over a keep-alive connection of its own (bench/_harness.py's KeepAlive: httpx
    would spend about 2 ms of CPU a request on the cores the server runs on)."""
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    outcomes: Counter[str] = Counter()
    connections = [KeepAlive(server.port) for _ in range(concurrency)]
    headers = {"Content-Type": "application/json"}

    def runner(connection: KeepAlive) -> Any:
        async def one(request: tuple[str, dict[str, Any]]) -> None:
            path, body = request
            started = time.perf_counter()
            try:
                reply = await connection.request("POST", path, json.dumps(body).encode(), headers)
            except (OSError, asyncio.IncompleteReadError) as exc:
                codes[-1] += 1
                print(f"  {path}: {exc!r}", file=sys.stderr)
                return
            latencies.append(time.perf_counter() - started)
            codes[reply.status] += 1
            if reply.status == 202:
                outcomes[json.loads(reply.body)["status"]] += 1
            elif codes[reply.status] <= 3:
                print(f"  {reply.status}: {reply.body[:200]!r}", file=sys.stderr)

        return one

    try:
        elapsed = await drain(requests, [runner(c) for c in connections])
    finally:
        for connection in connections:
            await connection.close()
    return latencies, codes, outcomes, elapsed


# --- checks ------------------------------------------------------------------------------


async def database_counts(url: str) -> tuple[int, int]:
    """(meetings whose seat counter is wrong or over capacity, emails in the outbox)."""
    [(outbox,)] = await fetch_rows(url, "SELECT count(*) FROM outbox_message")
    return await seat_counters_wrong(url), int(outbox)


# --- run ---------------------------------------------------------------------------------


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
        kit_serve(url, data_dir, workers, env=RATE_LIMIT) as server,
        httpx.AsyncClient(base_url=server.base, limits=limits, timeout=120) as client,
    ):
        warm = await create_meetings(client, url, max(1, WARMUP // args.capacity), args.capacity)
        _, result.warmup_codes, _, _ = await send_all(
            server, rsvp_requests(warm, WARMUP, seed=0), args.concurrency
        )
        meetings = await create_meetings(client, url, args.meetings, args.capacity)
        requests = rsvp_requests(meetings, args.rsvps, seed=1)
        print(f"{db}, {workers} worker(s): {args.rsvps} RSVPs", file=sys.stderr)
        server_pids = server.processes()
        backends = await postgres_backends(url) if db == "postgres" else []
        server_cpu, db_cpu = cpu_seconds(server_pids), cpu_seconds(backends)
        client_cpu = time.process_time()
        measured = await send_all(server, requests, args.concurrency)
        result.client_cpu = time.process_time() - client_cpu
        result.server_cpu = cpu_seconds(server_pids) - server_cpu
        if backends:
            result.db_cpu = cpu_seconds(backends) - db_cpu
        result.latencies, result.codes, result.outcomes, result.seconds = measured
        result.eml_written = len(list((data_dir / "outbox").glob("*.eml")))
    result.overbooked, result.emails_queued = await database_counts(url)
    print(f"  {result.rate:,.0f} RSVP/s, codes {dict(result.codes)}", file=sys.stderr)
    return result


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
        "errors: non-202 answers in the timed phase. CPU: user+system time of the uvicorn "
        "processes and of the PostgreSQL backends holding the kit's connections, divided by "
        "the RSVPs. .eml written: files the delivery loop had written when the last RSVP "
        "was answered. Seat counters wrong: meetings whose seats_taken is over capacity or "
        "differs from the sum of confirmed parties."
    )
    client = max(r.client_cpu / r.rsvps * 1000 for r in results)
    lines.append(f"The load generator used up to {client:.1f} ms CPU per RSVP on the same cores.")
    for r in results:
        if r.warmup_codes.keys() - {202}:
            lines.append(
                f"Warm-up, {r.db} {r.workers} worker(s): answers {dict(r.warmup_codes)} "
                f"for {WARMUP} RSVPs."
            )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> None:
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    runs = [(db, workers) for db in dbs for workers in args.workers]
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
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rsvps", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--meetings", type=int, default=200)
    parser.add_argument("--capacity", type=int, default=15)
    parser.add_argument("--pg-url", default=os.environ.get("KIT_BENCH_PG_URL", PG_URL))
    parser.add_argument("--workdir", type=Path, help="keep data and logs here (default: temp)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
