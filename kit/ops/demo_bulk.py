"""The big demo (``kit demo --meetings 1000000``): rows built in Python, inserted in bulk.

The small demo (kit.ops.demo) walks every meeting through ``create_meeting`` and
``record_rsvp``: real, and about 70 meetings a second. Here the same kind of meeting is
computed in batches and written with multi-row inserts (COPY on PostgreSQL), all in
one transaction, so that any operator can load-test their own install:

- towns come from the offline gazetteer (its places of note, weighted by population),
  with their IANA zone; homes are spread around each town as the small demo does;
- the public point is the kit's own ``public_point`` under the site's secret key, so
  ``kit serve`` finds nothing to re-pin;
- RSVPs on a share of the meetings, with the seat and RSVP tallies that go with them
  written on the meeting row;
- ``map_cell`` and ``dashboard_tally`` are kept by triggers on the meeting table. In a
  database without any meeting yet, the loading transaction drops those triggers, loads,
  counts both tables again in one INSERT .. SELECT each and creates the triggers again
  from the migrations' own SQL: a crash rolls all of it back, triggers included. In a
  database that already has meetings the triggers stay and count every row.

Idempotent: a second run with the same seed finds its meetings and adds nothing.
"""

from __future__ import annotations

import importlib
import random
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from kit.core.settings import Settings
from kit.maps.gazetteer import REGION_COUNTRIES, TOWN_OF_NOTE, default_gazetteer
from kit.maps.privacy import public_point
from kit.ops import demo
from kit.store.migrations import _dashboard_tally
from kit.store.models import (
    Meeting,
    MeetingStatus,
    Report,
    Rsvp,
    RsvpSource,
    VenueKind,
    Visibility,
)

BULK_FROM = 5000  # `kit demo` loads in bulk from this many meetings
BATCH = 20_000
TOWNS = 3000
PAST_SHARE = 0.04  # completed meetings, a few weeks back: later ones grow from them
GROWN_SHARE = 0.1
RSVP_SHARE = 0.3  # meetings with RSVPs
HOSTS_PER_MEETING = 0.6  # some hosts hold more than one meeting
GUESTS_PER_MEETING = 0.5  # the people RSVPs are drawn from
Progress = Callable[[str], None]

MEETING_COLUMNS = (
    "id", "public_id", "title", "description", "host_note", "starts_at", "ends_at",
    "timezone", "street", "directions", "lat", "lon", "locality", "region", "postal_code",
    "country", "approx_lat", "approx_lon", "kind", "capacity", "seats_taken", "rsvp_goal",
    "visibility", "status", "reply_to_host", "submission_key", "created_at", "updated_at",
    "campaign_id", "grew_from_id", "host_id", "rsvp_count", "completed_at",
)  # fmt: skip
PERSON_COLUMNS = ("id", "name", "email", "phone", "email_verified_at", "trusted", "created_at")
RSVP_COLUMNS = (
    "meeting_id", "person_id", "guests", "status", "source", "ref", "note", "consent",
    "created_at", "updated_at",
)  # fmt: skip
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Town:
    name: str
    region: str
    country: str
    lat: float
    lon: float
    timezone: str
    population: int


def load_towns(limit: int = TOWNS) -> list[Town]:
    """The gazetteer's biggest towns (it is built on first use)."""
    gazetteer = default_gazetteer()
    gazetteer.load()
    db = sqlite3.connect(f"file:{gazetteer.path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT name, admin1, country, lat, lon, tz, population FROM places "
            "WHERE population >= ? AND tz <> '' ORDER BY population DESC, id LIMIT ?",
            (TOWN_OF_NOTE, limit),
        ).fetchall()
    finally:
        db.close()
    return [
        Town(name, admin1 if country in REGION_COUNTRIES else "", country, lat, lon, tz, people)
        for name, admin1, country, lat, lon, tz, people in rows
    ]


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass
class Plan:
    """What one run writes: ids start after the rows already there."""

    meetings: int
    seed: int
    campaign_id: int
    first_meeting: int
    first_person: int
    key: str
    now: datetime

    @property
    def past(self) -> int:
        return int(self.meetings * PAST_SHARE)

    @property
    def hosts(self) -> int:
        return max(1, int(self.meetings * HOSTS_PER_MEETING))

    @property
    def guests(self) -> int:
        return max(50, int(self.meetings * GUESTS_PER_MEETING))

    def submission(self, n: int) -> str:
        return f"demo-{self.seed}-bulk-{n}"


def person_rows(plan: Plan) -> Iterator[Row]:
    rng = random.Random(plan.seed)
    for i in range(plan.hosts + plan.guests):
        first, last = rng.choice(demo.FIRST_NAMES), rng.choice(demo.LAST_NAMES)
        slug = f"{first}.{last}".lower().replace("ü", "u")
        host = i < plan.hosts
        email = f"{slug}.{'h' if host else 'g'}{plan.seed}-{i}@{demo.DEMO_EMAIL_DOMAIN}"
        yield (plan.first_person + i, f"{first} {last}", email, None,
               plan.now if host else None, False, plan.now)  # fmt: skip


