"""The operator's view of the outbox: emails delivery gave up on, and sending them again.

An SMTP outage longer than the retries (about an hour) leaves emails ``failed``.
Once the server is back, ``kit outbox retry --all`` hands them to the workers, which
deliver each once; emails that would now arrive too late to help stay failed.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kit.outbox import delivery
from kit.outbox import queue as outbox
from kit.outbox.delivery import deliver_due
from kit.store.models import DeliveryStatus, Meeting, OutboxMessage
from kit.toolkit.mail import Transport
from tests.factories import by_email, make_meeting
from tests.outbox.test_delivery import assert_each_arrived_once, make_due_now
from tests.servers import run_kit
from tests.smtp import SmtpServer

NOW = datetime.now(UTC)


async def failed_email(
    kind: str, meeting: Meeting | None = None, **fields: object
) -> OutboxMessage:
    created_at = fields.pop("created_at", None)
    email = await OutboxMessage.create(
        kind=kind,
        recipient=f"{kind}@example.org",
        subject=f"About {kind}",
        body_text="Hello",
        meeting=meeting,
        next_attempt_at=NOW,
        last_error="SMTPConnectError: Connection refused",
        **{"status": DeliveryStatus.FAILED, "attempts": delivery.MAX_ATTEMPTS, **fields},
    )
    if created_at is not None:
        await OutboxMessage.filter(id=email.id).update(created_at=created_at)
    return email


async def test_emails_given_up_in_a_long_outage_go_out_once_when_retried(
    db: str, unused_tcp_port: int, tmp_path: Path
) -> None:
    created = await make_meeting()  # the host's email with the manage link
    server = SmtpServer(unused_tcp_port)
    transport = Transport(server.url, tmp_path)
    for _ in range(delivery.MAX_ATTEMPTS):  # the server stays down through every retry
        await deliver_due(by_email(transport))
        await make_due_now()
    [email] = await OutboxMessage.all()
    assert (email.status, email.attempts) == (DeliveryStatus.FAILED, delivery.MAX_ATTEMPTS)
    counts = await outbox.summary()
    assert (counts.pending, counts.sent, counts.failed) == (0, 0, 1)
    [listed] = await outbox.failed_messages()
    assert listed.recipient == created.meeting.host.email
    assert "SMTPConnectError" in listed.describe() and not listed.stale

    server.start()
    try:
        requeued = await outbox.retry(every=True)
        assert requeued.ids == [email.id] and requeued.skipped == []
        assert (await deliver_due(by_email(transport))).sent == 1
        assert (await outbox.retry(every=True)).ids == [], "nothing failed any more"
        assert (await deliver_due(by_email(transport))).claimed == 0
        assert_each_arrived_once(server, 1)
    finally:
        server.stop()
    counts = await outbox.summary()
    assert (counts.pending, counts.sent, counts.failed) == (0, 1, 0)


async def test_retrying_everything_leaves_out_emails_that_would_arrive_too_late(db: str) -> None:
    held = (await make_meeting(title="Last week's meeting")).meeting
    await OutboxMessage.all().delete()  # the host's own email went out long ago

    # expires_at, as the code that queued each one set it (tests/outbox/test_expiry.py).
    late_reminder = await failed_email("reminder", held, expires_at=NOW - timedelta(days=1))
    reminder = await failed_email("reminder", expires_at=NOW + timedelta(days=1))
    thanks = await failed_email("thank_you", held)  # never too late
    expired = await failed_email("coordinator_signin", expires_at=NOW - timedelta(minutes=45))
    fresh = await failed_email("coordinator_signin", expires_at=NOW + timedelta(minutes=15))

    requeued = await outbox.retry(every=True, now=NOW)
    assert sorted(requeued.ids) == [reminder.id, thanks.id, fresh.id]
    assert {(e.id, e.stale) for e in requeued.skipped} == {
        (late_reminder.id, "it expired 1 d ago"),
        (expired.id, "it expired 45 min ago"),
    }
    for email in (reminder, thanks, fresh):
        await email.refresh_from_db()
        assert (email.status, email.attempts) == (DeliveryStatus.PENDING, 0)
        assert email.next_attempt_at <= datetime.now(UTC), "due at once"
    await late_reminder.refresh_from_db()
    assert late_reminder.status == DeliveryStatus.FAILED

    # Named by its id, an email goes out whatever its age: the operator chose it.
    assert (await outbox.retry([late_reminder.id])).ids == [late_reminder.id]
    await late_reminder.refresh_from_db()
    assert late_reminder.status == DeliveryStatus.PENDING


async def test_a_retry_says_what_it_needs(db: str) -> None:
    sent = await failed_email("thank_you", status=DeliveryStatus.SENT)
    with pytest.raises(outbox.OutboxError, match="ids from `kit outbox`"):
        await outbox.retry()
    with pytest.raises(outbox.OutboxError, match="or pass --all"):
        await outbox.retry([1], every=True)
    missing = sent.id + 10**6  # an id no row has, whatever ids the database hands out
    with pytest.raises(outbox.OutboxError, match=f"No failed message with id {sent.id}, {missing}"):
        await outbox.retry([sent.id, missing])
    await sent.refresh_from_db()
    assert sent.status == DeliveryStatus.SENT, "a sent email is never sent again"


def write_email_row(
    database: Path,
    *,
    status: str,
    attempts: int,
    created_at: datetime = NOW,
    expires_at: datetime | None = None,
) -> None:
    """An outbox row written straight into a SQLite file, as an operator's tools find it."""
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT INTO outbox_message (channel, kind, recipient, payload, status, attempts,"
            " next_attempt_at, last_error, created_at, expires_at) VALUES ('email', 'thank_you',"
            ' \'guest@example.org\', \'{"subject": "Thanks", "body_text": "Hi"}\', ?, ?, ?,'
            " 'SMTPConnectError: Connection refused', ?, ?)",
            (
                status,
                attempts,
                NOW.isoformat(" "),
                created_at.astimezone(UTC).isoformat(" "),
                expires_at and expires_at.astimezone(UTC).isoformat(" "),
            ),
        )


