"""The map's points: meetings in a visible box, as a GeoJSON FeatureCollection.

Every feature is built from ``public_meeting()``, so a home sits at its pin, a
public venue at its door, and nothing private can slip into a property. The box is
matched against the same public point the feature shows. Coordinates are
[lon, lat] (RFC 7946).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from kit.core.errors import ValidationError
from kit.maps.sql import (
    columns_sql,
    lon_ranges_sql,
    meetings_from_rows,
    public_upcoming_sql,
    require_aware,
)
from kit.meetings.public import public_meeting
from kit.store.models import Meeting
from kit.store.sql import SqlParams

MAX_FEATURES = 2000
BBOX_HELP = "Give the map's box as west,south,east,north in degrees, e.g. -74.1,40.6,-73.8,40.9."


def parse_bbox(text: str | None) -> tuple[float, float, float, float]:
    """``west,south,east,north``; west > east is a box across the antimeridian."""
    parts = (text or "").split(",")
    if len(parts) != 4 or len(text or "") > 200:
        raise ValidationError({"bbox": BBOX_HELP})
    try:
        west, south, east, north = (float(part) for part in parts)
    except ValueError:
        raise ValidationError({"bbox": BBOX_HELP}) from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise ValidationError({"bbox": BBOX_HELP})
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise ValidationError({"bbox": "Longitudes (west, east) must be between -180 and 180."})
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise ValidationError({"bbox": "Latitudes (south, north) must be between -90 and 90."})
    if south > north:
        raise ValidationError({"bbox": "The box's south edge must not be north of its north edge."})
    return west, south, east, north


async def meetings_in_bbox(
    west: float,
    south: float,
    east: float,
    north: float,
    *,
    campaign_id: int | None = None,
    now: datetime | None = None,
    limit: int = MAX_FEATURES,
) -> list[Meeting]:
    """Published public upcoming meetings whose public point is in the box, soonest first.

    At most ``limit``: a box holding more (a whole continent) gets ``limit`` of them,
    taken in index order rather than sorted, so a huge box stays as cheap as a small
    one. A result of exactly ``limit`` means "zoom in to see them all".
    """
    require_aware(now, "now")
    conn = Meeting._meta.db
    p = SqlParams(conn.capabilities.dialect)
    where = [f"approx_lat BETWEEN {p.real(south)} AND {p.real(north)}"]
    ranges = [(west, east)] if west <= east else [(west, 180.0), (-180.0, east)]
    if ranges != [(-180.0, 180.0)]:
        where.append(lon_ranges_sql(p, ranges))
    where += public_upcoming_sql(p, now or datetime.now(UTC), campaign_id)
    sql = f"SELECT {columns_sql()} FROM meeting WHERE {' AND '.join(where)} LIMIT {p.add(limit)}"
    meetings = await meetings_from_rows(await conn.execute_query_dict(sql, p.values))
    meetings.sort(key=lambda m: (m.starts_at, m.public_id))
    return meetings


def meeting_to_feature(meeting: Meeting, base_url: str) -> dict[str, Any]:
    public = public_meeting(meeting, base_url)
    location = public["location"]
    return {
        "type": "Feature",
        "id": public["id"],
        "geometry": {"type": "Point", "coordinates": [location["lon"], location["lat"]]},
        "properties": {
            "id": public["id"],
            "title": public["title"],
            "starts_at": public["starts_at"],
            "timezone": public["timezone"],
            "locality": location["locality"],
            "seats_left": public["seats_left"],
            "url": public["url"],
            "approximate": location["approximate"],
        },
    }


def feature_collection(meetings: Iterable[Meeting], base_url: str) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [meeting_to_feature(m, base_url) for m in meetings],
    }