def starts_at(rng: random.Random, town: Town, day: date) -> datetime:
    return demo.local_evening(rng, day).replace(tzinfo=zone(town.timezone)).astimezone(UTC)


def meeting_and_rsvps(
    plan: Plan, n: int, rng: random.Random, towns: Sequence[Town], weights: Sequence[float]
) -> tuple[Row, list[Row]]:
    [town] = rng.choices(towns, cum_weights=weights)
    past = n < plan.past
    offset = -rng.randint(3, 25) if past else rng.randint(1, 42)
    start = starts_at(rng, town, plan.now.date() + timedelta(days=offset))
    kind = VenueKind.PUBLIC if rng.random() < 0.25 else VenueKind.HOME
    lat = round(town.lat + rng.uniform(-0.05, 0.05), 6)
    lon = round(town.lon + rng.uniform(-0.07, 0.07), 6)
    approx_lat, approx_lon = public_point(kind, lat, lon, key=plan.key)
    topic, description = demo.TOPICS[rng.randrange(len(demo.TOPICS))]
    host = rng.randrange(plan.hosts)
    host_name = f"{rng.choice(demo.FIRST_NAMES)} {rng.choice(demo.LAST_NAMES)}"
    address, street = demo.street_address(rng, town.country)
    capacity = rng.choice((8, 10, 12, 15, 20))
    rsvps, seats = [], 0
    if rng.random() < RSVP_SHARE:
        meeting_id = plan.first_meeting + n
        for guest in rng.sample(range(plan.guests), rng.randint(1, max(capacity - 3, 1))):
            party = 1 + rng.choice((0, 0, 0, 1))
            if seats + party > capacity:
                break
            seats += party
            rsvps.append((meeting_id, plan.first_person + plan.hosts + guest, party - 1,
                          "confirmed", RsvpSource.DEMO.value, "", "", rng.random() < 0.6,
                          plan.now, plan.now))  # fmt: skip
    grew = None
    if not past and plan.past and rng.random() < GROWN_SHARE:
        grew = plan.first_meeting + rng.randrange(plan.past)
    ends = start + timedelta(hours=2)
    row = (
        plan.first_meeting + n, demo_public_id(rng),
        demo.demo_title(rng, topic, town.name, host_name, street)[:140], description,
        "Tea and cookies provided. Kids welcome.", start, ends, town.timezone, address,
        "" if kind == VenueKind.PUBLIC else "Ring the blue door", lat, lon, town.name[:120],
        town.region[:120], "", town.country, approx_lat, approx_lon, kind.value, capacity,
        seats, 10, Visibility.PUBLIC.value,
        (MeetingStatus.COMPLETED if past else MeetingStatus.PUBLISHED).value, False,
        plan.submission(n), plan.now, plan.now, plan.campaign_id, grew,
        plan.first_person + host, len(rsvps), ends if past else None,
    )  # fmt: skip
    return row, rsvps


ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def demo_public_id(rng: random.Random) -> str:
    """Like kit.store.models.new_public_id (12 URL-safe characters, never a leading "-"),
    drawn from the seeded generator: fast, and no secret to keep for made-up meetings."""
    first = ID_ALPHABET[rng.randrange(62)]
    return first + "".join(rng.choices(ID_ALPHABET, k=11))


def meeting_batches(plan: Plan, towns: Sequence[Town]) -> Iterator[tuple[list[Row], list[Row]]]:
    rng = random.Random(plan.seed * 7919 + plan.meetings)
    weights, total = [], 0.0
    for town in towns:  # spread over many towns, not only the megacities
        total += town.population**0.5
        weights.append(total)
    for start in range(0, plan.meetings, BATCH):
        meetings, rsvps = [], []
        for n in range(start, min(start + BATCH, plan.meetings)):
            row, extra = meeting_and_rsvps(plan, n, rng, towns, weights)
            meetings.append(row)
            rsvps.extend(extra)
        yield meetings, rsvps


def chunks(rows: Iterator[Row], size: int = BATCH) -> Iterator[list[Row]]:
    while batch := list(islice(rows, size)):
        yield batch


# --- writing -------------------------------------------------------------------------


def for_sqlite(row: Row) -> list[Any]:
    """As Tortoise writes them: UTC ISO text for datetimes, 0/1 for booleans."""
    return [
        v.isoformat(" ") if isinstance(v, datetime) else int(v) if isinstance(v, bool) else v
        for v in row
    ]


async def insert_rows(
    conn: BaseDBAsyncClient, table: str, columns: Sequence[str], rows: list[Row]
) -> None:
    if not rows:
        return
    if conn.capabilities.dialect == "postgres":
        async with conn.acquire_connection() as raw:
            await raw.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    marks = ", ".join("?" * len(columns))
    sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({marks})'
    await conn.execute_many(sql, [for_sqlite(r) for r in rows])


# --- the counting triggers -----------------------------------------------------------------

_CREATED = re.compile(r"^CREATE (?:OR REPLACE )?(TRIGGER|FUNCTION) (\w+)")


