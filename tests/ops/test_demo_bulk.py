"""The big demo, loaded in bulk: its rows agree with recounts, as if the app had made them."""

from __future__ import annotations

import math
import random
import re
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import Tortoise

from kit.coordinators import tally
from kit.core.settings import Settings
from kit.maps.cursors import NearbyQuery
from kit.maps.geocoding import make_geocoder
from kit.maps.privacy import public_point
from kit.meetings.map_clusters import STORED_LEVELS
from kit.meetings.rsvps import RsvpInput, record_rsvp
from kit.meetings.search import find_nearby
from kit.meetings.service import create_meeting
from kit.ops import demo, demo_bulk
from kit.store.models import DashboardTally, MapCell, Meeting, Rsvp
from kit.store.repin import repin_meetings
from tests.servers import run_kit

SEATS_AND_RSVPS_OFF = """
SELECT m.id FROM meeting m WHERE m.rsvp_count <> (
    SELECT COUNT(*) FROM rsvp v WHERE v.meeting_id = m.id AND v.status <> 'cancelled')
 OR m.seats_taken <> (SELECT COALESCE(SUM(1 + v.guests), 0) FROM rsvp v
                      WHERE v.meeting_id = m.id AND v.status = 'confirmed')
 OR m.seats_taken > m.capacity
"""


async def triggers() -> set[str]:
    conn = Tortoise.get_connection("default")
    if conn.capabilities.dialect == "postgres":
        sql = "SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    return {row["name"] for row in await conn.execute_query_dict(sql)}


def expected_cells(meetings: list[Meeting]) -> Counter[tuple[int, int, int, int, int]]:
    """Brute force: every published public meeting in one cell per level, for every
    meeting (key 0) and for its campaign, on the UTC day it starts."""
    cells: Counter[tuple[int, int, int, int, int]] = Counter()
    for m in meetings:
        if m.status != "published" or m.visibility != "public":
            continue
        day = math.floor(m.starts_at.timestamp() / 86400)
        keys = [0] + ([m.campaign_id] if m.campaign_id else [])  # type: ignore[attr-defined]
        for level in STORED_LEVELS:
            size = 360.0 / 2**level
            y, x = math.floor((m.approx_lat + 90) / size), math.floor((m.approx_lon + 180) / size)
            for key in keys:
                cells[(level, key, y, x, day)] += 1
    return cells


async def stored_cells() -> Counter[tuple[int, int, int, int, int]]:
    rows = await MapCell.filter(count__gt=0)
    return Counter({(c.level, c.campaign_key, c.y, c.x, c.day): c.count for c in rows})


async def tallies() -> list[tuple[Any, ...]]:
    rows = await DashboardTally.filter(meetings__gt=0).values_list(
        *_dashboard_columns(), flat=False
    )
    return sorted(rows)


def _dashboard_columns() -> tuple[str, ...]:
    from kit.store.migrations._dashboard_tally import KEY, SUMS

    return KEY + SUMS


async def assert_consistent(settings: Settings) -> list[Meeting]:
    conn = Tortoise.get_connection("default")
    assert await conn.execute_query_dict(SEATS_AND_RSVPS_OFF) == []
    meetings = await Meeting.all()
    for m in meetings:
        assert ZoneInfo(m.timezone) and m.timezone != "UTC" and m.locality
        assert (m.approx_lat, m.approx_lon) == public_point(
            m.kind, m.lat, m.lon, key=settings.secret_key
        )
        if m.kind == "home":  # a venue is shown at its door, a home never
            assert (m.approx_lat, m.approx_lon) != (m.lat, m.lon)
    assert await repin_meetings(conn, settings.secret_key) == 0  # kit serve re-pins none
    assert await stored_cells() == expected_cells(meetings)
    before = await tallies()
    await tally.rebuild()
    assert await tallies() == before
    return meetings


