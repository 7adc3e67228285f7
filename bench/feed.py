"""How long a campaign's calendar feed of 5,000 meetings takes: first render, cached,
and a conditional request answered 304, through the real ASGI app; then the near-me
feed (``/meetings.ics?near=lat,lon``, up to 100 meetings) among 100,000 meetings
seeded as bench/search.py seeds them: p50 of the first request for each point
(nothing cached), of the same request right after, and of each point again once all
the others were fetched (as subscribers' calendars come back), in-process through
httpx's ASGI transport (the client's own work counts too), wall and CPU time.

    .venv/bin/python bench/feed.py [--meetings 5000] [--db-url sqlite:///tmp/feed.db]
                                   [--near-size 100000] [--near-points 200]
                                   [--near-pg-url postgres://...]  (--near-size 0: skip)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from _harness import reset_postgres
from search import PG_URL, load_cities, prepare, query_points
from tortoise import Tortoise

from kit.core.settings import Settings
from kit.meetings.feeds import FeedCache
from kit.store.db import apply_migrations, tortoise_config
from kit.store.models import Campaign, Meeting, Person
from kit.web.app import create_app

ZONES = [
    ("New York", "America/New_York", 40.71, -74.0),
    ("Lyon", "Europe/Paris", 45.76, 4.83),
    ("Oakland", "America/Los_Angeles", 37.8, -122.27),
]


async def seed(count: int) -> None:
    """``count`` meetings in the campaign "bench", and the first of them again in
    "warm-up" (a process has served other feeds before: connections, statements, zones)."""
    campaign = await Campaign.create(slug="bench", name="Bench campaign")
    warm_up = await Campaign.create(slug="warm-up", name="Warm-up campaign")
    host = await Person.create(name="Quinn Doe", email="quinn@example.org")
    start = datetime.now(UTC) + timedelta(days=1)
    rows = []
    for n in range(count + 1):
        if n == count:
            campaign, n = warm_up, 0
        locality, tz, lat, lon = ZONES[n % len(ZONES)]
        begins = start + timedelta(hours=n % (24 * 40))
        rows.append(
            Meeting(
                public_id=f"{campaign.slug[:5]}{n:07d}",
                campaign=campaign,
                host=host,
                title=f"Talk {n}",
                description="A living-room conversation.",
                starts_at=begins,
                ends_at=begins + timedelta(hours=2),
                timezone=tz,
                street=f"{n} Elm St",
                lat=lat,
                lon=lon,
                approx_lat=lat + 0.01,
                approx_lon=lon + 0.01,
                locality=locality,
                country="US",
                submission_key=f"{campaign.slug}-{n}",
            )
        )
    await Meeting.bulk_create(rows, batch_size=1000)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def bench_settings(workdir: Path, url: str) -> Settings:
    return Settings.from_env(
        {
            "KIT_DATA_DIR": str(workdir),
            "KIT_DATABASE_URL": url,
            "KIT_SECRET_KEY": "bench",
            "KIT_BASE_URL": "http://bench",
        }
    )


async def near_me(args: argparse.Namespace, workdir: Path) -> None:
    """p50 of /meetings.ics?near= uncached, warm right after, and warm after a round."""
    cities = load_cities()
    db = "postgres" if args.db_url.startswith("postgres") else "sqlite"
    url, _ = await prepare(db, args.near_size, workdir, args.near_pg_url, cities)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    app = create_app(bench_settings(workdir, url), manage_db=False)
    points = query_points(args.near_points, cities)
    paths = [f"/meetings.ics?near={lat:.4f},{lon:.4f}" for lat, lon in points]
    transport = httpx.ASGITransport(app=app)
    kinds = ("uncached", "warm: right after", f"warm: after all {len(paths)} points")
    figures: dict[str, tuple[list[float], list[float]]] = {kind: ([], []) for kind in kinds}
    events = []

    async def timed(kind: str, path: str) -> httpx.Response:
        wall, cpu = figures[kind]
        started, used = time.perf_counter(), time.process_time()
        response = await client.get(path)
        cpu.append(time.process_time() - used)
        wall.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text[:200]
        return response

    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for lat, lon in query_points(20, cities, seed=99):  # connections, zones; then a fresh cache
            assert (await client.get(f"/meetings.ics?near={lat:.4f},{lon:.4f}")).status_code == 200
        app.state.feed_cache = FeedCache()
        for path in paths:  # the first request renders; the same again is cached
            await timed(kinds[0], path)
            events.append((await timed(kinds[1], path)).text.count("BEGIN:VEVENT"))
        for path in paths:  # a subscriber's next fetch, after everyone else's
            await timed(kinds[2], path)
    await Tortoise.close_connections()
    print(
        f"\nNear-me feed among {args.near_size:,} meetings ({db}), {len(paths)} points, "
        f"{statistics.mean(events):.0f} events a feed on average, load average "
        f"{Path('/proc/loadavg').read_text().split()[0]}\n"
    )
    print("| request | p50 wall | p50 CPU |")
    print("|---|---|---|")
    for kind, (wall, cpu) in figures.items():
        print(f"| {kind} | {ms(statistics.median(wall))} | {ms(statistics.median(cpu))} |")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meetings", type=int, default=5000)
    parser.add_argument("--db-url", default="")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--near-size", type=int, default=100_000)
    parser.add_argument("--near-points", type=int, default=200)
    parser.add_argument("--near-pg-url", default=os.environ.get("KIT_BENCH_PG_URL", PG_URL))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kit-feed-bench-"))
    if args.meetings:
        await campaign(args, workdir)
    if args.near_size:
        await near_me(args, workdir)


async def campaign(args: argparse.Namespace, workdir: Path) -> None:
    url = args.db_url or f"sqlite://{workdir / 'feed.sqlite3'}"
    if url.startswith("postgres"):
        await reset_postgres(url)
    settings = bench_settings(workdir, url)
    await apply_migrations(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    await seed(args.meetings)
    app = create_app(settings, manage_db=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        assert (await client.get("/campaigns/warm-up/meetings.ics")).status_code == 200
        started = time.perf_counter()
        first = await client.get("/campaigns/bench/meetings.ics")
        cold = time.perf_counter() - started
        assert first.status_code == 200, first.text[:200]
        cached, not_modified = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            assert (await client.get("/campaigns/bench/meetings.ics")).status_code == 200
            cached.append(time.perf_counter() - t)
            t = time.perf_counter()
            response = await client.get(
                "/campaigns/bench/meetings.ics", headers={"If-None-Match": first.headers["etag"]}
            )
            assert response.status_code == 304
            not_modified.append(time.perf_counter() - t)
    await Tortoise.close_connections()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        "?",
    )
    print(
        f"Campaign feed of {args.meetings} meetings ({len(first.content) / 1e6:.1f} MB), "
        f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, {cpu}, "
        f"Python {platform.python_version()}, {url.split(':')[0]}\n"
    )
    print("| request | time |")
    print("|---|---|")
    print(f"| first (query + render in a thread; after another feed) | {ms(cold)} |")
    print(f"| cached (fingerprint query + send), p50 | {ms(statistics.median(cached))} |")
    print(f"| If-None-Match → 304, p50 | {ms(statistics.median(not_modified))} |")


if __name__ == "__main__":
    asyncio.run(main())
