"""GeoJSON shapes (RFC 7946) of public meetings: coordinates are [lon, lat].

Each feature is shaped from the public view of a meeting (``public_meeting()``'s
dict), so a home sits at its pin, a public venue at its door, and nothing private can
slip into a property. Which meetings, and their public view, is the search's business
(``kit.meetings.search``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def public_to_feature(public: dict[str, Any]) -> dict[str, Any]:
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


def features_to_collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def cluster_to_feature(
    cluster_id: str,
    count: int,
    lat: float,
    lon: float,
    bounds: tuple[float, float, float, float],
    zoom_to: int,
) -> dict[str, Any]:
    """A cluster of ``count`` meetings at the mean of their public points; ``bounds``
    (west, south, east, north) is its cell, what a click zooms the map to."""
    return {
        "type": "Feature",
        "id": cluster_id,
        "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        "properties": {
            "cluster": True,
            "count": count,
            "bbox": [round(v, 6) for v in bounds],
            "zoom_to": zoom_to,
        },
    }
