"""The SMTP server is down for a while: mail waits in the outbox, then goes out once.

A real ``kit worker``-style process (``run_worker``, with a short backoff so the test
takes seconds, not minutes) delivers to a real aiosmtpd server that is down when the
mail is queued and comes back later on the same port.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from kit.core.settings import Settings
from kit.outbox.email import queue_email
from kit.store.models import DeliveryStatus, OutboxMessage
from tests.servers import free_port, settings_env, spawn
from tests.smtp import SmtpServer

pytestmark = pytest.mark.server

EMAILS = 20
DOWN_FOR = 3.0  # seconds the server stays down after the mail is queued
WORKER = """
import asyncio, logging, sys
from datetime import timedelta
from kit.core.settings import Settings
from kit.outbox.delivery import Backoff, run_worker
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
pause = timedelta(seconds=float(sys.argv[1]))
backoff = Backoff(first_retry=pause, server_down_pause=pause)
sys.exit(asyncio.run(run_worker(Settings.from_env(), interval=0.1, backoff=backoff)))
"""


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """A server on a free port, not started yet; stopped at the end if it was."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


def start_worker(
    settings: Settings, smtp_url: str, log: Path, pause: float
) -> subprocess.Popen[bytes]:
    return spawn(["-c", WORKER, str(pause)], settings_env(settings, KIT_SMTP_URL=smtp_url), log)


async def queue(count: int) -> None:
    context = {"host": {"first_name": "Quinn"}, "links": []}
    async with in_transaction():
        for i in range(count):
            await queue_email("manage_links", to=f"guest{i}@example.org", context=context)


async def test_mail_waits_while_smtp_is_down_and_goes_out_once_when_it_is_back(
    db: str, settings: Settings, smtp_down: SmtpServer, tmp_path: Path
) -> None:
    worker = start_worker(settings, smtp_down.url, tmp_path / "worker.log", pause=0.5)
    try:
        await queue(EMAILS)
        queued = time.monotonic()
        # The worker's first try may take a while on a busy machine (a fresh interpreter).
        deadline = queued + 60
        while not await OutboxMessage.filter(attempts__gt=0).exists():
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker never tried to deliver"
            await asyncio.sleep(0.1)
        await asyncio.sleep(DOWN_FOR)

        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        rows = await OutboxMessage.all()
        down_for = time.monotonic() - queued
        assert {r.status for r in rows} == {DeliveryStatus.PENDING}, (
            "nothing sent, nothing given up"
        )
        tried = [r for r in rows if r.attempts]
        assert tried and all("SMTPConnectError" in r.last_error for r in tried)
        # One connection attempt per pause, charged to one email: the rest keep their tries.
        assert sum(r.attempts for r in rows) <= down_for / 0.5 + 2

        smtp_down.start()
        await smtp_down.wait_for(EMAILS, timeout=30)
        await asyncio.sleep(1.5)  # anything sent twice would arrive by now
    finally:
        worker.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(worker.wait, 20)

    assert returncode == 0, (tmp_path / "worker.log").read_text()
    ids = smtp_down.message_ids()
    assert len(ids) == EMAILS and max(ids.values()) == 1, ids
    assert await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == EMAILS
    recipients = sorted(to for r in smtp_down.received for to in r.rcpt_tos)
    assert recipients == sorted(f"guest{i}@example.org" for i in range(EMAILS))
