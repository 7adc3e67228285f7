"""Reminders a day before, and hosts' daily digests: sent once, whatever runs them."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tortoise import Tortoise

from kit.core.settings import Settings
from kit.jobs.schedule import queue_digests, queue_reminders, run_schedule_loop
from kit.store.models import HostNotify, Meeting, OutboxMessage, Rsvp
from tests.factories import local, make_meeting
from tests.servers import until


async def rsvp(client: httpx.AsyncClient, mid: str, email: str) -> None:
    response = await client.post(
        f"/api/meetings/{mid}/rsvps", json={"name": email.split("@")[0], "email": email}
    )
    assert response.status_code == 202


async def test_confirmed_guests_get_one_reminder_within_the_window(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    soon = await make_meeting(capacity=1)
    later = await make_meeting(title="Later", starts_at=local(60, 18), ends_at=local(60, 20))
    await rsvp(client, soon.meeting.public_id, "ada@example.org")
    await rsvp(client, soon.meeting.public_id, "bo@example.org")  # waitlisted
    await rsvp(client, later.meeting.public_id, "cy@example.org")
    now = soon.meeting.starts_at - timedelta(hours=settings.reminder_hours - 1)

    assert await queue_reminders(settings, now - timedelta(hours=2)) == 0  # too early
    # Two workers at once: exactly one reminder.
    counts = await asyncio.gather(queue_reminders(settings, now), queue_reminders(settings, now))
    assert sum(counts) == 1
    assert await queue_reminders(settings, now + timedelta(minutes=5)) == 0
    [reminder] = await OutboxMessage.filter(kind="reminder")
    assert reminder.recipient == "ada@example.org"
    assert "417 Elm St" in reminder.payload["body_text"]
    assert reminder.payload["headers"]["List-Unsubscribe"].startswith(
        "<http://testserver/unsubscribe/"
    )


async def test_digest_hosts_get_one_email_a_day_instead_of_one_each(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    created = await make_meeting()
    await Meeting.filter(id=created.meeting.id).update(host_notify=HostNotify.DIGEST)
    for email in ("ada@example.org", "bo@example.org"):
        await rsvp(client, created.meeting.public_id, email)
    assert await OutboxMessage.filter(kind="host_new_rsvp").count() == 0

    now = datetime.now(UTC) + timedelta(minutes=1)
    assert await queue_digests(settings, now) == 1
    assert await queue_digests(settings, now + timedelta(hours=1)) == 0  # once a day
    [digest] = await OutboxMessage.filter(kind="host_digest")
    assert digest.recipient == "quinn@example.org"
    assert "ada" in digest.payload["body_text"] and "bo" in digest.payload["body_text"]
    assert "ada@example.org" not in digest.payload["body_text"]

    assert await queue_digests(settings, now + timedelta(days=1, minutes=1)) == 0  # nothing new
    await Rsvp.filter().update(created_at=now + timedelta(days=1))
    await rsvp(client, created.meeting.public_id, "cy@example.org")
    await Rsvp.filter(person__email="cy@example.org").update(
        created_at=now + timedelta(days=1, minutes=2)
    )
    assert await queue_digests(settings, now + timedelta(days=1, minutes=3)) == 1


async def test_the_schedule_outlives_a_database_outage_with_one_traceback_in_the_log(
    db: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    conn = Tortoise.get_connection("default")
    stop = asyncio.Event()
    await conn.execute_script("ALTER TABLE rsvp RENAME TO rsvp_away")
    away = True
    try:
        with caplog.at_level(logging.INFO, logger="kit.jobs.schedule"):
            loop = asyncio.create_task(run_schedule_loop(settings, stop=stop, interval=0.05))
            await until(lambda: caplog.text.count("still failing") >= 2)
            await conn.execute_script("ALTER TABLE rsvp_away RENAME TO rsvp")
            away = False
            await until(lambda: "scheduled mail works again" in caplog.text)
    finally:
        stop.set()
        if away:
            await conn.execute_script("ALTER TABLE rsvp_away RENAME TO rsvp")
    await asyncio.wait_for(loop, 5)
    assert not loop.exception()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "scheduled mail failed" in tracebacks[0].getMessage()
