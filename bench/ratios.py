"""The kit's hot paths as a share of a Starlette hello-world, measured in the same run.

    .venv/bin/python bench/ratios.py [--size 1000000] [--db sqlite|postgres|both]
                                     [--duration 10] [--connections 32]
                                     [--workdir DIR [--reuse]]

This machine's absolute figures drift from run to run; the ratio to a hello-world
served by the same uvicorn, a moment apart, does much less. The server under test
runs on core 0 (``taskset``), ``wrk`` on core 1, so the load generator is never the
bottleneck and never shares the server's core. For each database: seed ``--size``
meetings (bench/search.py's data: around the 1,000 biggest cities, with rural noise),
start ``kit serve --workers 1`` pinned, then drive each path for ``--duration``
seconds with ``--connections`` keep-alive connections; each kind of request rotates
through 200 different URLs (points, meetings, boxes), so every search runs its query.

``--workdir`` keeps the seeded SQLite file; ``--reuse`` measures the databases an earlier
run seeded there (and in ``--pg-url``), migrated up, instead of seeding again (a million
meetings take 3-5 minutes per database).

Needs ``wrk`` and ``taskset`` (Debian: ``apt-get install wrk``; taskset is util-linux).
Prints a Markdown table: req/s, p50 and p99 latency, non-2xx answers, and the share
of the hello-world's req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from _harness import fetch_rows, free_port, kit_serve, machine
from search import PG_URL, load_cities, prepare, query_points, reuse

BENCH = Path(__file__).resolve().parent
SERVER_CPU, LOAD_CPU = "0", "1"
URLS_PER_KIND = 200


@dataclass(frozen=True)
class Figures:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def wrk(base: str, paths: list[str], duration: int, connections: int) -> Figures:
    """One wrk run on core 1, rotating through ``paths``."""
    lines = ", ".join(f'"{p}"' for p in paths)
    script = (
        f"paths = {{{lines}}}\ni = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\nend\n'
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        done = subprocess.run(
            ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{duration}s",
             "--latency", "-s", lua.name, base],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(lua.name)
    return parse_wrk(done.stdout)


def parse_wrk(output: str) -> Figures:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return Figures(
        float(rate.group(1)),
        latency_ms(output, "50%"),
        latency_ms(output, "99%"),
        int(bad.group(1)) if bad else 0,
    )


def latency_ms(output: str, pct: str) -> float:
    found = re.search(rf"^\s+{re.escape(pct)}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    if found is None:
        return float("nan")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
    return float(found.group(1)) * scale


@contextlib.contextmanager
def hello_world() -> Iterator[str]:
    """The hello-world under uvicorn on core 0, with the kit's uvicorn options."""
    port = free_port()
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CPU, sys.executable, "-m", "uvicorn", "hello:app",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=BENCH, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            with contextlib.suppress(subprocess.CalledProcessError):
                subprocess.run(
                    ["curl", "-sf", f"http://127.0.0.1:{port}/"], check=True, capture_output=True
                )
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def box_around(lat: float, lon: float, dx: float, dy: float) -> str:
    west, east = max(-180.0, lon - dx), min(180.0, lon + dx)
    south, north = max(-90.0, lat - dy), min(90.0, lat + dy)
    return f"{west:.4f},{south:.4f},{east:.4f},{north:.4f}"


async def paths_by_kind(url: str, points: list[tuple[float, float]]) -> dict[str, list[str]]:
    rows = await fetch_rows(
        url,
        "SELECT public_id FROM meeting WHERE status = 'published' AND visibility = 'public' "
        f"ORDER BY id LIMIT {URLS_PER_KIND * 50}",
    )
    meetings = random.Random(3).sample([r[0] for r in rows], URLS_PER_KIND)
    near = [f"{lat:.4f},{lon:.4f}" for lat, lon in points]
    # About 13 km by 11 km at mid latitudes: a city on a phone's map.
    boxes = [
        f"{lon - 0.08:.4f},{lat - 0.05:.4f},{lon + 0.08:.4f},{lat + 0.05:.4f}"
        for lat, lon in points
    ]
    # A state or a small country, and a continent (bench/map.py's boxes): clusters.
    regions = [box_around(lat, lon, 4.0, 2.5) for lat, lon in points]
    continents = [box_around(lat, lon, 35.0, 20.0) for lat, lon in points]
    return {
        "`/healthz`": ["/healthz"],
        "nearby search, 20 results (`/api/meetings?near=lat,lon`)": [
            f"/api/meetings?near={p}&limit=20" for p in near
        ],
        "`/find` HTML (`?near=lat,lon`)": [f"/find?near={p}" for p in near],
        "meeting page HTML": [f"/meetings/{m}" for m in meetings],
        "GeoJSON, a city-sized map box": [f"/api/meetings.geojson?bbox={b}" for b in boxes],
        "GeoJSON, a region-sized map box": [f"/api/meetings.geojson?bbox={b}" for b in regions],
        "GeoJSON, a continent-sized map box": [
            f"/api/meetings.geojson?bbox={b}" for b in continents
        ],
        "near-me `.ics` feed (warm after the first pass)": [
            f"/meetings.ics?near={p}" for p in near
        ],
    }


