"""The map's GeoJSON for a city, a region and a continent box, before and after clustering.

    .venv/bin/python bench/map.py [--size 1000000] [--db sqlite|postgres|both] [--boxes 200]
        [--workdir DIR --reuse]

For each database: seed ``--size`` meetings (bench/search.py's data: around the 1,000
biggest cities, with rural noise; the map_cell triggers count them as they go in),
then, in-process and one box at a time, time building the GeoJSON of each box:
"before" is what the endpoint did until clustering (up to 2,000 points,
``meetings_in_bbox`` + ``feature_collection``), "after" what it does now
(``map_view`` + ``view_to_collection``: points up to 250, else clusters). Then
``GET /api/meetings.geojson`` through ``kit serve`` (1 worker), one request at a time.
Boxes are centred near cities, weighted by population. Prints a Markdown table.

``--reuse`` keeps the databases an earlier run seeded (the SQLite file in ``--workdir``,
the ``--pg-url`` database): it only applies the migrations they lack (their backfills
are timed in the "seed s" column) and measures. Seeding 1M takes minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from _harness import kit_serve, machine, percentile, postgres_version
from search import PG_URL, hammer, load_cities, prepare, query_points, reuse
from tortoise import Tortoise

from kit.meetings.map_clusters import map_view, view_to_collection
from kit.meetings.search import feature_collection, meetings_in_bbox
from kit.store.db import tortoise_config

BASE = "http://127.0.0.1"
# Half-widths (degrees of longitude, of latitude): a city on a phone's map (bench/ratios.py's
# box), a region (a state, a small country), a continent.
KINDS = {"city": (0.08, 0.05), "region": (4.0, 2.5), "continent": (35.0, 20.0)}

Box = tuple[float, float, float, float]


def boxes_around(points: list[tuple[float, float]], half: tuple[float, float]) -> list[Box]:
    dx, dy = half
    return [
        (
            max(-180.0, lon - dx),
            max(-90.0, lat - dy),
            min(180.0, lon + dx),
            min(90.0, lat + dy),
        )
        for lat, lon in points
    ]


async def before(box: Box) -> tuple[int, int]:
    collection = feature_collection(await meetings_in_bbox(*box), BASE)
    return len(collection["features"]), len(json.dumps(collection))


async def after(box: Box) -> tuple[int, int]:
    collection = view_to_collection(await map_view(box), BASE)
    return len(collection["features"]), len(json.dumps(collection))


async def timed(way, boxes: list[Box]) -> tuple[float, float, float]:  # noqa: ANN001
    """(p50 ms, p99 ms, mean features) of ``way`` over the boxes, one at a time."""
    for box in boxes[:20]:
        await way(box)
    took, features = [], 0
    for box in boxes:
        started = time.perf_counter()
        n, _ = await way(box)
        took.append(time.perf_counter() - started)
        features += n
    return percentile(took, 50) * 1000, percentile(took, 99) * 1000, features / len(boxes)


async def in_process(url: str, boxes: dict[str, list[Box]]) -> dict[str, list[float]]:
    await Tortoise.init(config=tortoise_config(url))
    try:
        return {
            kind: [*await timed(before, kind_boxes), *await timed(after, kind_boxes)]
            for kind, kind_boxes in boxes.items()
        }
    finally:
        await Tortoise.close_connections()


async def over_http(
    url: str, data_dir: Path, boxes: dict[str, list[Box]], args: argparse.Namespace
) -> dict[str, float]:
    p50 = {}
    async with kit_serve(url, data_dir, workers=1) as server:
        for kind, kind_boxes in boxes.items():
            paths = [
                "/api/meetings.geojson?bbox=" + ",".join(f"{v:.4f}" for v in box)
                for box in kind_boxes
            ]
            p50[kind] = (await hammer(server, paths, args)).p50
    return p50


async def run(args: argparse.Namespace) -> None:
    cities = load_cities()
    points = query_points(args.boxes, cities)
    boxes = {kind: boxes_around(points, half) for kind, half in KINDS.items()}
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    lines = [
        f"Map GeoJSON benchmark, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC",
        f"Machine: {machine()}; SQLite {sqlite3.sqlite_version}; "
        f"{await postgres_version(args.pg_url)}",
        f"{args.size:,} meetings; {args.boxes} boxes a kind, in-process one at a time; "
        f"HTTP: {args.requests} requests, {args.concurrency} concurrent, 1 worker.",
        "",
        "| DB | box | seed s | before p50 ms | p99 | features | after p50 ms | p99 "
        "| features | HTTP p50 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        for db in dbs:
            print(f"{db} {args.size:,}: seeding", file=sys.stderr)
            if args.reuse:
                url, seed_s = await reuse(db, args.size, workdir, args.pg_url)
            else:
                url, seed_s = await prepare(db, args.size, workdir, args.pg_url, cities)
            print(f"  seeded in {seed_s:.1f} s; measuring", file=sys.stderr)
            figures = await in_process(url, boxes)
            print(f"  in-process: {figures}", file=sys.stderr)
            http: dict[str, float] = {}
            if not args.no_http:
                try:
                    http = await over_http(url, workdir, boxes, args)
                except RuntimeError as error:  # a busy machine: keep the in-process figures
                    print(f"  HTTP skipped: {error}", file=sys.stderr)
            for kind, (b50, b99, bn, a50, a99, an) in figures.items():
                lines.append(
                    f"| {db} | {kind} | {seed_s:.0f} | {b50:.1f} | {b99:.1f} | {bn:.0f} "
                    f"| {a50:.1f} | {a99:.1f} | {an:.0f} | "
                    + (f"{http[kind]:.1f} |" if kind in http else "– |")
                )
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--boxes", type=int, default=200)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--client", default="keepalive")
    parser.add_argument("--pg-url", default=os.environ.get("KIT_BENCH_PG_URL", PG_URL))
    parser.add_argument("--workdir", type=Path, help="keep the SQLite files here")
    parser.add_argument("--no-http", action="store_true", help="skip the kit serve part")
    parser.add_argument("--reuse", action="store_true", help="measure an earlier run's databases")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
