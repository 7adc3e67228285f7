"""Public searches: near a point (public points only, nearest first, paged by cursor),
a campaign's upcoming list, and the map's GeoJSON box (homes at their approximate point)."""

from __future__ import annotations

import base64
import itertools
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from kit.core.errors import ValidationError
from kit.maps.cursors import NearbyQuery, UpcomingQuery
from kit.maps.privacy import destination, haversine_km
from kit.meetings.public import public_meeting
from kit.meetings.search import (
    NearbyPage,
    feature_collection,
    find_nearby,
    list_upcoming,
    meetings_in_bbox,
    parse_bbox,
    parse_limit,
    parse_radius,
)
from kit.store.models import Meeting, MeetingStatus, Visibility
from tests.conftest import is_postgres
from tests.factories import GEOCODER, local, make_campaign, make_meeting

_titles = itertools.count(1)


async def zip_point(zip_code: str = "10027") -> tuple[float, float]:
    place = await GEOCODER.search(zip_code)
    assert place is not None
    return place.lat, place.lon


async def meeting_at(lat: float, lon: float, **overrides: Any) -> Meeting:
    """A real meeting (made through the domain) whose public point is moved to (lat, lon)."""
    overrides.setdefault("title", f"Meeting {next(_titles)}")
    meeting = (await make_meeting(**overrides)).meeting
    await Meeting.filter(id=meeting.id).update(approx_lat=lat, approx_lon=lon)
    return await Meeting.get(id=meeting.id)


async def found_ids(**query: Any) -> list[str]:
    page = await find_nearby(NearbyQuery(**query))
    return [m.public_id for m, _ in page.items]


async def all_pages(query: NearbyQuery) -> list[NearbyPage]:
    pages = [await find_nearby(query)]
    while pages[-1].next_cursor:
        assert len(pages) < 100, "the cursor must make progress"
        pages.append(await find_nearby(_with(query, cursor=pages[-1].next_cursor)))
    return pages


def _with(query: NearbyQuery, **changes: Any) -> NearbyQuery:
    return NearbyQuery(**{**query.__dict__, **changes})


async def test_meeting_is_found_from_its_zip_and_10_km_away_not_200(db: str) -> None:
    meeting = (await make_meeting()).meeting  # ZIP 10027
    lat, lon = await zip_point("10027")
    for km, expected in ((0, True), (10, True), (200, False)):
        here = destination(lat, lon, km, math.radians(70))
        assert (meeting.public_id in await found_ids(lat=here[0], lon=here[1])) is expected, km


async def test_distance_is_to_the_public_point_never_the_exact_one(db: str) -> None:
    meeting = (await make_meeting()).meeting
    assert (meeting.lat, meeting.lon) != (meeting.approx_lat, meeting.approx_lon)
    # Standing on the exact spot of the home: the answer must not reveal that.
    page = await find_nearby(NearbyQuery(lat=meeting.lat, lon=meeting.lon))
    [(found, km)] = page.items
    assert found.public_id == meeting.public_id
    assert km == round(
        haversine_km(meeting.lat, meeting.lon, found.approx_lat, found.approx_lon), 1
    )
    assert km >= 0.5  # the approximate point is 0.5-1.5 km off


async def test_results_come_nearest_first_with_distances(db: str) -> None:
    lat, lon = 40.0, -75.0
    for km in (9, 1, 5, 3, 7):
        await meeting_at(*destination(lat, lon, km, math.radians(40 * km)))
    page = await find_nearby(NearbyQuery(lat=lat, lon=lon))
    assert [km for _, km in page.items] == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert page.next_cursor is None


async def test_items_carry_their_campaign_for_public_meeting(db: str) -> None:
    await make_campaign("spring-talks", name="Spring Talks")
    await make_meeting(campaign="spring-talks")
    await make_meeting(title="No campaign")
    page = await find_nearby(NearbyQuery(*(await zip_point())))
    views = {public_meeting(m, "http://testserver")["campaign"] for m, _ in page.items}
    assert views == {"spring-talks", None}
    [campaign] = [m.campaign for m, _ in page.items if m.campaign is not None]
    assert campaign.name == "Spring Talks"


