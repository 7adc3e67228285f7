"""The map's clusters: counts that match the meetings, public points only, capped."""

from __future__ import annotations

import importlib
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kit.meetings.map_clusters import (
    HOUR,
    MAX_CELLS,
    POINTS_UP_TO,
    STORED_LEVELS,
    WEEK,
    Grid,
    clusters_in,
    grid_for,
    map_view,
)
from kit.meetings.public import is_listed
from kit.meetings.search import feature_collection, meetings_in_bbox
from kit.meetings.service import approve_meeting, cancel_meeting
from kit.store.models import Meeting, MeetingStatus, Visibility
from tests.factories import SITE, make_campaign, make_meeting

BOX = (-80.0, 35.0, -70.0, 45.0)
WORLD = (-180.0, -90.0, 180.0, 90.0)


async def scatter(count: int, seed: int, campaign_ids: list[int | None]) -> list[Meeting]:
    """``count`` meetings copied from one real one, at random public points in BOX (and
    a few outside), with random states and start times from two days ago to sixteen
    ahead (today's rest included; a quarter of them on the hour)."""
    template = (await make_meeting()).meeting
    rng = random.Random(seed)
    now = datetime.now(UTC)
    fields = {
        name: getattr(template, name)
        for name in Meeting._meta.db_fields
        if name not in {"id", "public_id", "submission_key"}
    }
    rows = []
    for i in range(count):
        starts_at = now + timedelta(minutes=rng.randint(-2 * 1440, 16 * 1440))
        if rng.random() < 0.25:
            starts_at = starts_at.replace(minute=0, second=0, microsecond=0)
        wide = rng.random() < 0.1
        lat = rng.uniform(30, 50) if wide else rng.uniform(BOX[1], BOX[3])
        lon = rng.uniform(-90, -60) if wide else rng.uniform(BOX[0], BOX[2])
        rows.append(
            Meeting(
                **{
                    **fields,
                    "title": f"Scattered {i}",
                    "public_id": f"s{seed}x{i}",
                    "approx_lat": round(lat, 6),
                    "approx_lon": round(lon, 6),
                    "lat": round(lat + 0.01, 6),
                    "lon": round(lon - 0.01, 6),
                    "starts_at": starts_at,
                    "status": rng.choice([MeetingStatus.PUBLISHED] * 8 + [MeetingStatus.PENDING]),
                    "visibility": rng.choice([Visibility.PUBLIC] * 9 + [Visibility.UNLISTED]),
                    "campaign_id": rng.choice(campaign_ids),
                }
            )
        )
    await Meeting.bulk_create(rows)
    return await Meeting.all()


def cell_of(meeting: Meeting, level: int) -> tuple[int, int]:
    size = 360.0 / 2**level
    return (
        math.floor((meeting.approx_lon + 180.0) / size),
        math.floor((meeting.approx_lat + 90.0) / size),
    )


def brute_force(
    meetings: list[Meeting], grid: Grid, now: datetime, campaign_id: int | None = None
) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for m in meetings:
        if not is_listed(m, now) or (campaign_id and m.campaign_id != campaign_id):  # type: ignore[attr-defined]
            continue
        x, y = cell_of(m, grid.level)
        if grid.y0 <= y <= grid.y1 and any(a <= x <= b for a, b in grid.x_ranges):
            counts[(x, y)] = counts.get((x, y), 0) + 1
    return counts


async def counted(grid: Grid, now: datetime, campaign_id: int | None = None) -> dict[Any, int]:
    return {(c.x, c.y): c.count for c in await clusters_in(grid, campaign_id, now)}


@pytest.mark.parametrize("zoom", [1, 3, 5, 7, 9, 10, 12, 15])
async def test_cluster_counts_match_a_brute_force_count(db: str, zoom: int) -> None:
    campaign = await make_campaign("spring")
    meetings = await scatter(400, zoom, [None, None, campaign.id])
    now = datetime.now(UTC)
    grid = grid_for(BOX, zoom)
    expected = brute_force(meetings, grid, now)
    assert sum(expected.values()) > POINTS_UP_TO // 2  # a test that can fail
    assert await counted(grid, now) == expected
    assert await counted(grid, now, campaign.id) == brute_force(meetings, grid, now, campaign.id)


