"""Meetings stored before pins were keyed by the place get re-pinned on upgrade, once."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tortoise import Tortoise

from kit.maps.privacy import MAX_OFFSET_KM, MIN_OFFSET_KM, destination, public_point
from kit.meetings.service import get_managed_meeting, update_meeting
from kit.store import repin
from kit.store.models import Meeting, VenueKind
from kit.store.repin import ensure_public_points, read_batch, repin_meetings, write_points
from tests.factories import SECRET, SITE, HouseGeocoder, local, make_meeting
from tests.servers import ROOT, run_kit

HOME = (40.813217, -73.949381)


def per_meeting_pin(lat: float, lon: float, key: str, salt: str) -> tuple[float, float]:
    """What the kit stored before: an offset keyed by the meeting, for every kind."""
    digest = hmac.new(key.encode(), f"approx:{salt}".encode(), hashlib.sha256).digest()
    u1 = int.from_bytes(digest[:8], "big") / 2**64
    u2 = int.from_bytes(digest[8:16], "big") / 2**64
    distance = MIN_OFFSET_KM + (MAX_OFFSET_KM - MIN_OFFSET_KM) * u1
    return destination(lat, lon, distance, 2 * math.pi * u2)


async def stored_like_before(count: int, kind: str = "home") -> list[Meeting]:
    """``count`` meetings at one home, each with its own old-style pin."""
    made = []
    for n in range(count):
        created = await make_meeting(
            HouseGeocoder(*HOME),
            kind=kind,
            title=f"Talk {n} ({kind})",
            starts_at=local(3 + n, 18),
            ends_at=local(3 + n, 20),
        )
        meeting = created.meeting
        old = per_meeting_pin(meeting.lat, meeting.lon, SECRET, meeting.public_id)
        await Meeting.filter(id=meeting.id).update(approx_lat=old[0], approx_lon=old[1])
        made.append(meeting)
    return made


async def points() -> dict[int, tuple[float, float]]:
    return {m.id: (m.approx_lat, m.approx_lon) for m in await Meeting.all()}


def wanted(meeting: Meeting, key: str = SECRET) -> tuple[float, float]:
    return public_point(meeting.kind, meeting.lat, meeting.lon, key=key)


async def test_old_pins_are_replaced_by_the_place_keyed_ones(db: str) -> None:
    homes = await stored_like_before(5)
    cafes = await stored_like_before(2, kind="public")
    assert len(set((await points()).values())) == 7  # seven offsets to average
    conn = Tortoise.get_connection("default")

    assert await ensure_public_points(conn, SECRET) == 7
    after = await points()
    assert {after[m.id] for m in homes} == {wanted(homes[0])}  # one pin for the home
    assert {after[m.id] for m in cafes} == {HOME}  # a café at its door
    assert await ensure_public_points(conn, SECRET) == 0
    assert await points() == after


async def test_a_pass_that_stopped_halfway_is_finished_at_the_next_start(db: str) -> None:
    made = await stored_like_before(6)
    conn = Tortoise.get_connection("default")
    # The pass walks from the newest meeting down: a stop after three leaves the oldest.
    for meeting in made[3:]:
        new = wanted(meeting)
        await Meeting.filter(id=meeting.id).update(approx_lat=new[0], approx_lon=new[1])
    assert await ensure_public_points(conn, SECRET) == 3
    assert set((await points()).values()) == {wanted(made[0])}


async def test_batches_cover_every_row_once(db: str) -> None:
    await stored_like_before(7)
    conn = Tortoise.get_connection("default")
    assert await repin_meetings(conn, SECRET, batch=2) == 7
    assert await repin_meetings(conn, SECRET, batch=2) == 0


async def test_a_new_secret_key_re_pins_everything(db: str) -> None:
    made = await stored_like_before(3)
    conn = Tortoise.get_connection("default")
    await ensure_public_points(conn, SECRET)
    assert await ensure_public_points(conn, "a-new-key") == 3
    assert set((await points()).values()) == {wanted(made[0], "a-new-key")}


async def test_the_start_up_check_reads_only_the_oldest_and_newest_rows(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It costs 2 x SAMPLE rows however many meetings there are: an interrupted pass
    leaves the oldest stale, an old-version process writing after it the newest."""
    monkeypatch.setattr(repin, "SAMPLE", 2)
    made = await stored_like_before(6)
    conn = Tortoise.get_connection("default")
    assert await ensure_public_points(conn, SECRET) == 6
    await Meeting.filter(id=made[2].id).update(approx_lat=0.0)
    assert await ensure_public_points(conn, SECRET) == 0  # not looked at
    await Meeting.filter(id=made[-1].id).update(approx_lat=0.0)
    assert await ensure_public_points(conn, SECRET) == 2  # seen: the whole table again
    await Meeting.filter(id=made[0].id).update(approx_lat=0.0)
    assert await ensure_public_points(conn, SECRET) == 1