async def test_pagination_returns_every_meeting_exactly_once(db: str) -> None:
    lat, lon = 51.5, -0.12
    expected = set()
    # Spread from 0.2 to 24 km (so pages need wider circles) with ties on one spot.
    for i in range(22):
        km = 0.2 + (i % 11) * 2.3 if i < 20 else 4.8
        point = destination(lat, lon, km, math.radians(37 * i))
        expected.add((await meeting_at(*point)).public_id)
    far = await meeting_at(*destination(lat, lon, 40, 0.0))  # outside 25 km
    pages = await all_pages(NearbyQuery(lat=lat, lon=lon, limit=4))
    seen = [m.public_id for page in pages for m, _ in page.items]
    assert len(seen) == len(set(seen)) == 22
    assert set(seen) == expected
    assert far.public_id not in seen
    distances = [km for page in pages for _, km in page.items]
    assert distances == sorted(distances)
    assert all(len(page.items) == 4 for page in pages[:-1])


async def test_a_page_boundary_inside_a_tie_loses_nothing(db: str) -> None:
    spot = destination(40.0, -75.0, 3, 1.0)
    made = {(await meeting_at(*spot)).public_id for _ in range(7)}
    pages = await all_pages(NearbyQuery(lat=40.0, lon=-75.0, limit=3))
    seen = [m.public_id for page in pages for m, _ in page.items]
    assert sorted(seen) == sorted(made)
    assert [len(p.items) for p in pages] == [3, 3, 1]


async def test_search_across_the_antimeridian_and_near_a_pole(db: str) -> None:
    east = await meeting_at(-16.5, 179.95)
    west = await meeting_at(-16.5, -179.95)
    far = await meeting_at(-16.5, 178.0)
    page = await find_nearby(NearbyQuery(lat=-16.5, lon=-179.99))
    assert [m.public_id for m, _ in page.items] == [west.public_id, east.public_id]
    assert far.public_id not in [m.public_id for m, _ in page.items]
    assert page.items[1][1] == pytest.approx(6.4, abs=0.1)
    across_the_pole = await meeting_at(89.95, 100.0)
    assert await found_ids(lat=89.95, lon=-80.0) == [across_the_pole.public_id]


async def test_hidden_meetings_never_appear(db: str) -> None:
    shown = await meeting_at(40.0, -75.0)
    cancelled = await meeting_at(40.0, -75.0)
    pending = await meeting_at(40.0, -75.0)
    draft = await meeting_at(40.0, -75.0)
    unlisted = await meeting_at(40.0, -75.0, visibility="unlisted")
    past = await meeting_at(40.0, -75.0)
    await Meeting.filter(id=cancelled.id).update(status=MeetingStatus.CANCELLED)
    await Meeting.filter(id=pending.id).update(status=MeetingStatus.PENDING)
    await Meeting.filter(id=draft.id).update(status=MeetingStatus.DRAFT)
    await Meeting.filter(id=past.id).update(starts_at=datetime.now(UTC) - timedelta(hours=1))
    assert unlisted.visibility is Visibility.UNLISTED
    assert await found_ids(lat=40.0, lon=-75.0) == [shown.public_id]


async def test_a_meeting_that_has_started_is_no_longer_upcoming(db: str) -> None:
    meeting = await meeting_at(40.0, -75.0)
    assert await found_ids(lat=40.0, lon=-75.0, now=meeting.starts_at - timedelta(seconds=1))
    assert not await found_ids(lat=40.0, lon=-75.0, now=meeting.starts_at)


