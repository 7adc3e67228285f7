"""An outbox row's ``expires_at``: set by whoever queues an email that stops helping.

``kit outbox retry --all`` reads it (``tests/outbox/test_outbox.py``); here each kind
with a deadline, queued through its real flow, carries the right one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from kit.coordinators import accounts, moderation, signin
from kit.core.settings import Settings
from kit.jobs.schedule import queue_reminders
from kit.reports.ideas import CONFIRM_MAX_AGE, get_public_idea, request_email_support
from kit.store.models import AccessToken, Meeting, MeetingStatus, OutboxMessage, TokenKind
from tests.factories import SITE, make_meeting
from tests.jobs.test_schedule import rsvp
from tests.reports.test_ideas import board


async def test_a_signin_link_expires_with_its_token(db: str) -> None:
    await accounts.add_coordinator("cara@example.org")
    now = datetime.now(UTC)
    await signin.send_signin_link("cara@example.org", ip="1.2.3.4", site=SITE, now=now)
    [mail] = await OutboxMessage.filter(kind="coordinator_signin")
    assert mail.expires_at == now + signin.LOGIN_TTL


async def test_a_host_confirm_link_expires_with_its_token(db: str) -> None:
    await make_meeting(proven=False)
    [mail] = await OutboxMessage.filter(kind="host_confirm")
    [token] = await AccessToken.filter(kind=TokenKind.HOST_CONFIRM)
    assert mail.expires_at is not None and mail.expires_at == token.expires_at


async def test_meeting_mail_expires_when_the_meeting_starts(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    created = await make_meeting()
    meeting = created.meeting
    await rsvp(client, meeting.public_id, "ada@example.org")
    now = meeting.starts_at - timedelta(hours=settings.reminder_hours - 1)
    assert await queue_reminders(settings, now) == 1
    await Meeting.filter(id=meeting.id).update(status=MeetingStatus.PENDING)
    await moderation.approve_from_cli(meeting.public_id, site=SITE)
    expiry = {mail.kind: mail.expires_at for mail in await OutboxMessage.all()}
    assert expiry.pop("meeting_created") is None, "the manage link never expires"
    assert set(expiry) >= {"rsvp_confirmed", "host_new_rsvp", "reminder", "meeting_approved"}
    assert set(expiry.values()) == {meeting.starts_at}


async def test_an_idea_support_link_expires_with_its_signature(db: str) -> None:
    [idea] = await board(texts=["A shaded playground"])
    before = datetime.now(UTC)
    await request_email_support(await get_public_idea(idea.public_id), "bo@example.org", site=SITE)
    [mail] = await OutboxMessage.filter(kind="idea_support_confirm")
    lifetime = timedelta(seconds=CONFIRM_MAX_AGE)
    assert mail.expires_at is not None
    assert before + lifetime <= mail.expires_at <= datetime.now(UTC) + lifetime
