"""One outbox for every channel: delivery hands each channel's rows to its sender.

Email is the channel there is today; texts, webhooks and federation deliveries join
it as senders of their own, on the same queue, claims, leases and retries. These
tests hold delivery to the sender contract (``kit.outbox.channels``) with a sender
that records what it is handed, and show that the email outbox of earlier versions
moved into the channel outbox row for row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from kit.outbox.channels import Failure
from kit.outbox.delivery import deliver_due
from kit.store.models import Channel, DeliveryStatus, OutboxMessage
from tests.servers import server_database

ROOT = Path(__file__).resolve().parents[2]


class RecordingSender:
    """A channel whose far end answers from a script: None (taken), a Failure, or an
    exception; every session it opens and every message it is handed is recorded."""

    channel = Channel.EMAIL

    def __init__(self, *answers: Failure | Exception | None) -> None:
        self.answers = list(answers)
        self.sessions = 0
        self.handed: list[str] = []

    def describe(self) -> str:
        return "a recording"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[RecordingSender]:
        self.sessions += 1
        yield self

    async def send(self, message: OutboxMessage) -> Failure | None:
        self.handed.append(message.recipient)
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        return answer


async def queue_messages(*recipients: str) -> None:
    for recipient in recipients:
        await OutboxMessage.create(
            channel=Channel.EMAIL,
            kind="test",
            recipient=recipient,
            payload={"text": f"for {recipient}"},
            next_attempt_at=datetime.now(UTC),
        )


async def test_a_batch_of_one_channel_goes_out_over_one_session_in_queue_order(db: str) -> None:
    await queue_messages("a", "b", "c")
    sender = RecordingSender()
    stats = await deliver_due([sender])
    assert (stats.claimed, stats.sent) == (3, 3)
    assert sender.sessions == 1 and sender.handed == ["a", "b", "c"]
    assert {m.status for m in await OutboxMessage.all()} == {DeliveryStatus.SENT}


async def test_a_worker_without_a_sender_for_a_channel_leaves_its_rows_alone(db: str) -> None:
    await queue_messages("a")
    stats = await deliver_due([])
    assert stats.claimed == 0
    [row] = await OutboxMessage.all()
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)


async def test_what_a_sender_answers_decides_retry_give_up_or_pause(db: str) -> None:
    await queue_messages("refused", "flaky", "broken", "down", "untried")
    sender = RecordingSender(
        Failure("550 no such user", permanent=True, stop_batch=False),
        Failure("451 try later", permanent=False, stop_batch=False),
        RuntimeError("a bug in the sender"),
        Failure("connection refused", permanent=False, stop_batch=True),
    )
    stats = await deliver_due([sender])
    assert sender.handed == ["refused", "flaky", "broken", "down"], "the far end is down: pause"
    assert (stats.claimed, stats.retried, stats.released, stats.sent) == (5, 4, 1, 0)
    rows = {m.recipient: m for m in await OutboxMessage.all()}
    assert rows["refused"].last_error == "550 no such user"
    assert rows["broken"].last_error == "RuntimeError('a bug in the sender')"
    assert (rows["untried"].attempts, rows["untried"].last_error) == (0, ""), "handed back"
    assert all(m.status is DeliveryStatus.PENDING for m in rows.values()), "retried later"


MIGRATE = r"""
import asyncio, json, sys
from tortoise import Tortoise
from kit.outbox.email import to_mime
from kit.store.db import apply_migrations, tortoise_config
from kit.store.models import OutboxMessage