def test_kit_outbox_lists_failed_emails_and_retries_them(clean_env: dict[str, str]) -> None:
    assert run_kit(clean_env, "migrate").returncode == 0
    write_email_row(Path(clean_env["KIT_DATA_DIR"]) / "kit.sqlite3", status="failed", attempts=8)

    listing = run_kit(clean_env, "outbox")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[0] == "Outbox: 0 pending; 0 sent; 1 failed"
    assert lines[1].startswith("  #1  ")
    assert "thank_you to guest@example.org, 8 attempts: SMTPConnectError" in lines[1]

    vague = run_kit(clean_env, "outbox", "retry")
    assert vague.returncode == 2
    assert vague.stderr.strip().splitlines() == [
        "kit: Name the messages to send again (ids from `kit outbox`), or pass --all."
    ]
    retried = run_kit(clean_env, "outbox", "retry", "1")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.startswith("Queued 1 message again;")
    after = run_kit(clean_env, "outbox")
    assert after.stdout.startswith("Outbox: 1 pending, oldest queued ")
    assert after.stdout.splitlines()[0].endswith("; 0 sent; 0 failed")


def test_kit_outbox_retry_all_lists_what_it_leaves_failed(clean_env: dict[str, str]) -> None:
    assert run_kit(clean_env, "migrate").returncode == 0
    database = Path(clean_env["KIT_DATA_DIR"]) / "kit.sqlite3"
    write_email_row(database, status="failed", attempts=8, expires_at=NOW + timedelta(days=1))
    write_email_row(database, status="failed", attempts=8, expires_at=NOW - timedelta(days=2))

    retried = run_kit(clean_env, "outbox", "retry", "--all")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.splitlines()[0].startswith("Queued 1 message again;")
    assert retried.stdout.splitlines()[1:] == [
        "Left failed: #2 email thank_you to guest@example.org: it expired 2 d ago"
    ]
    after = run_kit(clean_env, "outbox")
    assert after.stdout.splitlines()[0].endswith("; 0 sent; 1 failed")
    assert "#2  " in after.stdout and "(stale: it expired 2 d ago)" in after.stdout
