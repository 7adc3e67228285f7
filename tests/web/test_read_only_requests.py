"""Reading a page writes nothing: no GET of a public page, JSON answer, feed or PDF (nor a
guest's or host's own page) inserts, updates or deletes a row. A write per read would take
SQLite's one write lock, and PostgreSQL's WAL, for every visitor.

Writes are counted by the database itself: a trigger on every kit table logs each write
into ``kit_test_writes`` (per statement on PostgreSQL, so an UPDATE that matches no row
counts too; per row on SQLite, which has no statement triggers), whatever code path
(ORM or raw SQL) sent it.
"""

from __future__ import annotations

import re

import httpx

from tests.factories import csrf_from, make_campaign, make_meeting, rsvp_link
from tests.web.test_privacy import CAMPAIGN, public_get_paths
from tests.writes import written

# GETs that write by documented design, and the one table each may write.
WRITES_BY_DESIGN: dict[str, set[tuple[str, str]]] = {
    # README: "/healthz checks that the database can be read and written" (one fixed
    # row of rate_counter, kit/store/health.py).
    "/healthz": {("rate_counter", "UPDATE")},
}


async def person_feed(client: httpx.AsyncClient, meeting_id: str) -> str:
    """A guest's own calendar feed, made the way a guest makes it."""
    answer = await client.post(
        f"/api/meetings/{meeting_id}/rsvps", json={"name": "Ada", "email": "ada@example.org"}
    )
    assert answer.status_code == 202, answer.text
    page = await rsvp_link("ada@example.org")
    shown = await client.post(f"{page}/feed", data={"csrf_token": await csrf_from(client, page)})
    found = re.search(r"http://testserver(/feeds/[\w-]+\.ics)", shown.text)
    assert found
    return found.group(1)


async def test_reading_pages_writes_nothing(client: httpx.AsyncClient, writes: None) -> None:
    await make_campaign(CAMPAIGN)
    created = await make_meeting(campaign=CAMPAIGN)
    meeting_id = created.meeting.public_id
    feed = await person_feed(client, meeting_id)
    rsvp_page = await rsvp_link("ada@example.org")
    manage = f"/manage/{meeting_id}?token={created.manage_token}"
    await client.get("/healthz")  # the probe row exists from here on
    paths = [
        *public_get_paths(meeting_id),
        "/find",
        "/find?near=10027&has_space=1&sort=date",
        f"/find?campaign={CAMPAIGN}",
        f"/api/meetings?campaign={CAMPAIGN}",
        f"/campaigns/{CAMPAIGN}/meetings.ics",
        feed,
        rsvp_page,
        manage,
    ]
    setup = await written()
    assert ("meeting", "INSERT") in setup, setup  # the log sees writes
    for path in paths:
        for _ in range(2):  # a first visit and a second (a cache filled on the first)
            response = await client.get(path)
            assert response.status_code in (200, 303), (path, response.status_code)
            route = path.replace(meeting_id, "{id}").split("?")[0]
            assert await written() <= WRITES_BY_DESIGN.get(route, set()), path