async def test_has_space_leaves_out_full_meetings(db: str) -> None:
    full = await meeting_at(40.0, -75.0)
    open_ = await meeting_at(40.0, -75.0)
    await Meeting.filter(id=full.id).update(seats_taken=full.capacity)
    assert set(await found_ids(lat=40.0, lon=-75.0)) == {full.public_id, open_.public_id}
    assert await found_ids(lat=40.0, lon=-75.0, has_space=True) == [open_.public_id]


async def test_campaign_filter(db: str) -> None:
    campaign = await make_campaign("spring-talks")
    inside = await meeting_at(40.0, -75.0, campaign="spring-talks")
    await meeting_at(40.0, -75.0)
    ids = await found_ids(lat=40.0, lon=-75.0, campaign_id=campaign.id)
    assert ids == [inside.public_id]


async def test_date_window_is_inclusive_then_exclusive(db: str) -> None:
    soon = await meeting_at(40.0, -75.0, starts_at=local(3, 18), ends_at=local(3, 20))
    later = await meeting_at(40.0, -75.0, starts_at=local(10, 18), ends_at=local(10, 20))
    window = {"lat": 40.0, "lon": -75.0}
    assert await found_ids(**window, starts_from=later.starts_at) == [later.public_id]
    assert await found_ids(**window, starts_before=later.starts_at) == [soon.public_id]
    assert await found_ids(
        **window, starts_from=soon.starts_at, starts_before=soon.starts_at + timedelta(seconds=1)
    ) == [soon.public_id]


def _cursor(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def test_a_damaged_or_foreign_cursor_is_refused(db: str) -> None:
    for i in range(3):
        await meeting_at(*destination(40.0, -75.0, i + 1, 0.0))
    query = NearbyQuery(lat=40.0, lon=-75.0, limit=1)
    good = (await find_nearby(query)).next_cursor
    assert good
    data = json.loads(base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)))
    bad = [
        "not a cursor!",
        good[:-3],
        "x" * 1000,
        _cursor([1, 2]),
        _cursor({**data, "d": "0.1"}),
        _cursor({**data, "d": -1}),
        _cursor({**data, "id": 7}),
        _cursor({**data, "extra": 1}),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ]
    for cursor in bad:
        with pytest.raises(ValidationError) as raised:
            await find_nearby(_with(query, cursor=cursor))
        assert "cursor" in raised.value.fields, cursor
    with pytest.raises(ValidationError) as raised:
        await find_nearby(_with(query, lat=41.0, cursor=good))
    assert "different search" in raised.value.fields["cursor"]


async def test_out_of_range_queries_are_refused(db: str) -> None:
    for query, field in (
        (NearbyQuery(lat=0, lon=0, radius_km=501), "radius_km"),
        (NearbyQuery(lat=0, lon=0, limit=0), "limit"),
        (NearbyQuery(lat=91, lon=0), "near"),
        (NearbyQuery(lat=0, lon=math.nan), "near"),
    ):
        with pytest.raises(ValidationError) as raised:
            await find_nearby(query)
        assert field in raised.value.fields
    with pytest.raises(ValueError, match="timezone-aware"):
        await find_nearby(NearbyQuery(lat=0, lon=0, now=datetime(2030, 1, 1)))


async def location_indexes() -> list[list[str]]:
    """The column lists of the meeting table's indexes, as the migrated database has them."""
    conn = Meeting._meta.db
    if is_postgres():
        rows = await conn.execute_query_dict(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'meeting'"
        )
        defs = [row["indexdef"].rsplit("(", 1)[1].rstrip(")") for row in rows]
        return [[c.strip().strip('"') for c in d.split(",")] for d in defs]
    names = await conn.execute_query_dict("PRAGMA index_list('meeting')")
    return [
        [c["name"] for c in await conn.execute_query_dict(f"PRAGMA index_info('{n['name']}')")]
        for n in names
    ]