async def test_a_bulk_demo_in_an_empty_database_counts_like_the_triggers(
    settings: Settings, db: str
) -> None:
    installed = await triggers()
    lines: list[str] = []
    summary = await demo_bulk.load_bulk_demo(settings, meetings=2000, progress=lines.append)
    assert summary.created == 2000 and summary.meetings == 2000
    assert summary.rsvps == await Rsvp.all().count() > 300
    assert lines and "2,000 / 2,000 meetings" in "".join(lines)
    assert await triggers() == installed  # dropped for the load, and made again
    meetings = await assert_consistent(settings)
    assert {m.country for m in meetings} >= {"US", "IN", "CN", "BR"}  # the world's towns
    assert sum(m.kind == "public" for m in meetings) > 200
    assert sum(m.grew_from_id is not None for m in meetings) > 50  # type: ignore[attr-defined]
    assert len({m.public_id for m in meetings}) == 2000
    assert all(not m.public_id.startswith("-") for m in meetings)

    # Search finds them where they are.
    upcoming = next(m for m in meetings if m.status == "published" and m.kind == "home")
    page = await find_nearby(NearbyQuery(lat=upcoming.approx_lat, lon=upcoming.approx_lon))
    assert upcoming.public_id in {meeting.public_id for meeting, _ in page.items}

    # The recreated triggers count what comes next, and a rerun adds nothing.
    await record_rsvp(
        upcoming,
        RsvpInput(name="Neighbor", email="neighbor@example.org", guests=0, consent=False),
        site=settings,
        notify=False,
    )
    await Meeting.filter(id=meetings[-1].id).update(status="cancelled")
    again = await demo_bulk.load_bulk_demo(settings, meetings=2000, progress=lines.append)
    assert again.created == 0 and again.meetings == 2000
    await assert_consistent(settings)
    tour = await demo.demo_tour(settings)
    assert tour.manage_url


async def test_a_bulk_demo_beside_other_meetings_keeps_the_triggers(
    settings: Settings, db: str
) -> None:
    await demo.load_demo(settings, meetings=4, past=1)
    installed = await triggers()
    summary = await demo_bulk.load_bulk_demo(settings, meetings=700, seed=7, progress=print)
    assert summary.created == 700 and summary.meetings == 705
    assert await triggers() == installed
    meetings = await assert_consistent(settings)
    ids = [m.id for m in meetings]
    assert len(ids) == len(set(ids)) == 705
    # Ids continue after the bulk rows: the app's next meeting and RSVP get fresh ones.
    made = await host_one(settings)
    assert made.id > max(ids)
    await record_rsvp(
        made,
        RsvpInput(name="Neighbor", email="neighbor@example.org", guests=1, consent=False),
        site=settings,
        notify=False,
    )
    assert await Meeting.all().count() == 706
    await assert_consistent(settings)


async def host_one(settings: Settings) -> Meeting:
    rng = random.Random(5)
    start = demo.local_evening(rng, datetime.now(UTC).date() + timedelta(days=3))
    data = demo.demo_meeting_input(rng, 1, start)
    result = await create_meeting(
        data,
        geocoder=demo.JitteredGeocoder(make_geocoder("offline", "kit-tests"), rng),
        site=settings,
        notify_host=False,
        submission="bulk-test-1",
        proven_emails={data.host_email},
    )
    return result.meeting


def test_kit_demo_bulk_shows_progress_and_prints_the_tour(clean_env: dict[str, str]) -> None:
    first = run_kit(clean_env, "demo", "--meetings", "1500", "--bulk")
    assert first.returncode == 0, first.stderr
    assert "1,500 / 1,500 meetings" in first.stderr and "done in" in first.stderr
    assert "Demo ready: 1500 meetings (1500 new)" in first.stdout
    assert re.search(r"http://127\.0\.0\.1:8000/manage/[\w-]+\?token=[\w-]+", first.stdout)
    with sqlite3.connect(Path(clean_env["KIT_DATA_DIR"]) / "kit.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM meeting").fetchone()[0] == 1500
    second = run_kit(clean_env, "demo", "--meetings", "1500", "--bulk")
    assert second.returncode == 0 and "(0 new)" in second.stdout
