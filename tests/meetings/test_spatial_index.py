"""The spatial index behind "meetings near me": it gives exactly what reading every
meeting would give, page after page, and on SQLite it follows every change to a
meeting (its R*Tree is kept in step by triggers)."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from kit.maps.cursors import NearbyQuery, Origin, key_to_km, km_to_key
from kit.maps.first_circle import FIRST_CIRCLES, Hint, cell_key
from kit.meetings.search import find_nearby
from kit.store.models import Meeting, MeetingStatus, Visibility
from tests.conftest import is_postgres
from tests.factories import make_meeting

NOW = datetime.now(UTC).replace(microsecond=0)
# Where the meetings are: a city, across the antimeridian (Fiji), beside the north pole,
# and scattered over a continent.
CENTRES = [(40.75, -73.98, 3.0), (-17.8, 179.95, 40.0), (89.6, 10.0, 30.0), (45.0, -100.0, 900.0)]
STATUSES = [MeetingStatus.PUBLISHED] * 6 + [
    MeetingStatus.CANCELLED,
    MeetingStatus.HIDDEN,
    MeetingStatus.AWAITING,
]
_ids = itertools.count(1)


def near(rng: random.Random, lat: float, lon: float, spread_km: float) -> tuple[float, float]:
    lat = max(-90.0, min(90.0, lat + rng.gauss(0, spread_km / 111.2)))
    lon = (lon + rng.gauss(0, spread_km / 111.2) + 180.0) % 360.0 - 180.0
    return round(lat, 6), round(lon, 6)


async def random_meetings(rng: random.Random, count: int) -> None:
    """``count`` meetings copied from a real one, each somewhere near a centre, in any
    state: listed or not, upcoming or begun."""
    template = (await make_meeting()).meeting
    columns = [
        c
        for c in Meeting._meta.fields_db_projection.values()
        if c not in {"id", "public_id", "submission_key"}
    ]
    conn = Meeting._meta.db
    mark = "$" if is_postgres() else "?"
    changed = ["public_id", "approx_lat", "approx_lon", "status", "visibility", "starts_at"]
    kept = [c for c in columns if c not in changed]
    for _ in range(count):
        lat, lon = near(rng, *rng.choice(CENTRES))
        starts = NOW + timedelta(hours=rng.choice([-30, -1, 1, 2, 48, 400]))
        # Ties: several meetings share a point, so pages must break ties by public id.
        if rng.random() < 0.1:
            lat, lon = CENTRES[0][0], CENTRES[0][1]
        values = [
            f"sp{next(_ids):06d}",
            lat,
            lon,
            rng.choice(STATUSES).value,
            rng.choice([Visibility.PUBLIC, Visibility.PUBLIC, Visibility.UNLISTED]).value,
            starts,
        ]
        marks = ", ".join(f"{mark}{i + 1}" if is_postgres() else "?" for i in range(len(values)))
        await conn.execute_query(
            f"INSERT INTO meeting ({', '.join(changed + kept)}) "
            f"SELECT {marks}, {', '.join(kept)} FROM meeting WHERE id = {template.id}",
            values,
        )


def key(origin: Origin, lat: float, lon: float) -> float:
    """The search's sort key, the same arithmetic as its SQL (kit.meetings.search.key_sql)."""
    dy = lat - origin.lat
    dlon = lon - origin.lon
    if origin.wraps:
        dlon = dlon + (-360.0 if dlon > 180 else 360.0 if dlon < -180 else 0.0)
    dx = dlon * (origin.cos_lat - origin.slope * dy)
    return dy * dy + dx * dx


async def brute_force(q: NearbyQuery) -> list[str]:
    """Every listed meeting within the radius, nearest first, read one by one."""
    origin = Origin.at(q.lat, q.lon, q.radius_km)
    inside = []
    for m in await Meeting.all():
        listed = (
            m.status is MeetingStatus.PUBLISHED
            and m.visibility is Visibility.PUBLIC
            and m.starts_at > NOW
        )
        k = key(origin, m.approx_lat, m.approx_lon)
        if listed and k <= km_to_key(q.radius_km):
            inside.append((k, m.starts_at, m.public_id))
    if q.sort == "date":
        return [pid for _, _, pid in sorted(inside, key=lambda row: (row[1], row[2]))]
    return [pid for _, _, pid in sorted(inside, key=lambda row: (row[0], row[2]))]


async def every_page(q: NearbyQuery) -> list[str]:
    found: list[str] = []
    cursor = None
    for _ in range(200):
        page = await find_nearby(NearbyQuery(**{**q.__dict__, "cursor": cursor}))
        found += [m.public_id for m, _ in page.items]
        if not (cursor := page.next_cursor):
            return found
    raise AssertionError("the cursor must make progress")


async def test_every_search_finds_what_reading_every_meeting_finds(db: str) -> None:
    rng = random.Random(15)
    await random_meetings(rng, 400)
    for _ in range(40):
        q = random_query(rng, sort=rng.choice(["distance", "distance", "date"]))
        assert await every_page(q) == await brute_force(q), q


