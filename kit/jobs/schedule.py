"""Mail that time, not a person, triggers: guests' reminders, hosts' daily digests, and
the host's request for a report after the meeting (with reminders 3 and 7 days on).

Safe with any number of workers: each reminder, digest or report request is claimed
by a conditional UPDATE (``... WHERE reminded_at IS NULL``) in the same transaction
as the email it queues, so exactly one worker sends it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from kit.core import urls
from kit.core.outages import FailureLog
from kit.core.settings import Settings
from kit.meetings import notifications, rsvps
from kit.reports import service as reports
from kit.store.models import HostNotify, Meeting, MeetingStatus, Rsvp, RsvpStatus, TokenKind
from kit.store.tokens import issue_token

log = logging.getLogger("kit.jobs.schedule")
DIGEST_EVERY = timedelta(days=1)
# Report requests go to meetings that ended at most this long ago (so an upgrade
# doesn't ask about every meeting ever held); reminders follow when still unfiled.
REPORT_WINDOW = timedelta(days=14)
REPORT_REMINDERS = (timedelta(days=3), timedelta(days=7))  # after the meeting ended
REMINDER_GAP = timedelta(days=1)  # never a reminder on the heels of the request


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
                    "rsvp_url": urls.rsvp_manage(site.base_url, token),
                    "exact": await rsvps.reveal_address(rsvp.meeting, rsvp, now),
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
                {"rsvps": new, "manage_url": urls.manage_recover(site.base_url)},
                site,
                essential=False,
            )
        sent += 1
    return sent


def report_step(meeting: Meeting, now: datetime) -> int | None:
    """0: ask for the report; 1, 2: that reminder; None: nothing due. A worker that was
    down past both reminder days sends only the last one."""
    if meeting.report_requested_at is None:
        return 0
    if now - meeting.report_requested_at < REMINDER_GAP:
        return None
    due = sum(1 for after in REPORT_REMINDERS if now - meeting.ends_at >= after)
    return due if due > meeting.report_reminders else None


async def _claim_report_step(meeting: Meeting, step: int, now: datetime) -> bool:
    unfiled = Meeting.filter(id=meeting.id, status=MeetingStatus.PUBLISHED, completed_at=None)
    if step == 0:
        return bool(await unfiled.filter(report_requested_at=None).update(report_requested_at=now))
    claimed = await unfiled.filter(report_reminders=meeting.report_reminders).update(
        report_reminders=step
    )
    return bool(claimed)


async def queue_report_requests(site: Settings, now: datetime | None = None) -> int:
    """Ask each host of a meeting that ended for their report, then remind them twice."""
    now = now or datetime.now(UTC)
    ended = await Meeting.filter(
        status=MeetingStatus.PUBLISHED,
        completed_at=None,
        ends_at__lte=now,
        ends_at__gt=now - REPORT_WINDOW,
        report_reminders__lt=len(REPORT_REMINDERS),
    ).select_related("host", "campaign")
    sent = 0
    for meeting in ended:
        step = report_step(meeting, now)
        until = reports.editable_until(meeting, meeting.campaign)
        if step is None or now >= until:
            continue
        async with in_transaction():
            if not await _claim_report_step(meeting, step, now):
                continue  # another worker took it, or the host just filed
            # Only hashes of manage tokens are kept, so the link carries a fresh one.
            token = await issue_token(TokenKind.MEETING_MANAGE, meeting=meeting)
            await notifications.send_from_host(
                "report_reminder" if step else "report_request",
                meeting,
                meeting.host.email,
                {
                    "report_url": urls.report_form(site.base_url, meeting.public_id, token),
                    "editable_until": until,
                    "reminder": step,
                    "last_reminder": step == len(REPORT_REMINDERS),
                },
                site,
                essential=step == 0,
            )
        sent += 1
    return sent


async def run_due_jobs(site: Settings, now: datetime | None = None) -> tuple[int, int, int]:
    """(reminders, digests, report requests and reminders) queued."""
    return (
        await queue_reminders(site, now),
        await queue_digests(site, now),
        await queue_report_requests(site, now),
    )


async def run_schedule_loop(site: Settings, *, stop: asyncio.Event, interval: float = 60) -> None:
    """Every ``interval`` seconds until stopped; errors are logged, never fatal."""
    failures = FailureLog(log, "scheduled mail")
    while not stop.is_set():
        try:
            reminders, digests, report_mail = await run_due_jobs(site)
        except Exception as exc:
            failures.failed(exc, interval)
        else:
            failures.succeeded()
            if reminders or digests or report_mail:
                log.info(
                    "queued %s reminder(s), %s digest(s) and %s report request(s)",
                    reminders,
                    digests,
                    report_mail,
                )
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
