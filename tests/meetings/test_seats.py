"""Seats: one truth under any interleaving. A meeting's seats_taken is always the sum of
its confirmed parties, never below zero and never above the capacity.

Each test ends by checking that in SQL (tests.factories.assert_seats_agree). The same
interleavings against real `kit serve` processes, with one and two workers, are in
tests/test_concurrency.py.
"""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError, OperationalError

from kit.meetings.rsvps import (
    RsvpInput,
    cancel_rsvp,
    change_guests,
    get_rsvp_by_token,
    record_rsvp,
)
from kit.store.models import Meeting, Rsvp, RsvpStatus
from tests.factories import SITE, assert_seats_agree, csrf_from, make_meeting, rsvp_token


async def guest(meeting: Meeting, email: str, guests: int = 0) -> None:
    await record_rsvp(
        meeting, RsvpInput(name=email.split("@")[0], email=email, guests=guests), site=SITE
    )


async def test_two_updates_of_one_rsvp_at_once_count_once(db: str) -> None:
    meeting = (await make_meeting(capacity=20)).meeting
    await guest(meeting, "ada@example.org")
    token = await rsvp_token()
    # Two tabs: each loaded the RSVP before either saved.
    tab1, tab2 = await get_rsvp_by_token(token), await get_rsvp_by_token(token)
    await asyncio.gather(change_guests(tab1, 3, site=SITE), change_guests(tab2, 3, site=SITE))
    assert (await Meeting.get(id=meeting.id)).seats_taken == 4
    # And back down, twice at once: released once.
    tab1, tab2 = await get_rsvp_by_token(token), await get_rsvp_by_token(token)
    await asyncio.gather(change_guests(tab1, 0, site=SITE), change_guests(tab2, 0, site=SITE))
    assert (await Meeting.get(id=meeting.id)).seats_taken == 1
    await assert_seats_agree()


async def test_a_double_clicked_update_form_counts_once(client: httpx.AsyncClient) -> None:
    meeting = (await make_meeting(capacity=20)).meeting
    await guest(meeting, "ada@example.org")
    page = f"/rsvp/{await rsvp_token()}"
    csrf = await csrf_from(client, page)
    form = {"csrf_token": csrf, "guests": "4", "name": "Ada"}
    answers = await asyncio.gather(*(client.post(page, data=form) for _ in range(5)))
    assert {a.status_code for a in answers} == {200}
    assert (await Meeting.get(id=meeting.id)).seats_taken == 5
    await assert_seats_agree()


async def test_a_double_cancel_releases_the_seats_once(db: str) -> None:
    meeting = (await make_meeting(capacity=5)).meeting
    await guest(meeting, "ada@example.org", guests=2)
    await guest(meeting, "bo@example.org", guests=1)
    token = await rsvp_token()
    first, second = await get_rsvp_by_token(token), await get_rsvp_by_token(token)
    await asyncio.gather(cancel_rsvp(first, site=SITE), cancel_rsvp(second, site=SITE))
    assert (await Meeting.get(id=meeting.id)).seats_taken == 2
    await assert_seats_agree()


async def test_the_same_email_twice_at_the_same_moment_is_one_rsvp(db: str) -> None:
    meeting = (await make_meeting(capacity=10)).meeting
    await asyncio.gather(*(guest(meeting, f"pair{n % 5}@example.org") for n in range(10)))
    assert await Rsvp.filter(meeting_id=meeting.id).count() == 5
    assert (await Meeting.get(id=meeting.id)).seats_taken == 5
    await assert_seats_agree()


async def test_cancellations_resizes_new_rsvps_and_promotions_interleaved(db: str) -> None:
    meeting = (await make_meeting(capacity=8)).meeting
    rng = random.Random(12)
    emails = [f"g{n}@example.org" for n in range(12)]
    for n, email in enumerate(emails):
        await guest(meeting, email, guests=n % 3)
    tokens = {email: await rsvp_token(email) for email in emails}

    async def act(email: str) -> None:
        rsvp = await get_rsvp_by_token(tokens[email])
        choice = rng.random()
        try:
            if choice < 0.3:
                await cancel_rsvp(rsvp, site=SITE)
            elif choice < 0.8:
                await change_guests(rsvp, rng.randint(0, 3), site=SITE)
            else:
                await guest(meeting, f"new-{rng.randint(0, 10**6)}@example.org", rng.randint(0, 2))
        except Exception as exc:  # a refused resize is fine; anything else is not
            if getattr(exc, "status_code", 500) >= 500:
                raise

    for _ in range(4):
        await asyncio.gather(*(act(rng.choice(emails)) for _ in range(15)))
        await assert_seats_agree()
    stored = await Meeting.get(id=meeting.id)
    waiting = await Rsvp.filter(meeting_id=meeting.id, status=RsvpStatus.WAITLISTED)
    # Nobody waits who would fit in the seats left.
    assert all(r.party_size > stored.capacity - stored.seats_taken for r in waiting)


@pytest.mark.parametrize("value", [-1, 9])
async def test_the_database_itself_refuses_a_seat_count_out_of_range(db: str, value: int) -> None:
    meeting = (await make_meeting(capacity=8)).meeting
    conn = Tortoise.get_connection("default")
    placeholder = "$1" if conn.capabilities.dialect == "postgres" else "?"
    with pytest.raises((IntegrityError, OperationalError)):
        await conn.execute_query(
            f"UPDATE meeting SET seats_taken = {value} WHERE id = {placeholder}", [meeting.id]
        )
    assert (await Meeting.get(id=meeting.id)).seats_taken == 0