def counting_sql(dialect: str) -> tuple[list[str], list[str]]:
    """(the statements that create the map_cell and dashboard_tally triggers, the ones that
    count both tables again), as migrations 0013 and 0014 run them."""
    map_cells = importlib.import_module("kit.store.migrations.0013_map_cells")
    cells = map_cells._SQLITE_SQL if dialect == "sqlite" else map_cells._POSTGRES_SQL
    tally = _dashboard_tally.TRIGGERS[dialect]
    create = [s for s in cells + tally if _CREATED.match(s)]
    recount = ["DELETE FROM map_cell", *(s for s in cells if not _CREATED.match(s))]
    return create, recount + _dashboard_tally.rebuild(dialect)


def drop_sql(dialect: str, create: list[str]) -> list[str]:
    found = [m.groups() for m in map(_CREATED.match, create) if m]
    on = " ON meeting" if dialect == "postgres" else ""
    drops = [f"DROP TRIGGER {name}{on}" for what, name in found if what == "TRIGGER"]
    return drops + [f"DROP FUNCTION {name}()" for what, name in found if what == "FUNCTION"]


async def run_all(conn: BaseDBAsyncClient, statements: list[str]) -> None:
    for statement in statements:
        await conn.execute_query(statement)


# --- the load ------------------------------------------------------------------------


def terminal_progress(line: str) -> None:
    end = "\r" if sys.stderr.isatty() and not line.endswith("\n") else "\n"
    print(line.rstrip("\n"), end=end, file=sys.stderr, flush=True)


async def next_ids(conn: BaseDBAsyncClient) -> tuple[int, int]:
    rows = await conn.execute_query_dict(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM meeting) AS m, "
        "(SELECT COALESCE(MAX(id), 0) FROM person) AS p"
    )
    return rows[0]["m"] + 1, rows[0]["p"] + 1


async def load_bulk_demo(
    settings: Settings, *, meetings: int, seed: int = 2026, progress: Progress = terminal_progress
) -> demo.DemoSummary:
    now = datetime.now(UTC).replace(microsecond=0)
    campaign = await demo.ensure_campaign(now.date())
    if await Meeting.filter(submission_key=f"demo-{seed}-bulk-0").exists():
        return await summary(0)
    started = time.monotonic()
    towns = load_towns()
    async with in_transaction() as conn:
        dialect = conn.capabilities.dialect
        if dialect == "postgres":
            await conn.execute_query("LOCK TABLE meeting, person, rsvp IN EXCLUSIVE MODE")
        else:  # the indexes' pages stay in memory instead of spilling all along
            [cache_size] = (await conn.execute_query("PRAGMA cache_size"))[1]
            await conn.execute_query("PRAGMA cache_size=-262144")
        fresh = not await Meeting.all().using_db(conn).exists()
        create, recount = counting_sql(dialect)
        if fresh:
            await run_all(conn, drop_sql(dialect, create))
        first_meeting, first_person = await next_ids(conn)
        plan = Plan(meetings, seed, campaign.id, first_meeting, first_person,
                    settings.secret_key, now)  # fmt: skip
        for batch in chunks(person_rows(plan)):
            await insert_rows(conn, "person", PERSON_COLUMNS, batch)
        done = rsvps = 0
        for meeting_rows, rsvp_rows in meeting_batches(plan, towns):
            await insert_rows(conn, "meeting", MEETING_COLUMNS, meeting_rows)
            await insert_rows(conn, "rsvp", RSVP_COLUMNS, rsvp_rows)
            done, rsvps = done + len(meeting_rows), rsvps + len(rsvp_rows)
            progress(f"  {done:,} / {meetings:,} meetings, {rsvps:,} RSVPs "
                     f"({time.monotonic() - started:.0f} s)")  # fmt: skip
        if fresh:
            progress(f"  map cells and dashboard tallies ({time.monotonic() - started:.0f} s)")
            await run_all(conn, recount)
            await run_all(conn, create)
        if dialect == "postgres":
            await run_all(conn, [sequence_sql(t) for t in ("meeting", "person", "rsvp")])
        else:
            await conn.execute_query(f"PRAGMA cache_size={int(cache_size[0])}")
    if dialect == "postgres":
        await conn_analyze()
    progress(f"  done in {time.monotonic() - started:.0f} s\n")
    return await summary(meetings)


def sequence_sql(table: str) -> str:
    return (
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
    )


async def conn_analyze() -> None:
    """What autovacuum would do shortly after a load this size."""
    from tortoise import Tortoise

    await Tortoise.get_connection("default").execute_script("ANALYZE meeting, rsvp, person")


async def summary(created: int) -> demo.DemoSummary:
    slug = demo.CAMPAIGN_SLUG
    return demo.DemoSummary(
        created=created,
        meetings=await Meeting.filter(campaign__slug=slug).count(),
        rsvps=await Rsvp.filter(meeting__campaign__slug=slug).count(),
        reports=await Report.filter(meeting__campaign__slug=slug).count(),
    )