async def test_the_search_runs_on_the_spatial_index(db: str) -> None:
    # Without it every search reads every upcoming meeting: 15 ms at 20k rows, ~1 s at 1M.
    # The (approx_lat, approx_lon) btree stays for the map's box.
    assert ["approx_lat", "approx_lon"] in await location_indexes()
    plan = await query_plan(lambda: find_nearby(NearbyQuery(lat=40.0, lon=-75.0, campaign_id=1)))
    assert uses_spatial_index(plan), plan


def uses_spatial_index(plan: str) -> bool:
    if is_postgres():
        return "meeting_public_point" in plan
    # The R*Tree (``r``) drives; meeting rows are read by rowid, never scanned.
    return "SCAN r VIRTUAL TABLE INDEX 2:" in plan and "SCAN meeting" not in plan


async def query_plan(search: Any, nth: int = 0) -> str:
    """The plan for the ``nth`` query ``search()`` sends.

    PostgreSQL plans from statistics, and a table this small is best read whole; with
    sequential scans priced out, the plan shows whether the query CAN use an index
    (a partial index's predicate must be matched word for word).
    """
    conn = Meeting._meta.db
    seen: list[tuple[str, list[Any]]] = []
    run = conn.execute_query_dict

    async def recording(sql: str, values: list[Any] | None = None) -> list[dict[str, Any]]:
        seen.append((sql, values or []))
        return await run(sql, values)

    run_rows = conn.execute_query

    async def recording_rows(sql: str, values: list[Any] | None = None) -> Any:
        seen.append((sql, values or []))
        return await run_rows(sql, values)

    # Reads go through either (kit.store.sql.query_dicts takes SQLite's rows as they come).
    conn.execute_query_dict = recording  # type: ignore[method-assign]
    conn.execute_query = recording_rows  # type: ignore[method-assign]
    try:
        await search()
    finally:
        del conn.execute_query_dict
        del conn.execute_query
    sql, values = seen[nth]
    if not is_postgres():
        return " ".join(r["detail"] for r in await run("EXPLAIN QUERY PLAN " + sql, values))
    async with in_transaction() as tx:
        await tx.execute_query("SET LOCAL enable_seqscan = off")
        rows = await tx.execute_query_dict("EXPLAIN " + sql, values)
    return " ".join(r["QUERY PLAN"] for r in rows)


# --- soonest first ---------------------------------------------------------------------


def _soonest(query: NearbyQuery) -> NearbyQuery:
    return _with(query, sort="date")


async def test_sorted_by_date_the_soonest_come_first_within_the_radius_with_distances(
    db: str,
) -> None:
    lat, lon = 40.0, -75.0
    # The soonest is the farthest inside the radius: a growing circle would miss it.
    later_near = await meeting_at(lat, lon, starts_at=local(9), ends_at=local(9, 20))
    soonest_far = await meeting_at(
        *destination(lat, lon, 24, 1.0), starts_at=local(2), ends_at=local(2, 20)
    )
    middle = await meeting_at(
        *destination(lat, lon, 6, 2.0), starts_at=local(5), ends_at=local(5, 20)
    )
    await meeting_at(*destination(lat, lon, 30, 0.0), starts_at=local(1), ends_at=local(1, 20))
    page = await find_nearby(NearbyQuery(lat=lat, lon=lon, sort="date"))
    assert [m.public_id for m, _ in page.items] == [
        soonest_far.public_id,
        middle.public_id,
        later_near.public_id,
    ]
    assert [km for _, km in page.items] == [24.0, 6.0, 0.0]
    assert page.next_cursor is None


