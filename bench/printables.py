"""How long the host packet of a meeting with 30 confirmed guests takes to print: the first
render in a fresh process (after the warm-up ``kit serve`` runs), a re-render after one
more RSVP (warm process), the cached answer, and the process's peak memory; in-process
and through the ASGI app.

    .venv/bin/python bench/printables.py [--guests 30] [--repeat 50] [--out DIR] [--whole]

``--out DIR`` also writes the packet, flyer and guide PDFs there, to look at. ``--whole``
lays the packet out in one piece, as the kit did before it laid out parts (the same PDF,
byte for byte): run the script with and without it to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

started_import = time.perf_counter()
from kit.printables import context as printing  # noqa: E402 - timed: imports WeasyPrint

IMPORT_SECONDS = time.perf_counter() - started_import

import httpx  # noqa: E402
from starlette.routing import Route  # noqa: E402
from tortoise import Tortoise  # noqa: E402

from kit.core.settings import Settings  # noqa: E402
from kit.maps.geocoding import make_geocoder  # noqa: E402
from kit.meetings.service import create_meeting, get_managed_meeting, parse_meeting_input  # noqa: E402
from kit.store.db import apply_migrations, tortoise_config  # noqa: E402
from kit.store.models import Meeting, Person, Rsvp, RsvpStatus  # noqa: E402
from kit.web import printables as web_printables  # noqa: E402
from kit.web.app import create_app  # noqa: E402

NAMES = (
    "Ada Lovelace, Grace Hopper, Katherine Johnson, Mary Jackson, Dorothy Vaughan, Alan Turing, "
    "Rosalind Franklin, Chien-Shiung Wu, Lise Meitner, Emmy Noether, Hedy Lamarr, Radia Perlman, "
    "Barbara Liskov, Frances Allen, Margaret Hamilton, Annie Easley, Jean Bartik, Betty Holberton, "
    "Kathleen Booth, Sophie Wilson, Shafi Goldwasser, Fei-Fei Li, Joy Buolamwini, Timnit Gebru, "
    "Evelyn Boyd Granville, Gladys West, Marian Croak, Lynn Conway, Mae Jemison, Sally Ride, "
    "Valentina Tereshkova, Tu Youyou, Maryam Mirzakhani, Marie Curie, Ida Noddack"
).split(", ")


def rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def seed(site: Settings, guests: int) -> tuple[Meeting, str]:
    day = datetime.now(UTC) + timedelta(days=7)
    data = parse_meeting_input(
        {
            "title": "Neighbors talk schools",
            "description": "A living-room conversation about our schools.",
            "starts_at": f"{day:%Y-%m-%d}T18:30",
            "ends_at": f"{day:%Y-%m-%d}T20:30",
            "address": {"street": "417 Elm St", "locality": "New York", "postal_code": "10027"},
            "capacity": guests + 10,
            "host": {"name": "Quinn Doe", "email": "quinn@example.org"},
            "host_note": "Come as you are. There will be tea, and a cat.",
        }
    )
    created = await create_meeting(
        data,
        geocoder=make_geocoder("offline", "kit-bench/1.0"),
        site=site,
        notify_host=False,
        proven_emails={data.host_email},  # a host who confirmed their address
    )
    assert created.manage_token
    for n in range(guests):
        name = NAMES[n % len(NAMES)]
        person = await Person.create(name=name, email=f"guest{n}@example.org")
        await Rsvp.create(meeting=created.meeting, person=person, status=RsvpStatus.CONFIRMED)
    await Meeting.filter(id=created.meeting.id).update(seats_taken=guests)
    return created.meeting, created.manage_token


async def timed(coro_factory, repeat: int) -> list[float]:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        await coro_factory()
        times.append(time.perf_counter() - t)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--guests", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--whole", action="store_true", help="lay the packet out in one piece")
    args = parser.parse_args()
    if args.whole:
        from kit.toolkit import printables  # noqa: PLC0415

        printables.html_to_pdf = printables.render_whole  # type: ignore[assignment]
    workdir = Path(tempfile.mkdtemp(prefix="kit-print-bench-"))
    url = f"sqlite://{workdir / 'print.sqlite3'}"
    site = Settings.from_env(
        {
            "KIT_DATA_DIR": str(workdir),
            "KIT_DATABASE_URL": url,
            "KIT_SECRET_KEY": "bench",
            "KIT_BASE_URL": "http://bench.example",
        }
    )
    await apply_migrations(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    meeting, token = await seed(site, args.guests)
    meeting = await get_managed_meeting(meeting.public_id, token)
    rss_before = current_rss_mb()

    async def packet():  # noqa: ANN202
        fresh = await get_managed_meeting(meeting.public_id, token)
        return await printing.get_packet(fresh, token, site=site)

    # As ``kit serve`` does in its render thread just after start-up (kit.printables.context).
    t, c = time.perf_counter(), time.process_time()
    await printing.warm_up()
    warm_up, warm_up_cpu = time.perf_counter() - t, time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    first = await packet()
    cold, cold_cpu = time.perf_counter() - t, time.process_time() - c
    cached = await timed(packet, args.repeat)

    # One more RSVP changes the sign-in sheet: the next request renders again, warm.
    person = await Person.create(name="Late Comer", email="late@example.org")
    await Rsvp.create(meeting=meeting, person=person, status=RsvpStatus.CONFIRMED)
    t, c = time.perf_counter(), time.process_time()
    second = await packet()
    warm, warm_cpu = time.perf_counter() - t, time.process_time() - c
    assert second.data != first.data

    t = time.perf_counter()
    flyer = await printing.get_flyer(meeting, site=site)
    flyer_first = time.perf_counter() - t
    t = time.perf_counter()
    guide = await printing.get_meeting_guide(meeting)
    guide_first = time.perf_counter() - t

    app = create_app(site, manage_db=False)
    if "meeting_packet_pdf" not in {getattr(r, "name", "") for r in app.router.routes}:
        packet_route = Route("/meetings/{id}/packet.pdf", web_printables.meeting_packet_pdf)
        app.router.routes.insert(0, packet_route)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.example") as client:
        path = f"/meetings/{meeting.public_id}/packet.pdf?token={token}"
        assert (await client.get(path)).status_code == 200

        async def http_packet():  # noqa: ANN202
            response = await client.get(path)
            assert response.status_code == 200 and response.content[:5] == b"%PDF-"

        http_cached = await timed(http_packet, args.repeat)
    peak = rss_mb()

    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for rendered in (second, flyer, guide):
            (args.out / rendered.filename).write_bytes(rendered.data)

    from pypdf import PdfReader  # noqa: PLC0415 - only to count pages

    pages = len(PdfReader(__import__("io").BytesIO(second.data)).pages)
    cpu = platform.processor() or platform.machine()
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(
        f"Run on {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs ({cpu}, load {load}), "
        f"Python {platform.python_version()}, WeasyPrint "
        f"{__import__('weasyprint').__version__}; packet of {args.guests} confirmed guests, "
        f"{pages} pages, {len(second.data) / 1024:.0f} kB; "
        f"{'laid out whole' if args.whole else 'laid out by parts'}.\n"
    )
    print("| measure | time |")
    print("| --- | --- |")
    print(
        f"| import kit.printables.context (WeasyPrint), once per process | {ms(IMPORT_SECONDS)} |"
    )
    print(
        f"| warm-up (fonts, stylesheet), once per process (CPU) | "
        f"{ms(warm_up)} ({ms(warm_up_cpu)}) |"
    )
    print(f"| packet, first render after the warm-up (CPU) | {ms(cold)} ({ms(cold_cpu)}) |")
    print(f"| packet, re-render after one more RSVP (CPU) | {ms(warm)} ({ms(warm_cpu)}) |")
    print(f"| flyer, first render | {ms(flyer_first)} |")
    print(f"| guide, first render | {ms(guide_first)} |")
    print(
        f"| packet, cached, in-process p50 / max ({args.repeat} runs) | "
        f"{ms(statistics.median(cached))} / {ms(max(cached))} |"
    )
    print(
        f"| packet, cached, HTTP through the ASGI app p50 / max | "
        f"{ms(statistics.median(http_cached))} / {ms(max(http_cached))} |"
    )
    print(f"| resident memory before the first render | {rss_before:.0f} MB |")
    print(f"| peak resident memory of the process | {peak:.0f} MB |")
    await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(main())