def random_query(rng: random.Random, **options: str) -> NearbyQuery:
    """A search near one of the centres, of any radius and page size."""
    lat, lon, spread = rng.choice(CENTRES)
    lat, lon = near(rng, lat, lon, spread)
    return NearbyQuery(
        lat=lat,
        lon=lon,
        radius_km=rng.choice([0.5, 3.0, 25.0, 100.0, 500.0]),
        limit=rng.choice([1, 3, 7, 20]),
        now=NOW,
        **options,  # type: ignore[arg-type]
    )


async def test_where_a_search_starts_never_changes_what_it_finds(db: str) -> None:
    """Each search leaves a hint of how wide its first circle should be (kit.maps.first_circle):
    a hint far too small, far too large or saying "read the whole radius" changes only how
    many queries a search takes."""
    rng = random.Random(16)
    await random_meetings(rng, 300)
    for hint in [Hint(0.001, 21), Hint(5000.0, 2), Hint(math.inf, 1), None]:
        for _ in range(15):
            q = random_query(rng)
            FIRST_CIRCLES.clear()
            if hint is not None:
                FIRST_CIRCLES._hints[cell_key(q.lat, q.lon, q)] = hint
            assert await every_page(q) == await brute_force(q), (q, hint)


async def test_a_search_leaves_the_circle_that_held_its_page_for_the_next(db: str) -> None:
    rng = random.Random(17)
    await random_meetings(rng, 300)
    lat, lon = CENTRES[0][0] + 0.01, CENTRES[0][1]
    q = NearbyQuery(lat=lat, lon=lon, radius_km=25.0, limit=5, now=NOW)
    FIRST_CIRCLES.clear()
    page = await find_nearby(q)
    everyone = await brute_force(q)
    assert len(everyone) > q.limit + 1
    past_page = await Meeting.get(public_id=everyone[q.limit])
    learned = FIRST_CIRCLES._hints[cell_key(lat, lon, q)]
    origin = Origin.at(lat, lon, q.radius_km)
    expected = key_to_km(key(origin, past_page.approx_lat, past_page.approx_lon))
    assert (learned.rows, learned.radius_km) == (q.limit + 1, pytest.approx(expected))
    assert [m.public_id for m, _ in page.items] == everyone[: q.limit]
    # Far from every meeting, the whole radius is read at once next time.
    empty = NearbyQuery(lat=-40.0, lon=-140.0, radius_km=25.0, now=NOW)
    assert (await find_nearby(empty)).items == []
    assert math.isinf(FIRST_CIRCLES._hints[cell_key(-40.0, -140.0, empty)].radius_km)


async def assert_index_follows_the_table() -> None:
    """The R*Tree holds every published public meeting, at its public point (its 32-bit
    bounds round outwards: they contain the point), and nothing else."""
    conn = Meeting._meta.db
    indexed = await conn.execute_query_dict(
        "SELECT r.id AS id, south, north, west, east, approx_lat, approx_lon "
        "FROM meeting_rtree AS r LEFT JOIN meeting AS m ON m.id = r.id ORDER BY r.id"
    )
    listed = await Meeting.filter(
        status=MeetingStatus.PUBLISHED, visibility=Visibility.PUBLIC
    ).order_by("id")
    assert [row["id"] for row in indexed] == [m.id for m in listed]
    for row in indexed:
        assert row["south"] <= row["approx_lat"] <= row["north"]
        assert row["west"] <= row["approx_lon"] <= row["east"]


async def test_the_sqlite_index_follows_every_change_to_a_meeting(db: str) -> None:
    if is_postgres():
        return  # PostgreSQL keeps its own GiST index in step (see the next test)
    rng = random.Random(7)
    await random_meetings(rng, 60)
    await assert_index_follows_the_table()
    meetings = await Meeting.all()
    for m in rng.sample(meetings, 40):
        change = rng.choice(["status", "visibility", "move", "start", "campaign", "save", "delete"])
        if change == "status":
            await Meeting.filter(id=m.id).update(status=rng.choice(STATUSES))
        elif change == "visibility":
            await Meeting.filter(id=m.id).update(visibility=rng.choice(list(Visibility)))
        elif change == "move":
            lat, lon = near(rng, *rng.choice(CENTRES))
            await Meeting.filter(id=m.id).update(approx_lat=lat, approx_lon=lon)
        elif change == "start":
            await Meeting.filter(id=m.id).update(starts_at=m.starts_at + timedelta(days=3))
        elif change == "campaign":
            await Meeting.filter(id=m.id).update(campaign_id=None)
        elif change == "save":
            m.status = MeetingStatus.PUBLISHED
            m.approx_lat = 12.5
            m.title = "Saved whole"
            await m.save()
        else:
            await m.delete()
    await assert_index_follows_the_table()


async def test_the_index_is_there_after_every_migration(db: str) -> None:
    # A Tortoise table rebuild (AlterField on SQLite) would drop the triggers with the
    # old table: a later migration doing one must create them again.
    conn = Meeting._meta.db
    if is_postgres():
        rows = await conn.execute_query_dict(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'meeting_public_point'"
        )
        assert rows and "gist" in rows[0]["indexdef"] and "WHERE" in rows[0]["indexdef"]
        return
    rows = await conn.execute_query_dict(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'meeting'"
    )
    assert {r["name"] for r in rows} >= {
        "meeting_rtree_insert",
        "meeting_rtree_update",
        "meeting_rtree_delete",
    }