async def test_a_meeting_moved_during_the_pass_keeps_its_new_point(db: str) -> None:
    created = await make_meeting(HouseGeocoder(*HOME))
    meeting = created.meeting
    await Meeting.filter(id=meeting.id).update(approx_lat=1.0, approx_lon=1.0)
    conn = Tortoise.get_connection("default")
    [row] = await read_batch(conn, None, 10)

    managed = await get_managed_meeting(meeting.public_id, created.manage_token)
    elsewhere = destination(*HOME, 3.0, 1.0)
    changes = {"address": {"street": "9 Oak St"}, "kind": str(VenueKind.HOME)}
    await update_meeting(managed, changes, geocoder=HouseGeocoder(*elsewhere), site=SITE)

    stale = [*wanted(meeting), row["id"], row["kind"], row["lat"], row["lon"]]
    await write_points(conn, [stale])
    moved = await Meeting.get(id=meeting.id)
    assert (moved.approx_lat, moved.approx_lon) == public_point("home", *elsewhere, key=SECRET)


OLD_RELEASE = r"""
import asyncio, json, sqlite3, sys
from kit.store.db import apply_migrations

url, path, rows = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
asyncio.run(apply_migrations(url, target="models.0007_rsvp_source_flyer"))
now = "2026-11-01 18:00:00+00:00"
with sqlite3.connect(path) as db:
    db.execute("INSERT INTO person (id, name, email, created_at) "
               "VALUES (1, 'Quinn', 'quinn@example.org', ?)", (now,))
    for n, (kind, (approx_lat, approx_lon)) in enumerate(rows):
        db.execute(
            "INSERT INTO meeting (id, public_id, title, description, host_note, starts_at, "
            "ends_at, timezone, street, directions, lat, lon, locality, region, postal_code, "
            "country, approx_lat, approx_lon, kind, capacity, seats_taken, visibility, status, "
            "reply_to_host, created_at, updated_at, host_id) VALUES (?, ?, 'Talk', '', '', "
            "?, ?, 'America/New_York', '417 Elm St', '', 40.813217, -73.949381, 'New York', "
            "'NY', '10027', 'US', ?, ?, ?, 10, 0, 'public', 'published', 0, ?, ?, 1)",
            (n + 1, f"m{n}", now, now, approx_lat, approx_lon, kind, now, now),
        )
"""


PREPARE_TO_SERVE = """
import asyncio, os
from kit.ops.cli import prepare_database
from kit.core.settings import Settings
asyncio.run(prepare_database(Settings.from_env(dict(os.environ))))
"""


def upgrade(env: dict[str, str], how: str) -> subprocess.CompletedProcess[str]:
    if how == "kit migrate":
        return run_kit(env, "migrate")
    command = [sys.executable, "-c", PREPARE_TO_SERVE]
    return subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=True, timeout=120)


@pytest.mark.parametrize("how", ["kit migrate", "kit serve start-up"])
def test_upgrading_re_pins_a_database_from_the_last_release(
    clean_env: dict[str, str], how: str
) -> None:
    """The upgrade as an operator runs it, on the last release's database."""
    path = Path(clean_env["KIT_DATA_DIR"]) / "kit.sqlite3"
    path.parent.mkdir(parents=True)
    kinds = ["home", "home", "home", "public"]
    rows = [(kind, per_meeting_pin(*HOME, SECRET, f"m{n}")) for n, kind in enumerate(kinds)]
    setup = subprocess.run(
        [sys.executable, "-c", OLD_RELEASE, f"sqlite://{path}", str(path), json.dumps(rows)],
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stderr

    env = {**clean_env, "KIT_SECRET_KEY": SECRET}
    for _ in range(2):  # the second run finds nothing to do
        result = upgrade(env, how)
        assert result.returncode == 0, result.stderr
        with sqlite3.connect(path) as conn:
            stored = conn.execute("SELECT kind, approx_lat, approx_lon FROM meeting ORDER BY id")
            pins = stored.fetchall()
        assert pins == [("home", *public_point("home", *HOME, key=SECRET))] * 3 + [
            ("public", *HOME)
        ]