@pytest.mark.parametrize("walk_first", [False, True])
async def test_date_pages_lose_and_repeat_nothing_when_meetings_start_together(
    db: str, monkeypatch: pytest.MonkeyPatch, walk_first: bool
) -> None:
    if walk_first:  # as a wide search does: the next meetings in start order, then the box
        monkeypatch.setattr("kit.meetings.search.WALK_FROM_KM", 0.0)
    lat, lon = 40.0, -75.0
    made = []
    for i in range(7):
        day = 3 if i < 5 else 4 + i  # five start at the very same minute
        point = destination(lat, lon, 1 + i, 0.5 * i)
        made.append(await meeting_at(*point, starts_at=local(day), ends_at=local(day, 20)))
    pages = await all_pages(NearbyQuery(lat=lat, lon=lon, limit=2, sort="date"))
    seen = [m for page in pages for m, _ in page.items]
    assert [len(p.items) for p in pages] == [2, 2, 2, 1]
    assert len({m.public_id for m in seen}) == 7
    # Soonest first, and meetings starting together in id order.
    assert [(m.starts_at, m.public_id) for m in seen] == sorted(
        (m.starts_at, m.public_id) for m in made
    )


async def test_sorted_by_date_the_filters_still_apply(db: str) -> None:
    campaign = await make_campaign("spring-talks")
    soon = await meeting_at(40.0, -75.0, starts_at=local(3), ends_at=local(3, 20))
    inside = await meeting_at(
        40.0, -75.0, starts_at=local(5), ends_at=local(5, 20), campaign="spring-talks"
    )
    full = await meeting_at(40.0, -75.0, starts_at=local(6), ends_at=local(6, 20))
    await Meeting.filter(id=full.id).update(seats_taken=full.capacity)
    where = {"lat": 40.0, "lon": -75.0, "sort": "date"}
    assert await found_ids(**where, campaign_id=campaign.id) == [inside.public_id]
    assert await found_ids(**where, has_space=True) == [soon.public_id, inside.public_id]
    assert await found_ids(**where, starts_from=inside.starts_at) == [
        inside.public_id,
        full.public_id,
    ]


async def test_a_cursor_of_the_other_sort_or_a_forged_date_cursor_is_refused(db: str) -> None:
    for i in range(3):
        day = 3 + i
        await meeting_at(
            *destination(40.0, -75.0, i + 1, 0.0), starts_at=local(day), ends_at=local(day, 20)
        )
    by_distance = NearbyQuery(lat=40.0, lon=-75.0, limit=1)
    by_date = _soonest(by_distance)
    near_cursor = (await find_nearby(by_distance)).next_cursor
    date_cursor = (await find_nearby(by_date)).next_cursor
    assert near_cursor and date_cursor
    for query, cursor in ((by_date, near_cursor), (by_distance, date_cursor)):
        with pytest.raises(ValidationError) as raised:
            await find_nearby(_with(query, cursor=cursor))
        assert "different search" in raised.value.fields["cursor"]
    data = json.loads(base64.urlsafe_b64decode(date_cursor + "=" * (-len(date_cursor) % 4)))
    for forged in (
        {**data, "t": "next tuesday"},
        {**data, "t": 1765000000},
        {**data, "t": "2026-12-01T18:30:00"},  # no offset: which clock?
        {**data, "t": "0001-01-01T00:00:00+05:00"},  # before year 1 in UTC
        {**data, "id": ""},
        {"t": data["t"], "id": data["id"]},
    ):
        with pytest.raises(ValidationError) as raised:
            await find_nearby(_with(by_date, cursor=_cursor(forged)))
        assert "damaged" in raised.value.fields["cursor"], forged
    with pytest.raises(ValidationError) as raised:
        await find_nearby(_with(by_date, sort="soonest"))
    assert raised.value.fields["sort"]