def boundaries(moment: datetime) -> list[datetime]:
    """The hour, the midnight and the 168-hour week (from 1970-01-01) ``moment`` falls in
    begin at, a microsecond either side of each."""
    hour = math.floor(moment.timestamp() / 3600)
    starts = [hour, hour // 24 * 24, hour // 168 * 168]
    at = [datetime.fromtimestamp(h * 3600, UTC) for h in starts]
    tick = timedelta(microseconds=1)
    return [m + d for m in at for d in (-tick, timedelta(0), tick)]


@pytest.mark.parametrize("zoom", [1, 5, 9])
async def test_counts_stay_exact_whenever_they_are_read(db: str, zoom: int) -> None:
    """Hours, days and weeks split the future at ``now``: at any moment (a start's very
    one, an hour's, a midnight's, a week's edge) the stored sums plus the live rest
    are the brute-force count."""
    campaign = await make_campaign("spring")
    meetings = await scatter(300, 100 + zoom, [None, campaign.id])
    grid = grid_for(BOX, zoom)
    rng = random.Random(zoom)
    base = datetime.now(UTC)
    moments = [base + timedelta(minutes=rng.randint(-3 * 1440, 17 * 1440)) for _ in range(6)]
    for meeting in rng.sample(meetings, 3):
        tick = timedelta(microseconds=1)
        moments += [meeting.starts_at - tick, meeting.starts_at, meeting.starts_at + tick]
    for moment in (base, base + timedelta(days=rng.randint(1, 14))):
        moments += boundaries(moment)
    seen = set()
    for now in moments:
        expected = brute_force(meetings, grid, now)
        seen.add(sum(expected.values()))
        assert await counted(grid, now) == expected, now
        assert await counted(grid, now, campaign.id) == brute_force(
            meetings, grid, now, campaign.id
        ), now
    assert len(seen) > 5  # the moments do split the meetings differently


async def test_a_clustered_box_counts_every_listed_meeting_in_it(db: str) -> None:
    meetings = await scatter(500, 1, [None])
    now = datetime.now(UTC)
    view = await map_view(BOX, zoom=5, now=now)
    assert view.meetings is None
    # Zoom 5 reads level 7 (2.8125 degree cells), and BOX's edges fall on cell edges
    # but its north and east ones, which end the last row and column: those cells
    # hold what is beyond BOX too, counted whole.
    listed = [m for m in meetings if is_listed(m, now)]
    for cluster in view.clusters:
        west, south, east, north = cluster.bounds
        inside = [
            m for m in listed if west <= m.approx_lon < east and south <= m.approx_lat < north
        ]
        assert cluster.count == len(inside)
        assert cluster.lat == pytest.approx(sum(m.approx_lat for m in inside) / len(inside))
        assert cluster.lon == pytest.approx(sum(m.approx_lon for m in inside) / len(inside))


async def test_clusters_show_public_points_only(db: str, client: httpx.AsyncClient) -> None:
    meetings = await scatter(700, 2, [None])
    response = await client.get("/api/meetings.geojson", params={"bbox": "-80,35,-70,45"})
    assert response.status_code == 200
    features = response.json()["features"]
    assert features and all(f["properties"]["cluster"] is True for f in features)
    for meeting in meetings:
        for exact in (f"{meeting.lat}", f"{meeting.lon}"):
            assert exact not in response.text
    alone = [f for f in features if f["properties"]["count"] == 1]
    public = {(m.approx_lon, m.approx_lat) for m in meetings}
    assert alone, "some cells hold one meeting"
    for feature in alone:
        assert tuple(feature["geometry"]["coordinates"]) in public


async def test_counts_follow_publish_cancel_move_visibility_delete(db: str) -> None:
    campaign = await make_campaign("spring")
    now = datetime.now(UTC)
    coarse, fine = grid_for(WORLD, 1), grid_for(BOX, 7)  # stored levels, then 9 too
    tomorrow = now + timedelta(days=2)
    meeting = (await make_meeting(proven=False, campaign="spring")).meeting
    await Meeting.filter(id=meeting.id).update(
        status=MeetingStatus.PENDING, starts_at=tomorrow, approx_lat=40.0, approx_lon=-75.0
    )

    async def total(grid: Grid = coarse, campaign_id: int | None = None) -> int:
        return sum((await counted(grid, datetime.now(UTC), campaign_id)).values())

    assert await total() == 0  # waiting for a coordinator's approval
    await approve_meeting(meeting.public_id)
    assert (await total(), await total(fine), await total(campaign_id=campaign.id)) == (1, 1, 1)
    await Meeting.filter(id=meeting.id).update(approx_lat=10.0, approx_lon=100.0)
    assert (await total(), await total(fine)) == (1, 0)  # moved out of BOX
    await Meeting.filter(id=meeting.id).update(approx_lat=40.0, approx_lon=-75.0)
    await Meeting.filter(id=meeting.id).update(campaign_id=None)
    assert (await total(fine), await total(campaign_id=campaign.id)) == (1, 0)
    await Meeting.filter(id=meeting.id).update(visibility=Visibility.UNLISTED)
    assert await total() == 0
    await Meeting.filter(id=meeting.id).update(visibility=Visibility.PUBLIC)
    assert await total() == 1
    # Today, a minute from now: counted from the meeting table until it starts.
    await Meeting.filter(id=meeting.id).update(starts_at=now + timedelta(minutes=1))
    assert await total() == 1
    assert sum((await counted(coarse, now + timedelta(minutes=2))).values()) == 0
    # Hours, then weeks ahead: counted from map_cell_span's hours, then its weeks.
    for ahead in (timedelta(hours=3), timedelta(days=9), timedelta(days=30)):
        await Meeting.filter(id=meeting.id).update(starts_at=now + ahead)
        assert (await total(), await total(fine), await total(campaign_id=campaign.id)) == (1, 1, 0)
        after = now + ahead + timedelta(seconds=1)
        assert sum((await counted(coarse, after)).values()) == 0
    await Meeting.filter(id=meeting.id).update(starts_at=tomorrow)
    await cancel_meeting(await Meeting.get(id=meeting.id), site=SITE)
    assert await total() == 0
    other = (await make_meeting()).meeting
    await Meeting.filter(id=other.id).update(starts_at=tomorrow)
    assert await total() == 1
    await Meeting.filter(id=other.id).delete()
    assert await total() == 0


def test_the_number_of_cells_is_capped() -> None:
    for zoom in range(21):
        for box in (WORLD, BOX, (170.0, -50.0, -170.0, 50.0), (-74.1, 40.6, -73.8, 40.9)):
            assert grid_for(box, zoom).cells <= MAX_CELLS


async def test_a_small_box_gets_its_points_as_before(db: str, client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await make_meeting()
    box = (-74.5, 40.5, -73.5, 41.5)
    expected = feature_collection(await meetings_in_bbox(*box), "http://testserver")
    for zoom in ("", "2", "12"):
        params = {"bbox": ",".join(map(str, box)), "zoom": zoom}
        response = await client.get("/api/meetings.geojson", params=params)
        assert response.json() == expected
        assert len(expected["features"]) == 3


@pytest.mark.parametrize("zoom", ["-1", "21", "x", "1.5", "٣"])
async def test_a_bad_zoom_is_a_400(db: str, client: httpx.AsyncClient, zoom: str) -> None:
    response = await client.get("/api/meetings.geojson", params={"bbox": "1,2,3,4", "zoom": zoom})
    assert response.status_code == 400
    assert "zoom" in response.json()["fields"]


def test_the_triggers_keep_the_levels_the_map_reads() -> None:
    migration = importlib.import_module("kit.store.migrations.0013_map_cells")
    assert migration._LEVELS == STORED_LEVELS
    hours = importlib.import_module("kit.store.migrations.0016_map_cell_hours")
    assert (hours._LEVELS, hours._SPANS) == (STORED_LEVELS, (HOUR, WEEK))