url = sys.argv[1]
ROWS = [
    "INSERT INTO outbox_email (id, message_key, kind, to_addr, sender_name, reply_to, "
    "subject, body_text, body_html, headers, attachments, status, attempts, "
    "next_attempt_at, last_error, created_at, sent_at, expires_at) VALUES (7, 'key7', "
    "'rsvp_confirmed', 'ada@example.org', 'Quinn via House Meeting Kit', "
    "'quinn@example.org', 'You''re in: Kitchen table talk', 'Hi Ada, see you', "
    "'<p>Hi Ada</p>', '{\"List-Unsubscribe\": \"<http://kit.test/unsubscribe/x>\"}', "
    "'[{\"filename\": \"invite.ics\", \"content_type\": \"text/calendar; method=REQUEST\", "
    "\"text\": \"BEGIN:VCALENDAR\"}]', 'failed', 8, '2026-11-01 18:00:00+00:00', "
    "'SMTP down', '2026-11-01 17:00:00+00:00', NULL, '2026-11-02 18:00:00+00:00')",
    "INSERT INTO outbox_email (id, kind, to_addr, sender_name, reply_to, subject, "
    "body_text, body_html, headers, attachments, status, attempts, next_attempt_at, "
    "last_error, created_at, sent_at) VALUES (9, 'manage_links', 'quinn@example.org', '', "
    "'', 'Your links', 'Here', '', '{}', '[]', 'sent', 1, '2026-11-01 18:00:00+00:00', '', "
    "'2026-11-01 17:00:00+00:00', '2026-11-01 17:00:05+00:00')",
]

async def main():
    await apply_migrations(url, target="models.0010_outbox_expires_at")
    await Tortoise.init(config=tortoise_config(url))
    conn = Tortoise.get_connection("default")
    try:
        for sql in ROWS:
            await conn.execute_query(sql)
    finally:
        await Tortoise.close_connections()
    await apply_migrations(url)
    await Tortoise.init(config=tortoise_config(url))
    rows = [
        {**(await OutboxMessage.filter(id=m.id).values())[0],
         "mime": to_mime(m, "kit@example.org").as_string()}
        for m in await OutboxMessage.all().order_by("id")
    ]
    new = await OutboxMessage.create(kind="x", recipient="y", next_attempt_at=rows[0]["created_at"])
    print(json.dumps({"rows": rows, "new_id": new.id}, default=str))
    await Tortoise.close_connections()

asyncio.run(main())
"""


async def test_the_email_outbox_of_earlier_versions_moves_into_the_channel_outbox(
    tmp_path: Path,
) -> None:
    url = await server_database(tmp_path, "outbox_move")
    result = subprocess.run(
        [sys.executable, "-c", MIGRATE, url],
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    moved = json.loads(result.stdout.strip().splitlines()[-1])
    failed, sent = moved["rows"]
    assert (failed["id"], failed["channel"], failed["kind"], failed["recipient"]) == (
        7,
        "email",
        "rsvp_confirmed",
        "ada@example.org",
    )
    assert (failed["status"], failed["attempts"], failed["last_error"]) == (
        "failed",
        8,
        "SMTP down",
    )
    assert failed["message_key"] == "key7" and failed["expires_at"].startswith("2026-11-02 18:00")
    payload = failed["payload"]
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert payload == {
        "sender_name": "Quinn via House Meeting Kit",
        "reply_to": "quinn@example.org",
        "subject": "You're in: Kitchen table talk",
        "body_text": "Hi Ada, see you",
        "body_html": "<p>Hi Ada</p>",
        "headers": {"List-Unsubscribe": "<http://kit.test/unsubscribe/x>"},
        "attachments": [
            {
                "filename": "invite.ics",
                "content_type": "text/calendar; method=REQUEST",
                "text": "BEGIN:VCALENDAR",
            }
        ],
    }
    # The moved row still makes the same email: same Message-ID key, headers, invite.
    assert "Message-ID: <20261101170000.key7@example.org>" in failed["mime"]
    assert "List-Unsubscribe: <http://kit.test/unsubscribe/x>" in failed["mime"]
    assert 'filename="invite.ics"' in failed["mime"]
    assert (sent["id"], sent["status"], sent["recipient"]) == (9, "sent", "quinn@example.org")
    assert moved["new_id"] == 10, "new messages number on after the moved ones"
