"""A mixed load against a real `kit serve --workers 2`: searches, meeting pages, calendar
feeds and RSVPs, open-loop at a target rate and closed-loop at full speed.

    .venv/bin/python bench/load.py [--db sqlite|postgres|both] [--workers 2]
                                   [--rate 50] [--duration 30] [--mode open|closed|both]
                                   [--concurrency 16] [--meetings 300]

Per database: a fresh database seeded by ``kit demo --meetings N`` (one campaign, real
towns, RSVPs, past meetings with reports), then ``kit serve`` with ``--workers``
processes on a free loopback port. The load mixes (weights in MIX below):

- search (40 %): ``/find?near=ZIP or town`` (HTML) and ``/api/meetings?near=lat,lon``;
- meeting pages (35 %): ``/meetings/{id}`` (HTML) and ``/api/meetings/{id}``;
- calendars (15 %): ``/meetings/{id}.ics``, ``/meetings.ics?near=…`` and the campaign's
  ``/campaigns/{slug}/meetings.ics``;
- RSVPs (10 %): the meeting page's form (a session cookie and CSRF token read from the
  page, as a browser does) and the JSON API, each from a new email address.

Open loop: requests start at Poisson arrival times at ``--rate`` per second for
``--duration`` seconds, whatever the server does (at most ``--connections`` in flight);
latency counts from the planned start, so a stalled server shows in the figures instead
of slowing the load down. Closed loop: ``--concurrency`` clients send back to back for
``--duration`` seconds, which measures the maximum throughput. Prints a Markdown table
per run; exits 1 if any request got a 5xx or no answer, or a seat counter went wrong.
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from _harness import (
    CSRF_FIELD,
    KeepAlive,
    Reply,
    Server,
    Tally,
    cookies_from,
    cpu_seconds,
    fetch_rows,
    kit_serve,
    load_average,
    machine,
    percentile,
    postgres_backends,
    postgres_version,
    reset_postgres,
    run_kit,
    seat_counters_wrong,
)

from kit.ops.demo import CAMPAIGN_SLUG, CITIES

PG_URL = "postgres://postgres@127.0.0.1:5432/bench_load"
# The default (10/minute per client) would turn this load, which comes from one machine,
# into 429s; each simulated visitor also sends its own X-Forwarded-For address.
RSVP_LIMIT = "1000000/minute"
SESSIONS = 200  # browser sessions (cookie + CSRF token) the RSVP form posts come from
TIMEOUT_S = 60.0


# --- what to ask for ------------------------------------------------------------------------


@dataclass
class Targets:
    meetings: list[str]  # public ids of published, public meetings
    points: list[tuple[float, float]]  # their public (approximate) points
    places: list[str]  # what people type into the search box: ZIPs and towns
    sessions: list[tuple[str, str]] = field(default_factory=list)  # (Cookie header, token)
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    rsvps: int = 0

    def email(self) -> str:
        self.rsvps += 1
        return f"neighbor{self.rsvps}.{self.run}@example.org"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def visitor(rng: random.Random) -> dict[str, str]:
    n = rng.randrange(1, 1 << 24)
    return {"X-Forwarded-For": f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}"}


def find_page(t: Targets, rng: random.Random) -> Request:
    return Request("GET", "/find?" + urlencode({"near": rng.choice(t.places)}))


def api_search(t: Targets, rng: random.Random) -> Request:
    lat, lon = rng.choice(t.points)
    lat, lon = lat + rng.uniform(-0.05, 0.05), lon + rng.uniform(-0.05, 0.05)
    return Request("GET", f"/api/meetings?near={lat:.5f},{lon:.5f}&radius_km=25")


def meeting_page(t: Targets, rng: random.Random) -> Request:
    return Request("GET", f"/meetings/{rng.choice(t.meetings)}")


def api_meeting(t: Targets, rng: random.Random) -> Request:
    return Request("GET", f"/api/meetings/{rng.choice(t.meetings)}")


def meeting_ics(t: Targets, rng: random.Random) -> Request:
    return Request("GET", f"/meetings/{rng.choice(t.meetings)}.ics")


def near_ics(t: Targets, rng: random.Random) -> Request:
    return Request("GET", "/meetings.ics?" + urlencode({"near": rng.choice(t.places)}))


def campaign_ics(t: Targets, rng: random.Random) -> Request:
    return Request("GET", f"/campaigns/{CAMPAIGN_SLUG}/meetings.ics")


def rsvp_form(t: Targets, rng: random.Random) -> Request:
    cookie, token = rng.choice(t.sessions)
    form = {
        "csrf_token": token,
        "name": "Load Neighbor",
        "email": t.email(),
        "guests": str(rng.choice((0, 0, 1, 2))),
        "note": "",
        "website": "",
    }
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    path = f"/meetings/{rng.choice(t.meetings)}/rsvp"
    return Request("POST", path, urlencode(form).encode(), headers | visitor(rng))


def rsvp_api(t: Targets, rng: random.Random) -> Request:
    body = {"name": "Load Neighbor", "email": t.email(), "guests": rng.choice((0, 0, 1, 2))}
    headers = {"Content-Type": "application/json"} | visitor(rng)
    path = f"/api/meetings/{rng.choice(t.meetings)}/rsvps"
    return Request("POST", path, json.dumps(body).encode(), headers)


@dataclass(frozen=True)
class Kind:
    name: str
    group: str
    weight: int
    make: Callable[[Targets, random.Random], Request]


MIX = (
    Kind("/find?near=ZIP or town", "search", 20, find_page),
    Kind("/api/meetings?near=lat,lon", "search", 20, api_search),
    Kind("/meetings/{id}", "meeting page", 30, meeting_page),
    Kind("/api/meetings/{id}", "meeting page", 5, api_meeting),
    Kind("/meetings/{id}.ics", "ics", 8, meeting_ics),
    Kind("/meetings.ics?near=…", "ics", 4, near_ics),
    Kind("/campaigns/{slug}/meetings.ics", "ics", 3, campaign_ics),
    Kind("POST /meetings/{id}/rsvp (form)", "rsvp", 6, rsvp_form),
    Kind("POST /api/meetings/{id}/rsvps", "rsvp", 4, rsvp_api),
)


def describe_mix() -> str:
    total = sum(k.weight for k in MIX)
    groups: dict[str, int] = {}
    for kind in MIX:
        groups[kind.group] = groups.get(kind.group, 0) + kind.weight
    return ", ".join(f"{group} {100 * w / total:.0f} %" for group, w in groups.items())


# --- sending ---------------------------------------------------------------------------------


async def send(connection: KeepAlive, request: Request) -> Reply:
    return await asyncio.wait_for(
        connection.request(request.method, request.path, request.body, request.headers),
        TIMEOUT_S,
    )


@dataclass
class Run:
    mode: str
    tallies: dict[str, Tally]
    seconds: float
    planned: int = 0
    server_cpu: float = 0.0
    db_cpu: float | None = None
    client_cpu: float = 0.0
    samples: list[str] = field(default_factory=list)  # the first few failures

    def total(self) -> Tally:
        merged = Tally()
        for tally in self.tallies.values():
            merged.latencies += tally.latencies
            for code, n in tally.codes.items():
                merged.codes[code] = merged.codes.get(code, 0) + n
        return merged


class Recorder:
    def __init__(self, mode: str) -> None:
        self.run = Run(mode, {kind.name: Tally() for kind in MIX}, 0.0)

    async def one(self, connection: KeepAlive, kind: Kind, request: Request, start: float) -> None:
        try:
            reply = await send(connection, request)
            status = reply.status
        except Exception as exc:  # noqa: BLE001 - any failure to answer is counted, not raised
            status = -1
            self.sample(f"{request.method} {request.path}: no answer ({exc!r})")
        else:
            if status >= 500:
                self.sample(f"{request.method} {request.path}: {status} {reply.body[:200]!r}")
        self.run.tallies[kind.name].add(status, time.perf_counter() - start)

    def sample(self, text: str) -> None:
        if len(self.run.samples) < 5:
            self.run.samples.append(text)
            print(f"  {text}", file=sys.stderr)


def pick(rng: random.Random) -> Kind:
    return rng.choices(MIX, weights=[k.weight for k in MIX])[0]


async def open_loop(server: Server, t: Targets, args: argparse.Namespace) -> Run:
    """Poisson arrivals at ``args.rate``; at most ``args.connections`` in flight."""
    rng = random.Random(args.seed)
    recorder = Recorder(f"open loop, {args.rate:g} req/s for {args.duration:g} s")
    slots = asyncio.Semaphore(args.connections)
    idle: list[KeepAlive] = []

    async def fire(kind: Kind, request: Request, planned: float) -> None:
        async with slots:
            connection = idle.pop() if idle else KeepAlive(server.port)
            try:
                await recorder.one(connection, kind, request, planned)
            finally:
                idle.append(connection)

    tasks = []
    started = clock = time.perf_counter()
    while (clock := clock + rng.expovariate(args.rate)) < started + args.duration:
        await asyncio.sleep(max(0.0, clock - time.perf_counter()))
        kind = pick(rng)
        tasks.append(asyncio.create_task(fire(kind, kind.make(t, rng), clock)))
    await asyncio.gather(*tasks)
    recorder.run.seconds = time.perf_counter() - started
    recorder.run.planned = len(tasks)
    for connection in idle:
        await connection.close()
    return recorder.run


async def closed_loop(server: Server, t: Targets, args: argparse.Namespace) -> Run:
    """``args.concurrency`` clients, each sending its next request when the last is answered."""
    recorder = Recorder(f"closed loop, {args.concurrency} clients for {args.duration:g} s")
    deadline = time.perf_counter() + args.duration

    async def client(n: int) -> None:
        rng = random.Random(args.seed * 1000 + n)
        connection = KeepAlive(server.port)
        try:
            while time.perf_counter() < deadline:
                kind = pick(rng)
                await recorder.one(connection, kind, kind.make(t, rng), time.perf_counter())
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(args.concurrency)))
    recorder.run.seconds = time.perf_counter() - started
    return recorder.run


async def measured(load: Callable[[], Awaitable[Run]], server: Server, url: str) -> Run:
    """Run one load and charge it the CPU of the server, PostgreSQL and this client."""
    pids = server.processes()
    backends = [] if url.startswith("sqlite://") else await postgres_backends(url)
    server_cpu, db_cpu, client_cpu = cpu_seconds(pids), cpu_seconds(backends), time.process_time()
    run = await load()
    run.client_cpu = time.process_time() - client_cpu
    run.server_cpu = cpu_seconds(pids) - server_cpu
    if backends:
        run.db_cpu = cpu_seconds(backends) - db_cpu
    return run


# --- preparing ---------------------------------------------------------------------------------


async def targets(url: str) -> Targets:
    rows = await fetch_rows(
        url,
        "SELECT public_id, approx_lat, approx_lon FROM meeting "
        "WHERE status = 'published' AND visibility = 'public' ORDER BY id",
    )
    places = [
        postal or f"{town}, {country}" for town, postal, country in CITIES
    ]  # as people type them
    return Targets(
        meetings=[row[0] for row in rows],
        points=[(float(row[1]), float(row[2])) for row in rows],
        places=places,
    )


async def open_sessions(server: Server, t: Targets, count: int) -> None:
    """Visit meeting pages as new browsers do: a session cookie and the form's CSRF token."""
    connection = KeepAlive(server.port)
    try:
        for i in range(count):
            reply = await send(
                connection, Request("GET", f"/meetings/{t.meetings[i % len(t.meetings)]}")
            )
            match = CSRF_FIELD.search(reply.body)
            cookies = cookies_from(reply)
            if reply.status != 200 or match is None or not cookies:
                raise SystemExit(f"meeting page gave no session or CSRF token ({reply.status})")
            cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
            t.sessions.append((cookie, match.group(1).decode()))
    finally:
        await connection.close()


