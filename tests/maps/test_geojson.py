"""The map's GeoJSON: meetings in the visible box, homes at their approximate point."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kit.core.errors import ValidationError
from kit.maps.geojson import feature_collection, meetings_in_bbox, parse_bbox
from kit.store.models import Meeting, MeetingStatus
from tests.factories import make_campaign, make_meeting

BASE = "http://testserver"
_titles = itertools.count(1)


async def meeting_at(lat: float, lon: float, **overrides: Any) -> Meeting:
    overrides.setdefault("title", f"Map meeting {next(_titles)}")
    meeting = (await make_meeting(**overrides)).meeting
    await Meeting.filter(id=meeting.id).update(approx_lat=lat, approx_lon=lon)
    return await Meeting.get(id=meeting.id)


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


def test_parse_bbox() -> None:
    assert parse_bbox("-74.1,40.6,-73.8,40.9") == (-74.1, 40.6, -73.8, 40.9)
    assert parse_bbox("179,-17,-179,-16") == (179.0, -17.0, -179.0, -16.0)
    for text in (
        None,
        "",
        "1,2,3",
        "1,2,3,4,5",
        "a,b,c,d",
        "nan,0,1,1",
        "-181,0,0,1",
        "0,-91,1,1",
        "0,10,1,5",
        "1," * 200 + "1",
    ):
        with pytest.raises(ValidationError) as raised:
            parse_bbox(text)
        assert raised.value.fields["bbox"], text
