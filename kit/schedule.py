"""Mail that time, not a person, triggers: guests' reminders and hosts' daily digests.

Safe with any number of workers: each reminder or digest is claimed by a
conditional UPDATE (``... WHERE reminded_at IS NULL``) in the same transaction
as the email it queues, so exactly one worker sends it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from kit import notifications
from kit.models import HostNotify, Meeting, MeetingStatus, Rsvp, RsvpStatus, TokenKind
from kit.settings import Settings
from kit.tokens import issue_token

log = logging.getLogger("kit.schedule")
DIGEST_EVERY = timedelta(days=1)


async def queue_reminders(site: Settings, now: datetime | None = None) -> int:
    """Remind confirmed guests of meetings starting within the reminder window."""
    now = now or datetime.now(UTC)
    due = await Rsvp.filter(
        status=RsvpStatus.CONFIRMED,
        reminded_at=None,
        meeting__status=MeetingStatus.PUBLISHED,
        meeting__starts_at__gt=now,
        meeting__starts_at__lte=now + timedelta(hours=site.reminder_hours),
    ).select_related("person", "meeting", "meeting__host")
    sent = 0
    for rsvp in due:
        async with in_transaction():
            claimed = await Rsvp.filter(id=rsvp.id, reminded_at=None).update(reminded_at=now)
            if not claimed:
                continue  # another worker took it
            token = await issue_token(TokenKind.RSVP_MANAGE, rsvp=rsvp)
            await notifications.send_from_host(
                "reminder",
                rsvp.meeting,
                rsvp.person.email,
                {
                    "rsvp": rsvp,
                    "guest": rsvp.person,
                    "rsvp_url": notifications.rsvp_url(token, site),
                },
                site,
                essential=False,
            )
        sent += 1
    return sent


async def queue_digests(site: Settings, now: datetime | None = None) -> int:
    """One email a day to hosts who asked for a digest, listing the RSVPs since the last."""
    now = now or datetime.now(UTC)
    hosts = await Meeting.filter(
        Q(host_digest_at=None) | Q(host_digest_at__lte=now - DIGEST_EVERY),
        host_notify=HostNotify.DIGEST,
        status=MeetingStatus.PUBLISHED,
        starts_at__gt=now,
    ).select_related("host")
    sent = 0
    for meeting in hosts:
        since = meeting.host_digest_at or meeting.created_at
        new = (
            await Rsvp.filter(meeting_id=meeting.id, created_at__gt=since)
            .exclude(status=RsvpStatus.CANCELLED)
            .select_related("person")
        )
        if not new:
            continue
        async with in_transaction():
            claimed = await Meeting.filter(
                id=meeting.id, host_digest_at=meeting.host_digest_at
            ).update(host_digest_at=now)
            if not claimed:
                continue
            await notifications.send_from_host(
                "host_digest",
                meeting,
                meeting.host.email,
                {"rsvps": new, "manage_url": f"{site.base_url}/manage/recover"},
                site,
                essential=False,
            )
        sent += 1
    return sent


async def run_due_jobs(site: Settings, now: datetime | None = None) -> tuple[int, int]:
    return await queue_reminders(site, now), await queue_digests(site, now)


async def run_schedule_loop(site: Settings, *, stop: asyncio.Event, interval: float = 60) -> None:
    """Every ``interval`` seconds until stopped; errors are logged, never fatal."""
    while not stop.is_set():
        try:
            reminders, digests = await run_due_jobs(site)
            if reminders or digests:
                log.info("queued %s reminder(s) and %s digest(s)", reminders, digests)
        except Exception:
            log.exception("scheduled mail failed; trying again in %s s", interval)
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
