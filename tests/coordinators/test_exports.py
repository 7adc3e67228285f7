"""A campaign's CSV exports as a coordinator downloads them: RSVPs (contacts only with
consent), a byte-order mark so Excel reads UTF-8, and times on the meeting's clock with
UTC beside."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from zoneinfo import ZoneInfo

import httpx

from kit.coordinators.accounts import add_coordinator
from kit.store.models import AuditEntry, Meeting, Person
from tests.coordinators.test_dashboard import build_world
from tests.web.test_coordinator_pages import sign_in

EXPORT = "/coordinators/campaigns/winter/export/{}.csv"
EXCEL_TIME = "%Y-%m-%d %H:%M"


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text[:300]
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, once
    text = response.content.decode("utf-8-sig")
    assert not text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


async def test_rsvps_export_gives_contacts_only_with_consent(client: httpx.AsyncClient) -> None:
    w = await build_world()
    await Person.filter(email="g1@a.example").update(name="Zoë Ærø", phone="+1 212 555 0111")
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    rows = rows_of(await client.get(EXPORT.format("rsvps")))
    held = [r for r in rows if r["meeting"] == w.meetings["held"].public_id]
    by_name = {r["name"]: r for r in held}
    assert len(rows) == 10 and len(held) == 4  # every RSVP of A, cancelled ones too; none of B
    assert (by_name["Zoë Ærø"]["email"], by_name["Zoë Ærø"]["phone"]) == (
        "g1@a.example",
        "'+1 212 555 0111",
    )
    assert by_name["G4"]["consent"] == "no" and by_name["G4"]["email"] == ""
    assert by_name["G4"]["status"] == "cancelled"
    grown = [r for r in rows if r["meeting"] == w.meetings["grown"].public_id]
    assert all(r["email"] == "" and r["consent"] == "no" for r in grown)
    assert not any("b.example" in value for r in rows for value in r.values())
    [entry] = await AuditEntry.filter(action="export")
    assert (entry.actor_label, entry.detail) == ("cara@example.org", "rsvps")


async def test_times_are_on_the_meetings_clock_with_utc_beside(client: httpx.AsyncClient) -> None:
    w = await build_world()
    oakland = await Meeting.get(id=w.meetings["overdue"].id)
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    meetings = {r["id"]: r for r in rows_of(await client.get(EXPORT.format("meetings")))}
    row = meetings[oakland.public_id]
    zone = ZoneInfo(oakland.timezone)
    assert oakland.timezone == row["timezone"] == "America/Los_Angeles"
    assert row["starts_at"] == oakland.starts_at.astimezone(zone).strftime(EXCEL_TIME)
    assert row["starts_at_utc"] == oakland.starts_at.astimezone(UTC).strftime(EXCEL_TIME)
    assert row["starts_at"] != row["starts_at_utc"]
    assert row["ends_at"] == oakland.ends_at.astimezone(zone).strftime(EXCEL_TIME)
    rsvps = rows_of(await client.get(EXPORT.format("rsvps")))
    [guest] = [r for r in rsvps if r["meeting"] == oakland.public_id]
    assert guest["meeting_starts_at"] == row["starts_at"]
    assert guest["meeting_starts_at_utc"] == row["starts_at_utc"]
    for kind in ("attendees", "commitments", "ideas"):
        rows_of(await client.get(EXPORT.format(kind)))  # each starts with the mark
    [idea, _] = rows_of(await client.get(EXPORT.format("ideas")))
    assert idea["created_at"] and idea["created_at_utc"]


def test_public_ids_never_look_like_a_formula_in_a_spreadsheet() -> None:
    from kit.store.models import new_public_id

    assert not any(new_public_id().startswith("-") for _ in range(5000))
