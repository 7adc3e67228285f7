"""What one RSVP costs the database: its statements, counted from Tortoise's query log.

An RSVP's CPU is mostly its statements (bench/rsvp.py, README "RSVPs"): these tests fail
when one comes back (a re-read of the locked meeting, a SELECT of an RSVP a person
added in this very transaction can't have, the tallies' lock taken twice).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from kit.store.models import Person, Rsvp, RsvpStatus
from tests.factories import make_meeting


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement the kit sends while the block runs (not BEGIN/COMMIT, which
    Tortoise's transactions don't log)."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.args:
                seen.append(str(record.args[0]).split(None, 1)[0].upper())

    logger = logging.getLogger("tortoise.db_client")
    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def rsvp(client: httpx.AsyncClient, meeting_id: str, email: str, guests: int = 0) -> str:
    payload = {"name": "Ada Okafor", "email": email, "guests": guests}
    response = await client.post(f"/api/meetings/{meeting_id}/rsvps", json=payload)
    assert response.status_code == 202
    return str(response.json()["status"])


async def test_a_new_guest_rsvp_takes_thirteen_statements(client: httpx.AsyncClient) -> None:
    created = await make_meeting(capacity=10)
    meeting_id = created.meeting.public_id
    await rsvp(client, meeting_id, "first@example.org")  # warms the app up
    with statements() as seen:
        assert await rsvp(client, meeting_id, "ada@example.org", guests=1) == "confirmed"
    # The meeting's four columns; two rate limits; then in the transaction the locked
    # meeting with its host, campaign and the host's opt-out, the person (one INSERT),
    # the seats, the address cap and waiting parties (one read: nobody waits, so no
    # promotion read), the RSVP, the tallies, the guest's link and two emails; after
    # the commit the emails' rendered payloads in one UPDATE. 17 before this change,
    # as counted on SQLite (PostgreSQL also took the tallies' lock again: 18).
    assert seen == [
        "SELECT",  # meeting, for the 404 and the rate limit
        "INSERT",  # rate limit, per client
        "INSERT",  # rate limit, per meeting
        "SELECT",  # the meeting, locked, with host, campaign, host's opt-out
        "INSERT",  # the person
        "UPDATE",  # the seats
        "SELECT",  # addresses sent today, parties waiting
        "INSERT",  # the RSVP
        "UPDATE",  # the tallies
        "INSERT",  # the guest's link
        "INSERT",  # the confirmation
        "INSERT",  # the host's note (their opt-out was read with the meeting)
        "UPDATE",  # the emails' payloads, after the commit
    ]
    rsvp_row = await Rsvp.get(person__email="ada@example.org")
    assert rsvp_row.status is RsvpStatus.CONFIRMED and rsvp_row.address_sent_at is not None


async def test_a_known_person_is_found_not_added_again(client: httpx.AsyncClient) -> None:
    created = await make_meeting(capacity=10)
    other = await make_meeting(capacity=10)
    await rsvp(client, created.meeting.public_id, "Ada@Example.org ")
    person = await Person.get(email="ada@example.org")
    assert await rsvp(client, other.meeting.public_id, "ada@example.org") == "confirmed"
    assert await Person.filter(email="ada@example.org").count() == 1
    assert await Rsvp.filter(person_id=person.id).count() == 2
    assert (await Person.get(id=person.id)).name == "Ada Okafor"


async def test_a_waiting_party_is_still_promoted_first(client: httpx.AsyncClient) -> None:
    """The address cap's read also says whether anyone waits: when someone does, they
    are promoted before a new party takes the seats freed for them."""
    created = await make_meeting(capacity=2)
    meeting_id = created.meeting.public_id
    assert await rsvp(client, meeting_id, "a@example.org", guests=1) == "confirmed"
    assert await rsvp(client, meeting_id, "b@example.org", guests=1) == "waitlisted"
    # Make room behind the RSVPs' back, as a capacity change would: b waits for it.
    meeting = created.meeting
    await type(meeting).filter(id=meeting.id).update(capacity=5)
    assert await rsvp(client, meeting_id, "c@example.org") == "confirmed"
    statuses = {r.person.email: r.status for r in await Rsvp.all().select_related("person")}
    assert statuses == {
        "a@example.org": RsvpStatus.CONFIRMED,
        "b@example.org": RsvpStatus.CONFIRMED,
        "c@example.org": RsvpStatus.CONFIRMED,
    }
