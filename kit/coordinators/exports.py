"""A campaign's CSV exports for its coordinators: meetings, RSVPs, attendees, commitments
and ideas. The rows come from here; the CSV, with its guard against formulas in every
column and the byte-order mark Excel needs to read UTF-8, from ``kit.toolkit.spreadsheet``.

Contact details appear only for people who agreed that the campaign may contact them.
Times are on the meeting's clock (its ``timezone``), as ``YYYY-MM-DD HH:MM`` that
spreadsheets read as a date, each with the same moment in UTC in the column beside.
Rows come a batch at a time in id order (keyset pagination), so a 100,000-row export
never sits in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kit.store.sql import as_datetime, default_params, read_rows
from kit.toolkit.spreadsheet import both_clocks, csv_chunks

EXPORT_BATCH = 1000

# Each query's header and SQL. export_rows fills ``{campaign}`` and ``{after}`` (the last
# key read) with placeholders, never with values, through str.format: no other braces.
EXPORTS: dict[str, tuple[list[str], str]] = {
    "meetings": (
        ["id", "title", "status", "starts_at", "starts_at_utc", "ends_at", "ends_at_utc",
         "timezone", "street", "locality",
         "region", "postal_code", "country", "kind", "capacity", "seats_taken", "host_name",
         "host_email", "host_phone", "grew_from", "reported", "headcount", "hidden_reason"],
        """SELECT x.id AS _key, x.timezone AS _tz, x.public_id, x.title, x.status,
             x.starts_at, x.ends_at,
             x.timezone, x.street, x.locality, x.region, x.postal_code, x.country, x.kind,
             x.capacity, x.seats_taken, p.name, p.email, p.phone, g.public_id AS grew_from,
             CASE WHEN r.id IS NULL THEN 'no' ELSE 'yes' END AS reported, r.headcount,
             x.hidden_reason
           FROM meeting x JOIN person p ON p.id = x.host_id
           LEFT JOIN meeting g ON g.id = x.grew_from_id
           LEFT JOIN report r ON r.meeting_id = x.id
           WHERE x.campaign_id = {campaign} AND x.status <> 'draft' AND x.id > {after}""",
    ),
    # Contact details only for those who said the campaign may contact them.
    "rsvps": (
        ["meeting", "meeting_title", "locality", "meeting_starts_at", "meeting_starts_at_utc",
         "timezone", "name", "email", "phone", "consent", "status", "guests", "rsvp_at",
         "rsvp_at_utc"],
        """SELECT r.id AS _key, x.timezone AS _tz, x.public_id, x.title, x.locality,
             x.starts_at, x.timezone, p.name,
             CASE WHEN r.consent THEN p.email ELSE NULL END AS email,
             CASE WHEN r.consent THEN p.phone ELSE NULL END AS phone,
             CASE WHEN r.consent THEN 'yes' ELSE 'no' END AS consent,
             r.status, r.guests, r.created_at
           FROM rsvp r JOIN meeting x ON x.id = r.meeting_id JOIN person p ON p.id = r.person_id
           WHERE x.campaign_id = {campaign} AND x.status <> 'draft' AND r.id > {after}""",
    ),
    "attendees": (
        ["meeting", "meeting_title", "locality", "name", "email", "phone", "consent", "walk_in",
         "had_rsvp"],
        """SELECT a.id AS _key, x.public_id, x.title, x.locality, a.name,
             CASE WHEN a.consent THEN a.email ELSE NULL END AS email,
             CASE WHEN a.consent THEN a.phone ELSE NULL END AS phone,
             CASE WHEN a.consent THEN 'yes' ELSE 'no' END AS consent,
             CASE WHEN a.walk_in THEN 'yes' ELSE 'no' END AS walk_in,
             CASE WHEN a.rsvp_id IS NULL THEN 'no' ELSE 'yes' END AS had_rsvp
           FROM attendee a JOIN meeting x ON x.id = a.meeting_id
           WHERE x.campaign_id = {campaign} AND a.id > {after}""",
    ),
    "commitments": (
        ["meeting", "meeting_title", "locality", "ask", "name", "email", "phone", "consent"],
        """SELECT c.id AS _key, x.public_id, x.title, x.locality, c.ask, a.name,
             CASE WHEN a.consent THEN a.email ELSE NULL END AS email,
             CASE WHEN a.consent THEN a.phone ELSE NULL END AS phone,
             CASE WHEN a.consent THEN 'yes' ELSE 'no' END AS consent
           FROM commitment c JOIN attendee a ON a.id = c.attendee_id
           JOIN meeting x ON x.id = c.meeting_id
           WHERE x.campaign_id = {campaign} AND c.id > {after}""",
    ),
    "ideas": (
        ["id", "text", "status", "status_note", "supporters", "meeting", "locality",
         "created_at", "created_at_utc"],
        """SELECT i.id AS _key, x.timezone AS _tz, i.public_id, i.text, i.status,
             i.status_note, i.supporters, x.public_id AS meeting, x.locality, i.created_at
           FROM idea i JOIN meeting x ON x.id = i.meeting_id
           WHERE i.campaign_id = {campaign} AND i.id > {after}""",
    ),
}  # fmt: skip


# Exports a viewer may download: no names, emails, phones or addresses in them.
WITHOUT_CONTACTS = frozenset({"ideas"})


def export_csv(kind: str, campaign_id: int) -> AsyncIterator[str]:
    """The export as CSV text, a chunk at a time (``kind`` is a key of ``EXPORTS``)."""
    header, _ = EXPORTS[kind]
    return csv_chunks(header, export_rows(kind, campaign_id), bom=True)  # opened in Excel


async def export_rows(kind: str, campaign_id: int) -> AsyncIterator[list[Any]]:
    """One list per row, in id order, fetched a batch at a time (never the whole table)."""
    _, sql = EXPORTS[kind]
    last = 0
    while True:
        p = default_params()
        where = {"campaign": p.add(campaign_id), "after": p.add(last)}
        page = f"{sql.format(**where)} ORDER BY _key LIMIT {p.add(EXPORT_BATCH)}"
        batch = await read_rows(page, p)
        for row in batch:
            yield _export_row(row)
        if len(batch) < EXPORT_BATCH:
            return
        last = batch[-1]["_key"]


DATETIME_COLUMNS = frozenset({"starts_at", "ends_at", "created_at"})
HIDDEN_COLUMNS = frozenset({"_key", "_tz"})


def _zone(name: object) -> tzinfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _export_row(row: dict[str, Any]) -> list[Any]:
    """The row's cells: each time twice, on the meeting's clock and in UTC."""
    zone, cells = _zone(row.get("_tz")), list[Any]()
    for column, value in row.items():
        if column in HIDDEN_COLUMNS:
            continue
        if column in DATETIME_COLUMNS:
            moment = as_datetime(value) if value is not None else None
            cells.extend(both_clocks(moment, zone))
        else:
            cells.append("" if value is None else value)
    return cells
