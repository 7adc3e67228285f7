"""kit.outbox.delivery against a real SMTP server, the test database and real processes."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.transactions import in_transaction

from kit.core.settings import Settings
from kit.outbox import delivery
from kit.outbox.delivery import (
    DeliveryStats,
    claim_due,
    deliver_due,
    run_delivery_loop,
    transport_for,
)
from kit.outbox.email import queue_email
from kit.outbox.wake import notify
from kit.store.models import DeliveryStatus, OutboxMessage
from kit.toolkit.mail import Transport
from tests.clock import FakeClock
from tests.factories import by_email
from tests.servers import settings_env, spawn, until
from tests.smtp import SmtpServer

CONTEXT = {"host": {"first_name": "Quinn"}, "links": []}
INVITE = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"


class _Rollback(Exception):
    pass


async def queue(count: int = 1, *, to: str = "guest{i}@example.org", **kwargs: Any) -> None:
    async with in_transaction():
        for i in range(count):
            await queue_email("manage_links", to=to.format(i=i), context=CONTEXT, **kwargs)


async def make_due_now() -> None:
    """Travel past every backoff: pending rows are due again."""
    await OutboxMessage.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=datetime.now(UTC)
    )


async def drain(transport: Transport, worker_id: str, **kwargs: Any) -> DeliveryStats:
    """Deliver until no email is pending (waiting out rows another worker holds)."""
    total = DeliveryStats()
    deadline = time.monotonic() + 60
    while await OutboxMessage.filter(status=DeliveryStatus.PENDING).exists():
        assert time.monotonic() < deadline, "emails still pending after 60 s"
        stats = await deliver_due(by_email(transport), worker_id=worker_id, **kwargs)
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(stats, name))
        if not stats.claimed:
            await asyncio.sleep(0.02)
    return total


def assert_each_arrived_once(server: SmtpServer, count: int) -> None:
    ids = server.message_ids()
    assert len(ids) == count, f"{count - len(ids)} emails lost"
    assert max(ids.values()) == 1, f"sent twice: {[i for i, n in ids.items() if n > 1]}"


# --- Worker processes ------------------------------------------------------------------

WORKER = """
import asyncio, logging, sys
from datetime import timedelta
from kit.core.settings import Settings
from kit.outbox.delivery import run_worker
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
batch, lease = int(sys.argv[1]), timedelta(seconds=float(sys.argv[2]))
sys.exit(asyncio.run(run_worker(Settings.from_env(), interval=0.05, batch=batch, lease=lease)))
"""


def start_worker(
    settings: Settings, server: SmtpServer, log_path: Path, *, batch: int = 50, lease: float = 300
) -> subprocess.Popen[bytes]:
    env = settings_env(settings, KIT_SMTP_URL=server.url)
    return spawn(["-c", WORKER, str(batch), str(lease)], env, log_path)


# --- The outbox's promises -------------------------------------------------------------


async def test_an_email_queued_in_a_rolled_back_transaction_is_never_sent(
    db: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    with pytest.raises(_Rollback):
        async with in_transaction():
            await queue_email("manage_links", to="lost@example.org", context=CONTEXT)
            raise _Rollback
    await queue(to="kept@example.org")
    stats = await deliver_due(by_email(Transport(smtp_server.url, tmp_path)))
    assert (stats.claimed, stats.sent) == (1, 1)
    assert [r.rcpt_tos for r in smtp_server.received] == [["kept@example.org"]]


async def test_a_queued_email_is_delivered_once_as_built(
    db: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    await queue(
        to="guest@example.org",
        sender_name="Quinn via House Meeting Kit",
        reply_to="quinn@example.org",
        attachments=[
            {
                "filename": "invite.ics",
                "content_type": "text/calendar; method=REQUEST",
                "text": INVITE,
            }
        ],
    )
    transport = Transport(smtp_server.url, tmp_path)
    assert (await deliver_due(by_email(transport, "House Meeting Kit <kit@example.org>"))).sent == 1
    assert (
        await deliver_due(by_email(transport, "House Meeting Kit <kit@example.org>"))
    ).claimed == 0

    [received] = smtp_server.received
    assert received.mail_from == "kit@example.org"
    assert received.rcpt_tos == ["guest@example.org"]
    msg = received.message
    [sender] = msg["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (
        "Quinn via House Meeting Kit",
        "kit@example.org",
    )
    assert msg["Reply-To"] == "quinn@example.org"
    assert msg["Subject"] == "Your fresh manage link"
    assert "Hi Quinn" in msg.get_body(("plain",)).get_content()
    assert "Hi Quinn," in msg.get_body(("html",)).get_content()
    [invite] = msg.iter_attachments()
    assert invite.get_content_type() == "text/calendar"
    assert invite.get_param("method") == "REQUEST"
    assert invite.get_filename() == "invite.ics"
    assert invite.get_content().splitlines() == INVITE.splitlines()

    row = await OutboxMessage.get()
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 1, "")
    assert row.sent_at is not None
    assert row.message_key and msg["Message-ID"].endswith(f".{row.message_key}@example.org>")


async def test_while_the_server_is_down_emails_wait_and_then_go_out_once(
    db: str, unused_tcp_port: int, tmp_path: Path
) -> None:
    await queue(2)
    server = SmtpServer(unused_tcp_port)
    transport = Transport(server.url, tmp_path)
    before = datetime.now(UTC)

    stats = await deliver_due(by_email(transport))
    assert (stats.claimed, stats.retried, stats.released, stats.sent) == (2, 1, 1, 0)
    tried, untried = await OutboxMessage.all().order_by("id")
    assert tried.status == untried.status == DeliveryStatus.PENDING
    assert tried.attempts == 1 and "SMTPConnectError" in tried.last_error
    assert untried.attempts == 0, "an email that was never tried doesn't use up an attempt"
    assert tried.next_attempt_at >= before + delivery.retry_delay(1)
    assert untried.next_attempt_at >= before + delivery.SERVER_DOWN_PAUSE
    assert (await deliver_due(by_email(transport))).claimed == 0, "backing off"

    server.start()
    try:
        await make_due_now()
        assert (await deliver_due(by_email(transport))).sent == 2
        assert (await deliver_due(by_email(transport))).claimed == 0
        assert_each_arrived_once(server, 2)
    finally:
        server.stop()
    assert {r.attempts for r in await OutboxMessage.all()} == {1, 2}


async def test_a_refused_recipient_fails_after_fewer_attempts_than_a_down_server(
    db: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    assert delivery.MAX_PERMANENT_ATTEMPTS < delivery.MAX_ATTEMPTS
    smtp_server.mailbox.refused["nobody@example.org"] = "550 5.1.1 No such user here"
    await queue(to="nobody@example.org")
    await queue(to="somebody@example.org")
    transport = Transport(smtp_server.url, tmp_path)

    for _ in range(delivery.MAX_PERMANENT_ATTEMPTS):
        await deliver_due(by_email(transport))
        await make_due_now()
    assert (await deliver_due(by_email(transport))).claimed == 0

    refused = await OutboxMessage.get(recipient="nobody@example.org")
    assert refused.status == DeliveryStatus.FAILED
    assert refused.attempts == delivery.MAX_PERMANENT_ATTEMPTS
    assert "550 5.1.1 No such user here" in refused.last_error
    assert (await OutboxMessage.get(recipient="somebody@example.org")).status == DeliveryStatus.SENT
    assert [r.rcpt_tos for r in smtp_server.received] == [["somebody@example.org"]]


async def test_transient_refusals_are_retried_up_to_max_attempts(
    db: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    smtp_server.mailbox.refused["busy@example.org"] = "452 4.2.2 Mailbox full, try later"
    await queue(to="busy@example.org")
    transport = Transport(smtp_server.url, tmp_path)
    for attempt in range(1, delivery.MAX_ATTEMPTS + 1):
        stats = await deliver_due(by_email(transport))
        row = await OutboxMessage.get()
        assert row.attempts == attempt
        if attempt < delivery.MAX_ATTEMPTS:
            assert (stats.retried, row.status) == (1, DeliveryStatus.PENDING)
            assert row.next_attempt_at > datetime.now(UTC) + delivery.retry_delay(attempt) / 2
        await make_due_now()
    assert (row.status, stats.failed) == (DeliveryStatus.FAILED, 1)
    assert "452 4.2.2 Mailbox full" in row.last_error


async def test_without_an_smtp_url_emails_land_as_eml_files(db: str, settings: Settings) -> None:
    assert settings.smtp_url is None
    await queue(3)
    transport = transport_for(settings)
    assert (await deliver_due(by_email(transport, settings.mail_from))).sent == 3

    rows = await OutboxMessage.all()
    assert {r.status for r in rows} == {DeliveryStatus.SENT}
    found = {}
    for path in settings.outbox_dir.iterdir():
        assert path.suffix == ".eml", f"left behind: {path.name}"
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found[msg["Message-ID"]] = msg
    for row in rows:
        [msg] = [m for mid, m in found.items() if mid.endswith(f".{row.message_key}@example.org>")]
        assert msg["To"] == row.recipient
        assert "Hi Quinn" in msg.get_body(("plain",)).get_content()


# --- Several workers, and workers that die ---------------------------------------------


async def test_two_workers_in_one_process_deliver_each_email_once(
    db: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    await queue(200)
    smtp_server.mailbox.delay = 0.001
    a, b = await asyncio.gather(
        drain(Transport(smtp_server.url, tmp_path), "a", batch=25),
        drain(Transport(smtp_server.url, tmp_path), "b", batch=25),
    )
    assert_each_arrived_once(smtp_server, 200)
    assert a.sent + b.sent == 200
    assert a.sent and b.sent, "both workers took part"
    assert await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == 200


async def test_a_worker_process_and_this_one_deliver_each_email_once(
    db: str, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    await queue(200)
    smtp_server.mailbox.delay = 0.005
    worker = start_worker(settings, smtp_server, tmp_path / "worker.log", batch=25)
    try:
        await smtp_server.wait_for(1, timeout=30)  # the other process is sending
        here = await drain(Transport(smtp_server.url, tmp_path), "here", batch=25)
        await smtp_server.wait_for(200)
    finally:
        worker.send_signal(signal.SIGTERM)
        returncode = worker.wait(timeout=20)
    log = (tmp_path / "worker.log").read_text()
    assert returncode == 0, log
    assert "worker" in log and "stopped" in log
    assert_each_arrived_once(smtp_server, 200)
    assert 0 < here.sent < 200, "both processes took part"
    assert await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == 200


async def test_claims_abandoned_by_a_dead_worker_go_out_after_the_lease(
    db: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    await queue(30)
    clock = FakeClock()
    abandoned = await claim_due(batch=20, now=clock)  # ... and the worker died
    assert len(abandoned) == 20
    transport = Transport(smtp_server.url, tmp_path)

    first = await deliver_due(by_email(transport), worker_id="next", now=clock)
    assert (first.claimed, first.sent) == (10, 10), "leased rows are not taken"
    clock.advance(delivery.LEASE.total_seconds() - 1)
    early = await deliver_due(by_email(transport), worker_id="next", now=clock)
    assert early.claimed == 0, "not before the lease ends"
    clock.advance(1)
    second = await deliver_due(by_email(transport), worker_id="next", now=clock)
    assert (second.claimed, second.sent) == (20, 20)

    assert_each_arrived_once(smtp_server, 30)
    assert {r.id for r in await OutboxMessage.filter(attempts=2)} == {
        c.message.id for c in abandoned
    }


async def test_a_batch_that_outlasts_its_lease_skips_rows_another_worker_took(
    db: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    await queue(10)
    start = FakeClock()
    slow_clock = FakeClock(start())

    def ticking() -> datetime:  # the slow worker's time: 0.25 s a step, the lease is 1 s
        slow_clock.advance(0.25)
        return slow_clock()

    smtp_server.mailbox.delay = 0.05  # the batch is still sending when the other one looks
    slow = asyncio.create_task(
        deliver_due(
            by_email(Transport(smtp_server.url, tmp_path)),
            worker_id="slow",
            lease=timedelta(seconds=1),
            now=ticking,
        )
    )
    await until(lambda: len(smtp_server.received) >= 2)
    start.advance(1.3)  # past the lease of the claim (at 0.25 s), not of the row in flight
    other = await drain(Transport(smtp_server.url, tmp_path), "other", now=start)
    stats = await slow
    assert stats.lost > 0 and other.sent > 0
    assert stats.sent + other.sent == 10
    assert_each_arrived_once(smtp_server, 10)


async def test_a_worker_killed_mid_batch_loses_nothing(
    db: str, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    await queue(80)
    smtp_server.mailbox.stall_at = 3  # the third message hangs: the worker is mid-batch
    worker = start_worker(settings, smtp_server, tmp_path / "worker.log", batch=50, lease=5)
    try:
        await until(smtp_server.mailbox.stalled.is_set)
    finally:
        worker.kill()
        worker.wait(timeout=10)
    assert len(smtp_server.received) == 2
    smtp_server.mailbox.release.set()

    transport = Transport(smtp_server.url, tmp_path)
    clock = FakeClock()
    stats = await deliver_due(by_email(transport), worker_id="next", now=clock)
    assert (stats.claimed, stats.sent) == (30, 30), "the dead worker's batch is still leased"
    clock.advance(6)  # past the dead worker's 5 s lease
    await drain(transport, "next", now=clock)  # sends the dead worker's batch

    # The message in flight was never accepted, so here nothing arrives twice; had
    # the worker died after the server's 250, that one message would have.
    assert_each_arrived_once(smtp_server, 80)
    assert await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == 80


async def test_a_worker_killed_after_the_server_took_a_message_resends_only_that_one(
    db: str, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """The documented duplicate window: the server has message 3, the worker dies
    before the 250 reaches it. After the lease, that message (and only it) goes out
    again, with the same Message-ID so the receiver can drop the copy."""
    await queue(20)
    smtp_server.mailbox.stall_reply_at = 3
    worker = start_worker(settings, smtp_server, tmp_path / "worker.log", batch=50, lease=2)
    try:
        await until(smtp_server.mailbox.stalled.is_set)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    assert len(smtp_server.received) == 3
    smtp_server.mailbox.release.set()

    clock = FakeClock()
    clock.advance(3)  # past the dead worker's 2 s lease
    await drain(Transport(smtp_server.url, tmp_path), "next", now=clock)

    ids = smtp_server.message_ids()
    assert len(ids) == 20, "every email arrived"
    twice = [message_id for message_id, n in ids.items() if n > 1]
    assert len(twice) == 1 and ids[twice[0]] == 2, ids
    assert twice[0] == str(smtp_server.messages[2]["Message-ID"]), "the one in the window"
    assert await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == 20


async def test_stopping_hands_claimed_emails_back(
    db: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    await queue(5)
    stop = asyncio.Event()
    stop.set()
    stats = await deliver_due(
        by_email(Transport(smtp_server.url, tmp_path), "x@example.org"), stop=stop
    )
    assert (stats.claimed, stats.released, stats.sent) == (5, 5, 0)
    rows = await OutboxMessage.all()
    assert {(r.status, r.attempts) for r in rows} == {(DeliveryStatus.PENDING, 0)}
    assert all(r.next_attempt_at <= datetime.now(UTC) for r in rows)


# --- The loop --------------------------------------------------------------------------


async def test_the_loop_wakes_on_new_mail_and_outlives_database_errors(
    db: str, smtp_server: SmtpServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stop = asyncio.Event()
    loop = asyncio.create_task(
        run_delivery_loop(
            by_email(Transport(smtp_server.url, tmp_path)),
            stop=stop,
            interval=3600,
        )
    )
    try:
        await asyncio.sleep(0.1)  # the loop found nothing and sleeps for an hour
        await queue()  # queue_email() wakes it
        await smtp_server.wait_for(1, timeout=5)

        conn = Tortoise.get_connection("default")
        await conn.execute_script("ALTER TABLE outbox_message RENAME TO outbox_message_away")
        try:
            with caplog.at_level(logging.INFO, logger="kit.outbox.delivery"):
                notify()
                await until(lambda: "delivery still failing" in caplog.text, timeout=10)
        finally:
            await conn.execute_script("ALTER TABLE outbox_message_away RENAME TO outbox_message")
        assert not loop.done()
        with caplog.at_level(logging.INFO, logger="kit.outbox.delivery"):
            await queue()
            await smtp_server.wait_for(2, timeout=10)
            await until(lambda: "works again" in caplog.text, timeout=5)
    finally:
        stop.set()
        await asyncio.wait_for(loop, 5)
    assert_each_arrived_once(smtp_server, 2)
    # An outage is one traceback in the log, then a line per try, then the recovery.
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1 and "delivery failed" in tracebacks[0].getMessage()