async def test_a_campaigns_upcoming_meetings_anywhere_soonest_first_and_only_listed_ones(
    db: str,
) -> None:
    campaign = await make_campaign("spring-talks")
    await make_campaign("other")
    spring = {"campaign": "spring-talks"}
    lyon = {"street": "3 rue de la République", "locality": "Lyon", "postal_code": "69001"}
    far_away = await make_meeting(
        **spring, starts_at=local(4), ends_at=local(4, 20), address={**lyon, "country": "FR"}
    )
    here = await meeting_at(40.0, -75.0, **spring, starts_at=local(2), ends_at=local(2, 20))
    await meeting_at(40.0, -75.0, campaign="other", starts_at=local(1), ends_at=local(1, 20))
    await meeting_at(40.0, -75.0, starts_at=local(1), ends_at=local(1, 20))  # no campaign
    await meeting_at(40.0, -75.0, **spring, visibility="unlisted")
    await make_meeting(**spring, proven=False)  # awaiting the host's email
    for status in (MeetingStatus.HIDDEN, MeetingStatus.CANCELLED, MeetingStatus.PENDING):
        unlisted = await meeting_at(40.0, -75.0, **spring)
        await Meeting.filter(id=unlisted.id).update(status=status)
    past = await meeting_at(40.0, -75.0, **spring)
    await Meeting.filter(id=past.id).update(starts_at=datetime.now(UTC) - timedelta(hours=1))

    page = await list_upcoming(UpcomingQuery(campaign_id=campaign.id))
    assert [m.public_id for m in page.items] == [here.public_id, far_away.meeting.public_id]
    assert page.next_cursor is None
    first = await list_upcoming(UpcomingQuery(campaign_id=campaign.id, limit=1))
    assert [m.public_id for m in first.items] == [here.public_id]
    assert first.next_cursor
    second = await list_upcoming(
        UpcomingQuery(campaign_id=campaign.id, limit=1, cursor=first.next_cursor)
    )
    assert [m.public_id for m in second.items] == [far_away.meeting.public_id]
    assert second.next_cursor is None
    # A cursor of this list is not one of another campaign's.
    with pytest.raises(ValidationError) as raised:
        await list_upcoming(UpcomingQuery(campaign_id=campaign.id + 1, cursor=first.next_cursor))
    assert "different search" in raised.value.fields["cursor"]


async def test_the_date_sort_and_a_campaigns_list_run_on_indexes(db: str) -> None:
    soonest = NearbyQuery(lat=40.0, lon=-75.0, sort="date")
    box = await query_plan(lambda: find_nearby(soonest))
    assert uses_spatial_index(box), box
    if is_postgres():
        return  # which btree serves a walk in start order is the planner's choice
    # Wide: first the next upcoming meetings in start order; finding no page there, the box.
    wide = _with(soonest, radius_km=300)
    walk = await query_plan(lambda: find_nearby(wide))
    assert "USING INDEX idx_meeting_status_starts_at" in walk and "SCAN meeting" not in walk
    box = await query_plan(lambda: find_nearby(wide), nth=1)
    assert uses_spatial_index(box), box
    plan = await query_plan(lambda: list_upcoming(UpcomingQuery(campaign_id=1)))
    # (The page's own rows are then scanned to join their campaigns.)
    assert "USING INDEX" in plan and "SCAN meeting" not in plan, plan