async def bench_db(db: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    cities = load_cities()
    if args.reuse:
        url, seeded = await reuse(db, args.size, workdir, args.pg_url)
    else:
        url, seeded = await prepare(db, args.size, workdir, args.pg_url, cities)
    points = query_points(URLS_PER_KIND, cities)
    paths = await paths_by_kind(url, points)
    rows = []
    data_dir = workdir / f"{db}-data"
    data_dir.mkdir(exist_ok=True)
    limits = {"KIT_RATE_LIMIT_RSVP": "1000000/minute"}
    with hello_world() as hello:
        hello_before = wrk(hello, ["/"], args.duration, args.connections)
    measured = []
    async with kit_serve(url, data_dir, workers=1, env=limits, cpus=SERVER_CPU) as server:
        for kind, urls in paths.items():
            # Nothing else runs in this process meanwhile: wrk may block it.
            wrk(server.base, urls, 2, args.connections)  # warm: templates, pools, caches
            figures = wrk(server.base, urls, args.duration, args.connections)
            # Issue #15: the worker's memory once it has served this path (and the ones
            # above it): the largest process of kit serve's tree, not uvicorn's supervisor.
            worker_mb = max(resident_mb(pid) for pid in server.processes())
            measured.append((kind, figures, worker_mb))
    # The yardstick again after the kit's paths: this machine's speed drifts within
    # minutes (a hello-world gave 15,000 and 27,000 req/s in one run); shares are of the
    # mean of both, and both are shown.
    with hello_world() as hello:
        hello_after = wrk(hello, ["/"], args.duration, args.connections)
    hello_figures = Figures(
        (hello_before.requests_per_s + hello_after.requests_per_s) / 2,
        (hello_before.p50_ms + hello_after.p50_ms) / 2,
        (hello_before.p99_ms + hello_after.p99_ms) / 2,
        hello_before.non_2xx + hello_after.non_2xx,
    )
    rows.append(row("Starlette hello-world, before the kit", hello_before, hello_figures, None))
    rows.append(row("Starlette hello-world, after the kit", hello_after, hello_figures, None))
    rows += [row(kind, figures, hello_figures, mb) for kind, figures, mb in measured]
    header = (
        f"\n### {db}, {args.size:,} meetings (seeded in {seeded:.0f} s)\n\n"
        "| path | req/s | p50 ms | p99 ms | non-2xx | share of hello-world | worker RSS MB |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    return [header, *rows]


def resident_mb(pid: int) -> float:
    """VmRSS of a process, in MB (0 if it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def row(kind: str, figures: Figures, hello: Figures, worker_mb: float | None) -> str:
    share = 100 * figures.requests_per_s / hello.requests_per_s
    memory = "" if worker_mb is None else f"{worker_mb:.0f}"
    return (
        f"| {kind} | {figures.requests_per_s:,.0f} | {figures.p50_ms:.1f} | "
        f"{figures.p99_ms:.1f} | {figures.non_2xx} | {share:.1f} % | {memory} |"
    )


async def run(args: argparse.Namespace) -> None:
    for tool in ("wrk", "taskset", "curl"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing (Debian: apt-get install wrk util-linux curl)")
    print(
        f"# Hot paths against a hello-world\n\n{machine()}; server on core {SERVER_CPU}, "
        f"wrk on core {LOAD_CPU}, {args.connections} connections, {args.duration} s a path."
    )
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="kit-ratios-"))
        )
        workdir.mkdir(parents=True, exist_ok=True)
        for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
            print("\n".join(await bench_db(db, args, workdir)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pg-url", default=os.environ.get("KIT_BENCH_PG_URL", PG_URL))
    parser.add_argument("--workdir", type=Path, help="keep the SQLite file here")
    parser.add_argument("--reuse", action="store_true", help="measure an earlier run's databases")
    args = parser.parse_args()
    if args.reuse and args.workdir is None:
        parser.error("--reuse needs the --workdir of the run that seeded")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
