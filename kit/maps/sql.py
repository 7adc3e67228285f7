"""Raw SQL for public meeting searches, shared by nearby search and the map's GeoJSON.

Both read many meetings per request on hot paths, so they skip the ORM's query
building and write SQL that SQLite and PostgreSQL both plan onto the
(approx_lat, approx_lon) index, reading only the columns the public view needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from kit.store.models import Campaign, Meeting, MeetingStatus, Visibility
from kit.store.sql import SqlParams

# What public_meeting() reads, and nothing else. Not the exact lat/lon: every meeting
# is shown at its public point (a public venue's is its exact one), so a home's exact
# point never leaves the database on these paths.
PUBLIC_COLUMNS = (
    "id",
    "public_id",
    "campaign_id",
    "title",
    "starts_at",
    "ends_at",
    "timezone",
    "kind",
    "venue_name",
    "street",
    "locality",
    "region",
    "postal_code",
    "country",
    "approx_lat",
    "approx_lon",
    "capacity",
    "seats_taken",
    "status",
    "visibility",
)


def public_upcoming_sql(
    p: SqlParams, now: datetime, campaign_id: int | None, *, by_location: bool = True
) -> list[str]:
    """Conditions for a meeting anyone may find: published, public, not yet started.

    ``by_location``: the query also bounds (approx_lat, approx_lon), and SQLite must use
    that index; without it (a campaign's list, no place) the planner may pick another.
    """
    column = p.filter_only if by_location else str
    conditions = [
        f"{column('status')} = '{MeetingStatus.PUBLISHED.value}'",
        f"{column('visibility')} = '{Visibility.PUBLIC.value}'",
        f"{column('starts_at')} > {p.time(now)}",
    ]
    if campaign_id is not None:
        conditions.append(f"{column('campaign_id')} = {p.add(campaign_id)}")
    return conditions


def lon_ranges_sql(p: SqlParams, ranges: Sequence[tuple[float, float]]) -> str:
    """approx_lon within any of the ranges (two when a box crosses the antimeridian)."""
    parts = [f"approx_lon BETWEEN {p.real(west)} AND {p.real(east)}" for west, east in ranges]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"


def columns_sql() -> str:
    return ", ".join(PUBLIC_COLUMNS)


def require_aware(value: datetime | None, name: str) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


async def meetings_from_rows(rows: Iterable[dict[str, Any]]) -> list[Meeting]:
    """Meeting objects from raw rows, with their campaigns, as select_related would give.

    They hold PUBLIC_COLUMNS only (Tortoise marks them partial): enough for
    public_meeting(), not for saving.
    """
    meetings = [Meeting._init_from_db(**_python_values(row)) for row in rows]
    ids = {m.campaign_id for m in meetings if m.campaign_id is not None}  # type: ignore[attr-defined]
    campaigns = await campaigns_by_id(ids)
    for meeting in meetings:
        # The slot select_related("campaign") fills; `meeting.campaign` reads it.
        object.__setattr__(meeting, "_campaign", campaigns.get(meeting.campaign_id))  # type: ignore[attr-defined]
    return meetings


def _python_values(row: dict[str, Any]) -> dict[str, Any]:
    values = {c: row[c] for c in PUBLIC_COLUMNS}
    for column in ("starts_at", "ends_at"):
        if isinstance(values[column], str):
            # SQLite hands back text; the C parser is ~10x faster than the one
            # Tortoise would use, and this is the hottest part of building a page.
            values[column] = datetime.fromisoformat(values[column])
    return values


async def campaigns_by_id(ids: set[int]) -> dict[int, Campaign]:
    """Whole campaigns in one raw query (the ORM's query building costs 0.1-0.2 ms a page)."""
    if not ids:
        return {}
    conn = Campaign._meta.db
    p = SqlParams(conn.capabilities.dialect)
    columns = ", ".join(Campaign._meta.fields_db_projection.values())
    placeholders = ", ".join(p.add(i) for i in sorted(ids))
    sql = f"SELECT {columns} FROM campaign WHERE id IN ({placeholders})"
    rows = await conn.execute_query_dict(sql, p.values)
    return {row["id"]: Campaign._init_from_db(**row) for row in rows}