async def test_a_short_walk_in_start_order_falls_back_to_the_box_and_loses_nothing(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read only 3 meetings in start order before falling back: the sooner ones are far.
    monkeypatch.setattr("kit.meetings.search.WALK_ROWS", 3)
    monkeypatch.setattr("kit.meetings.search.WALK_FROM_KM", 0.0)
    for day in (1, 2, 3, 4):
        await meeting_at(51.5, -0.12, starts_at=local(day), ends_at=local(day, 20))  # London
    near = [
        await meeting_at(
            *destination(40.0, -75.0, day, 1.0), starts_at=local(day), ends_at=local(day, 20)
        )
        for day in (5, 6, 7, 8, 9)
    ]
    pages = await all_pages(NearbyQuery(lat=40.0, lon=-75.0, limit=2, sort="date"))
    assert [m.public_id for page in pages for m, _ in page.items] == [m.public_id for m in near]


# --- the map's box ----------------------------------------------------------------

BASE = "http://testserver"


async def ids_in(*bbox: float, **options: Any) -> set[str]:
    return {m.public_id for m in await meetings_in_bbox(*bbox, **options)}


async def test_bbox_returns_only_points_inside(db: str) -> None:
    inside = await meeting_at(40.5, -74.0)
    north = await meeting_at(41.5, -74.0)
    east = await meeting_at(40.5, -72.0)
    assert await ids_in(-75.0, 40.0, -73.0, 41.0) == {inside.public_id}
    assert await ids_in(-75.0, 40.0, -71.0, 42.0) == {
        inside.public_id,
        north.public_id,
        east.public_id,
    }
    assert await ids_in(-180.0, -90.0, 180.0, 90.0) == {
        inside.public_id,
        north.public_id,
        east.public_id,
    }


async def test_bbox_across_the_antimeridian(db: str) -> None:
    fiji_east = await meeting_at(-16.5, 179.5)
    fiji_west = await meeting_at(-16.5, -179.5)
    await meeting_at(-16.5, 170.0)
    await meeting_at(-16.5, -170.0)
    assert await ids_in(179.0, -17.0, -179.0, -16.0) == {fiji_east.public_id, fiji_west.public_id}


async def test_bbox_leaves_out_hidden_and_past_meetings(db: str) -> None:
    shown = await meeting_at(40.5, -74.0)
    for change in (
        {"status": MeetingStatus.CANCELLED},
        {"status": MeetingStatus.PENDING},
        {"starts_at": datetime.now(UTC) - timedelta(minutes=5)},
    ):
        hidden = await meeting_at(40.5, -74.0)
        await Meeting.filter(id=hidden.id).update(**change)
    await meeting_at(40.5, -74.0, visibility="unlisted")
    assert await ids_in(-75.0, 40.0, -73.0, 41.0) == {shown.public_id}


async def test_bbox_campaign_filter_and_limit(db: str) -> None:
    campaign = await make_campaign("spring-talks")
    ours = await meeting_at(40.5, -74.0, campaign="spring-talks")
    for _ in range(3):
        await meeting_at(40.5, -74.0)
    box = (-75.0, 40.0, -73.0, 41.0)
    assert await ids_in(*box, campaign_id=campaign.id) == {ours.public_id}
    assert len(await meetings_in_bbox(*box, limit=2)) == 2


async def test_features_put_homes_at_their_approximate_point(db: str) -> None:
    home = (await make_meeting(title="At home")).meeting
    venue = (
        await make_meeting(
            title="At the library",
            kind="public",
            address={"street": "3 W 125th St", "postal_code": "10027"},
        )
    ).meeting
    found = await meetings_in_bbox(-74.5, 40.5, -73.5, 41.5)
    collection = feature_collection(found, BASE)
    assert collection["type"] == "FeatureCollection"
    features = {f["id"]: f for f in collection["features"]}
    home_feature = features[home.public_id]
    assert home_feature["geometry"] == {
        "type": "Point",
        "coordinates": [home.approx_lon, home.approx_lat],  # RFC 7946: lon first
    }
    assert home_feature["geometry"]["coordinates"] != [home.lon, home.lat]
    assert home_feature["properties"]["approximate"] is True
    venue_feature = features[venue.public_id]
    assert venue_feature["geometry"]["coordinates"] == [venue.lon, venue.lat]
    assert venue_feature["properties"]["approximate"] is False
    assert set(home_feature["properties"]) == {
        "id",
        "title",
        "starts_at",
        "timezone",
        "locality",
        "seats_left",
        "url",
        "approximate",
    }
    assert home_feature["properties"]["url"] == f"{BASE}/meetings/{home.public_id}"
    assert home_feature["properties"]["seats_left"] == 12
    assert "417 Elm" not in str(collection) and "quinn" not in str(collection).lower()


def test_the_leaves_refusals_come_back_as_the_kits_validation_error() -> None:
    for parse, text, field in (
        (parse_radius, "600", "radius_km"),
        (parse_limit, "ten", "limit"),
        (parse_bbox, "0,10,1,5", "bbox"),
    ):
        with pytest.raises(ValidationError) as raised:
            parse(text)
        assert list(raised.value.fields) == [field], text