async def warm_up(server: Server, t: Targets) -> int:
    """Every kind of request a few times (first renders, caches, pools), checked for 2xx/3xx;
    returns how many RSVPs that made."""
    rng = random.Random(0)
    connection = KeepAlive(server.port)
    try:
        for kind in MIX:
            for _ in range(3):
                request = kind.make(t, rng)
                reply = await send(connection, request)
                if reply.status >= 400:
                    raise SystemExit(
                        f"warm-up: {request.method} {request.path} answered {reply.status}: "
                        f"{reply.body[:300]!r}"
                    )
    finally:
        await connection.close()
    return 3 * sum(1 for kind in MIX if kind.group == "rsvp")


# --- report ------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def row(name: str, tally: Tally, seconds: float) -> str:
    count = sum(tally.codes.values())
    lat = tally.latencies or [float("nan")]
    return (
        f"| {name} | {count:,} | {count / seconds:,.1f} | {ms(percentile(lat, 50))} "
        f"| {ms(percentile(lat, 99))} | {ms(max(lat))} | {tally.count(400, 499)} "
        f"| {tally.count(500, 599)} | {tally.codes.get(-1, 0)} |"
    )


def run_table(run: Run, label: str) -> list[str]:
    total = run.total()
    answered = max(1, sum(total.codes.values()))
    lines = [
        f"**{label}, {run.mode}**"
        + (
            f" ({run.planned:,} planned, {run.planned / run.seconds:,.1f} req/s)"
            if run.planned
            else ""
        ),
        "",
        "| request | count | req/s | p50 ms | p99 ms | max ms | 4xx | 5xx | no answer |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [row(name, tally, run.seconds) for name, tally in run.tallies.items()]
    lines.append(row("**all**", total, run.seconds))
    db_cpu = "" if run.db_cpu is None else f", PostgreSQL {run.db_cpu / answered * 1000:.1f}"
    lines += [
        "",
        f"CPU per request: server {run.server_cpu / answered * 1000:.1f} ms{db_cpu}, "
        f"load generator {run.client_cpu / answered * 1000:.1f} ms.",
    ]
    lines += [f"First failure: {sample}" for sample in run.samples[:3]]
    return lines


@dataclass
class Outcome:
    db: str
    runs: list[Run]
    seeded: str
    wrong_seats: int
    log_errors: int
    load_before: str
    load_after: str
    rsvps: tuple[int, int]  # (answered 2xx/3xx, found in the database afterwards)

    def failed(self) -> bool:
        total = [r.total() for r in self.runs]
        bad = sum(t.count(500, 599) + t.codes.get(-1, 0) for t in total)
        return bool(bad or self.wrong_seats or self.log_errors or len(set(self.rsvps)) > 1)


def report(outcomes: list[Outcome], args: argparse.Namespace, pg: str) -> str:
    lines = [
        f"Mixed load benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}; SQLite {sqlite3.sqlite_version}; {pg}",
        f"Server: `kit serve --workers {args.workers}` on loopback, seeded by "
        f"`kit demo --meetings {args.meetings}`; KIT_RATE_LIMIT_RSVP={RSVP_LIMIT} so the "
        "per-client RSVP limit (10/minute by default) doesn't turn this one-machine load "
        "into 429s; KIT_SMTP_URL unset (emails written as .eml files in-process).",
        f"Mix: {describe_mix()} (weights: "
        + ", ".join(f"{k.name} {k.weight}" for k in MIX)
        + "). Every RSVP from a new email; latency from the planned start in the open loop.",
    ]
    for o in outcomes:
        lines += [
            "",
            f"### {o.db}",
            "",
            f"{o.seeded} Load average before / after (1, 5, 15 min): "
            f"{o.load_before}; {o.load_after}.",
            "",
        ]
        for run in o.runs:
            lines += run_table(run, o.db) + [""]
        lines.append(
            f"RSVPs accepted (2xx/3xx) / found in the database: {o.rsvps[0]:,} / {o.rsvps[1]:,}. "
            f"Seat counters wrong after the load: {o.wrong_seats}; "
            f"'database is locked' or tracebacks in the server log: {o.log_errors}."
        )
    return "\n".join(lines)


# --- run -----------------------------------------------------------------------------------------


async def bench_db(db: str, args: argparse.Namespace, workdir: Path) -> Outcome:
    data_dir = workdir / f"{db}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    data_dir.mkdir(parents=True)
    if db == "sqlite":
        url = f"sqlite://{data_dir / 'kit.sqlite3'}"
    else:
        url = args.pg_url
        await reset_postgres(url)
    print(f"{db}: kit demo --meetings {args.meetings}", file=sys.stderr)
    seeded = await asyncio.to_thread(
        run_kit, ["demo", "--meetings", str(args.meetings)], url, data_dir
    )
    t = await targets(url)
    env = {"KIT_RATE_LIMIT_RSVP": RSVP_LIMIT}
    load_before = load_average()
    runs = []
    async with kit_serve(url, data_dir, args.workers, env=env) as server:
        await open_sessions(server, t, SESSIONS)
        accepted = await warm_up(server, t)  # its RSVPs are in the database too
        if args.mode in {"open", "both"}:
            print(f"{db}: open loop at {args.rate:g} req/s", file=sys.stderr)
            runs.append(await measured(lambda: open_loop(server, t, args), server, url))
        if args.mode in {"closed", "both"}:
            print(f"{db}: closed loop, {args.concurrency} clients", file=sys.stderr)
            runs.append(await measured(lambda: closed_loop(server, t, args), server, url))
        log = server.log.read_text()
    load_after = load_average()
    log_errors = log.count("database is locked") + log.count("Traceback")
    [(recorded,)] = await fetch_rows(
        url,
        "SELECT count(*) FROM rsvp r JOIN person p ON p.id = r.person_id "
        f"WHERE p.email LIKE '%.{t.run}@example.org'",
    )
    accepted += sum(
        r.tallies[k.name].count(200, 399) for r in runs for k in MIX if k.group == "rsvp"
    )
    return Outcome(
        db,
        runs,
        seeded,
        await seat_counters_wrong(url),
        log_errors,
        load_before,
        load_after,
        rsvps=(accepted, int(recorded)),
    )


async def run(args: argparse.Namespace) -> int:
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    outcomes = []
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        for db in dbs:
            outcomes.append(await bench_db(db, args, workdir))
    pg = await postgres_version(args.pg_url) if "postgres" in dbs else "PostgreSQL not used"
    print(report(outcomes, args, pg))
    return 1 if any(o.failed() for o in outcomes) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2, help="kit serve processes")
    parser.add_argument("--meetings", type=int, default=300, help="kit demo --meetings")
    parser.add_argument("--mode", choices=["open", "closed", "both"], default="both")
    parser.add_argument("--rate", type=float, default=50, help="open loop: requests/s")
    parser.add_argument("--duration", type=float, default=30, help="seconds per run")
    parser.add_argument("--connections", type=int, default=64, help="open loop: most in flight")
    parser.add_argument("--concurrency", type=int, default=16, help="closed loop: clients")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=os.environ.get("KIT_BENCH_PG_URL", PG_URL))
    parser.add_argument("--workdir", type=Path, help="keep data and logs here (default: temp)")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
