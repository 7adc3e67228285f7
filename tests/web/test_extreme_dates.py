"""A meeting stored with an impossible date still has working pages, never a 500.

No meeting can be booked more than two years ahead any more, but a row from before
(or edited by hand) dated 9999-12-31 23:00 UTC is year 9999 on New York's clock and
year 10000 on Paris', past what a datetime holds. It used to break its own pages and
every page listing it (feeds: tests/meetings/test_feeds.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kit.store.models import Meeting
from tests.factories import csrf_from, make_campaign, make_meeting, rsvp_link

END_OF_TIME = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
PLACES = [
    # (where, search, how the start shows: as stored when the place's clock can't)
    ({}, "10027", "Fri Dec 31, 9999 · 6:00 PM"),
    (
        {"address": {"locality": "Lyon", "postal_code": "", "country": "FR"}},
        "Lyon, France",
        "Fri Dec 31, 9999 · 11:00 PM UTC",
    ),
]


@pytest.mark.parametrize(("where", "near", "shown"), PLACES, ids=["new-york", "paris"])
async def test_a_meeting_dated_9999_keeps_its_pages(
    client: httpx.AsyncClient, where: dict[str, Any], near: str, shown: str
) -> None:
    await make_campaign("spring")
    await make_meeting(campaign="spring", title="Fine", **where)
    created = await make_meeting(campaign="spring", title="Far away", **where)
    await Meeting.filter(id=created.meeting.id).update(
        starts_at=END_OF_TIME, ends_at=END_OF_TIME + timedelta(minutes=59)
    )
    meeting_id, token = created.meeting.public_id, created.manage_token

    # RSVPs still work, invitation (.ics) and all.
    rsvp = await client.post(
        f"/api/meetings/{meeting_id}/rsvps", json={"name": "Ada", "email": "ada@example.org"}
    )
    assert rsvp.status_code == 202, rsvp.text
    rsvp_page = await rsvp_link("ada@example.org")

    for path in (f"/meetings/{meeting_id}", rsvp_page, f"/manage/{meeting_id}?token={token}"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert shown in page.text, path
    for path in (f"/find?near={near}", "/campaigns/spring"):
        page = await client.get(path)
        assert page.status_code == 200 and "Fine" in page.text, path

    ics = await client.get(f"/meetings/{meeting_id}.ics")
    assert ics.status_code == 200 and "DTSTART:99991231T230000Z" in ics.text
    detail = (await client.get(f"/api/meetings/{meeting_id}")).json()
    assert detail["starts_at"].startswith("9999-12-31T")
    found = (await client.get("/api/meetings", params={"near": near})).json()
    assert {m["title"] for m in found["meetings"]} == {"Fine", "Far away"}
    for pdf in (f"/meetings/{meeting_id}/flyer.pdf", f"/meetings/{meeting_id}/packet.pdf"):
        response = await client.get(pdf, params={"token": token})
        assert response.status_code == 200, pdf
        assert response.headers["content-type"] == "application/pdf"


async def test_its_host_can_still_rename_it_or_must_pick_a_real_date(
    client: httpx.AsyncClient,
) -> None:
    new_york, paris = [await make_meeting(title=near, **where) for where, near, _ in PLACES]
    for created in (new_york, paris):
        await Meeting.filter(id=created.meeting.id).update(
            starts_at=END_OF_TIME, ends_at=END_OF_TIME + timedelta(minutes=59)
        )
    csrf = await csrf_from(
        client, f"/manage/{new_york.meeting.public_id}?token={new_york.manage_token}"
    )

    def form(created: Any) -> dict[str, str]:
        return {"csrf_token": csrf, "token": created.manage_token, "title": "Renamed"}

    # New York's clock shows the start, so the form sends it back unchanged: that's fine.
    saved = await client.post(f"/manage/{new_york.meeting.public_id}", data=form(new_york))
    assert saved.status_code == 200 and "Your changes are saved" in saved.text
    # Paris' can't: the form shows it in UTC, which in Paris is another time, to change.
    asked = await client.post(f"/manage/{paris.meeting.public_id}", data=form(paris))
    assert asked.status_code == 422
    assert "The start time is more than two years ahead" in asked.text
