"""Hosts type local times; around a daylight-saving change the kit asks instead of guessing.

The days are New York's next clock changes, found from today, so the meetings are
always ahead and within the two years a meeting can be planned.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from kit.store.models import Meeting
from tests.factories import confirm_emailed_meeting, make_meeting, meeting_body

NEW_YORK = ZoneInfo("America/New_York")


def next_clock_change(forward: bool) -> date:
    """The next day New York's clocks spring forward (or fall back), at least two days away."""
    day = datetime.now(UTC).date() + timedelta(days=2)
    while True:
        midnight = datetime.combine(day, time(0), NEW_YORK).utcoffset()
        noon = datetime.combine(day, time(12), NEW_YORK).utcoffset()
        assert midnight is not None and noon is not None
        if midnight != noon and (noon > midnight) == forward:
            return day
        day += timedelta(days=1)


SPRING = next_clock_change(forward=True)
FALL = next_clock_change(forward=False)


async def publish(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    return await client.post("/api/meetings", json=meeting_body(**fields))


async def change(
    client: httpx.AsyncClient, meeting_id: str, token: str, **fields: Any
) -> httpx.Response:
    return await client.patch(
        f"/api/meetings/{meeting_id}", json=fields, headers={"Authorization": f"Bearer {token}"}
    )


async def test_a_start_the_clocks_skip_is_refused_with_the_two_times_that_exist(
    client: httpx.AsyncClient,
) -> None:
    response = await publish(client, starts_at=f"{SPRING}T02:30", ends_at=f"{SPRING}T04:00")
    assert response.status_code == 422
    assert response.json()["fields"] == {
        "starts_at": f"2:30 AM doesn't exist on {SPRING:%B %-d} in this time zone "
        "(clocks jump from 2:00 to 3:00). Pick 1:30 AM or 3:30 AM."
    }
    assert await Meeting.all().count() == 0


async def test_an_end_the_clocks_skip_is_refused_too(client: httpx.AsyncClient) -> None:
    response = await publish(client, starts_at=f"{SPRING}T01:00", ends_at=f"{SPRING}T02:15")
    assert response.status_code == 422
    assert "2:15 AM doesn't exist" in response.json()["fields"]["ends_at"]


async def test_a_start_the_clocks_show_twice_is_asked_about_then_taken_as_answered(
    client: httpx.AsyncClient,
) -> None:
    times = {"starts_at": f"{FALL}T01:30", "ends_at": f"{FALL}T03:00"}
    asked = await publish(client, **times)
    assert asked.status_code == 422
    fields = asked.json()["fields"]
    assert fields["starts_at"].startswith(f"1:30 AM happens twice on {FALL:%B %-d}")
    assert fields["starts_at_fold"] == "Choose the first 1:30 AM (EDT) or the second (EST)."

    second = await publish(client, **times, starts_at_fold="second", title="After")
    await confirm_emailed_meeting(client, "quinn@example.org")
    first = await publish(client, **times, starts_at_fold="first", title="Before")
    await confirm_emailed_meeting(client, "quinn@example.org")
    assert (second.status_code, first.status_code) == (201, 201)
    for created, offset, hours in ((second, "-05:00", 1.5), (first, "-04:00", 2.5)):
        shown = (await client.get(f"/api/meetings/{created.json()['id']}")).json()
        assert shown["starts_at"] == f"{FALL}T01:30:00{offset}"
        meeting = await Meeting.get(public_id=created.json()["id"])
        assert (meeting.ends_at - meeting.starts_at) / timedelta(hours=1) == hours


async def test_a_change_keeps_the_chosen_one_and_asks_again_for_a_new_time(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting(
        starts_at=f"{FALL}T01:30", ends_at=f"{FALL}T03:00", starts_at_fold="second"
    )
    meeting_id, token = created.meeting.public_id, created.manage_token or ""

    renamed = await change(client, meeting_id, token, title="Renamed")
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["starts_at"] == f"{FALL}T01:30:00-05:00"

    moved = await change(client, meeting_id, token, starts_at=f"{FALL}T01:45")
    assert moved.status_code == 422
    assert "1:45 AM happens twice" in moved.json()["fields"]["starts_at"]
    answered = await change(
        client, meeting_id, token, starts_at=f"{FALL}T01:45", starts_at_fold="first"
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["starts_at"] == f"{FALL}T01:45:00-04:00"


async def test_a_choice_that_is_neither_first_nor_second_is_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await publish(client, starts_at_fold="later")
    assert response.status_code == 422
    assert response.json()["fields"]["starts_at_fold"] == "Choose “first” or “second”."
