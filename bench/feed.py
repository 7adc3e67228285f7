"""How long a campaign's calendar feed of 5,000 meetings takes: first render, cached,
and a conditional request answered 304, through the real ASGI app.

    .venv/bin/python bench/feed.py [--meetings 5000] [--db-url sqlite:///tmp/feed.db]
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
from tortoise import Tortoise

from kit.core.settings import Settings
from kit.store.db import apply_migrations, tortoise_config
from kit.store.models import Campaign, Meeting, Person
from kit.web.app import create_app

ZONES = [
    ("New York", "America/New_York", 40.71, -74.0),
    ("Lyon", "Europe/Paris", 45.76, 4.83),
    ("Oakland", "America/Los_Angeles", 37.8, -122.27),
]


async def seed(count: int) -> None:
    campaign = await Campaign.create(slug="bench", name="Bench campaign")
    host = await Person.create(name="Quinn Doe", email="quinn@example.org")
    start = datetime.now(UTC) + timedelta(days=1)
    rows = []
    for n in range(count):
        locality, tz, lat, lon = ZONES[n % len(ZONES)]
        begins = start + timedelta(hours=n % (24 * 40))
        rows.append(
            Meeting(
                public_id=f"bench{n:07d}",
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
                submission_key=f"bench-{n}",
            )
        )
    await Meeting.bulk_create(rows, batch_size=1000)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meetings", type=int, default=5000)
    parser.add_argument("--db-url", default="")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kit-feed-bench-"))
    url = args.db_url or f"sqlite://{workdir / 'feed.sqlite3'}"
    settings = Settings.from_env(
        {
            "KIT_DATA_DIR": str(workdir),
            "KIT_DATABASE_URL": url,
            "KIT_SECRET_KEY": "bench",
            "KIT_BASE_URL": "http://bench",
        }
    )
    await apply_migrations(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    await seed(args.meetings)
    app = create_app(settings, manage_db=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
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
    print(f"| first (query + render in a thread) | {ms(cold)} |")
    print(f"| cached (fingerprint query + send), p50 | {ms(statistics.median(cached))} |")
    print(f"| If-None-Match → 304, p50 | {ms(statistics.median(not_modified))} |")


if __name__ == "__main__":
    asyncio.run(main())
