"""Delivering the outbox: claim due rows, send them, mark them; retry with backoff.

One loop for every channel: a batch is claimed across the channels this worker has
senders for (``kit.outbox.channels``), grouped by channel, and each group goes out
over one session of its sender (one SMTP connection for a batch of emails).

How a message is never sent twice
---------------------------------
A worker *claims* rows before it sends them: it sets ``attempts = attempts + 1``
and ``next_attempt_at = now + lease`` on rows that are pending and due. On
PostgreSQL the batch is picked with ``SELECT ... FOR UPDATE SKIP LOCKED`` and
claimed in the same short transaction, so concurrent workers get disjoint
batches; on SQLite each row is claimed by a conditional UPDATE that only
succeeds if the row is still pending, due, and at the attempt count just read.
A claimed row is not due again until its lease ends, so no other worker takes
it meanwhile.

The attempt count a claim wrote is its token. Before each send the worker
extends its lease with ``... WHERE attempts = token``, and it records the outcome
the same way. Any other worker's claim changes ``attempts``, so a worker whose
lease ran out (a batch slower than the lease) finds out before sending and skips
the row. No database transaction is open while a sender talks.

A worker that dies after claiming leaves its rows pending: they come due when
the lease ends and another worker sends them. Nothing is lost.

The window that remains: a worker that dies (or loses its database) after the
server accepted a message but before the row is marked sent. That message goes
out again after the lease, with the same key (the Message-ID of an email), which
lets receivers drop the copy; at most one message per dead worker is in that
window. Leases also assume the workers' clocks agree to well within the lease
(5 minutes, against a 30-second SMTP timeout; senders must time out well within it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from tortoise import Tortoise
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from kit.core.outages import FailureLog
from kit.core.settings import Settings
from kit.outbox.channels import ChannelSession, Failure, Sender
from kit.outbox.email import EmailSender
from kit.outbox.wake import listen
from kit.store.db import tortoise_config
from kit.store.models import Channel, DeliveryStatus, OutboxMessage
from kit.store.sql import SqlParams
from kit.toolkit.mail import Transport

log = logging.getLogger("kit.outbox.delivery")

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8  # transient failures (server down, 4xx): about an hour of retries
MAX_PERMANENT_ATTEMPTS = 2  # a 5xx refusal of this very message: one more try, then failed
# While the server is unreachable, the rest of a batch waits this long untried: one
# connection attempt per pause, and only the email that made it uses up an attempt.
SERVER_DOWN_PAUSE = timedelta(seconds=30)
NOTIFY_DEBOUNCE = 0.2  # seconds between notify() and looking, so the queuing commit lands
MAX_ERROR_PAUSE = 60.0  # seconds, after repeated database errors


FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class Backoff:
    """How long a message waits after a failed try, and the rest of a batch while the
    far end is unreachable. The defaults serve production; tests pass shorter ones."""

    first_retry: timedelta = FIRST_RETRY
    server_down_pause: timedelta = SERVER_DOWN_PAUSE

    def retry_delay(self, attempts: int) -> timedelta:
        """Exponential: first_retry, twice that, ... capped at MAX_RETRY."""
        return min(self.first_retry * 2 ** max(attempts - 1, 0), MAX_RETRY)


DEFAULT_BACKOFF = Backoff()

# A loop to run beside delivery until ``stop`` is set (the schedule of reminders and
# digests): the caller chooses it, so delivering the outbox starts no domain jobs.
Alongside = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def retry_delay(attempts: int) -> timedelta:
    """The default backoff: 30 s, 1 min, 2 min, ... capped at 1 hour."""
    return DEFAULT_BACKOFF.retry_delay(attempts)


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0  # failed this time; due again after the backoff
    failed: int = 0  # gave up: status "failed", last_error says why
    released: int = 0  # claimed but not tried (server down, or stopping): handed back
    lost: int = 0  # the lease ran out and another worker claimed the row first

    def __str__(self) -> str:
        return (
            f"sent {self.sent}, retried {self.retried}, failed {self.failed}, "
            f"released {self.released}, lost {self.lost} (claimed {self.claimed})"
        )


@dataclass(frozen=True)
class Claim:
    message: OutboxMessage
    token: int  # the ``attempts`` value this claim wrote


def transport_for(settings: Settings) -> Transport:
    """KIT_SMTP_URL's server, or .eml files in the outbox folder when it is unset."""
    return Transport(settings.smtp_url, settings.outbox_dir)


def senders_for(settings: Settings) -> list[Sender]:
    """The channels this deployment delivers, each with its configured sender."""
    return [EmailSender(transport_for(settings), settings.mail_from, settings)]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock; tests pass a ``tests.clock.FakeClock`` as ``now`` instead."""
    return datetime.now(UTC)


# --- Claims ----------------------------------------------------------------------------


async def claim_due(
    *,
    channels: Sequence[Channel] = tuple(Channel),
    batch: int = 50,
    lease: timedelta = LEASE,
    now: Clock = utc_now,
) -> list[Claim]:
    """Claim up to ``batch`` due messages of ``channels`` for ``lease``; no other worker
    takes them meanwhile.

    ``now`` is the clock every due, lease and backoff decision reads (here and below).
    """
    moment = now()
    due = (
        OutboxMessage.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=moment, channel__in=channels
        )
        .order_by("next_attempt_at", "id")
        .limit(batch)
    )
    if Tortoise.get_connection("default").capabilities.support_for_update:
        async with in_transaction():
            rows = await due.select_for_update(skip_locked=True)
            if rows:
                await OutboxMessage.filter(id__in=[row.id for row in rows]).update(
                    attempts=F("attempts") + 1, next_attempt_at=moment + lease
                )
        return [Claim(row, row.attempts + 1) for row in rows]
    claims = []
    for row in await due:
        claimed = await OutboxMessage.filter(
            id=row.id,
            status=DeliveryStatus.PENDING,
            attempts=row.attempts,
            next_attempt_at__lte=moment,
        ).update(attempts=row.attempts + 1, next_attempt_at=moment + lease)
        if claimed:
            claims.append(Claim(row, row.attempts + 1))
    return claims


async def _update_claimed(claim: Claim, **values: Any) -> bool:
    """Change a row only while this claim still owns it.

    Raw SQL (twice per message sent: the lease, then the outcome); what
    ``OutboxMessage.filter(id=..., status=PENDING, attempts=token).update(**values)``
    wrote, without building that query every time."""
    conn = Tortoise.get_connection("default")
    p = SqlParams(conn.capabilities.dialect)
    assignments = ", ".join(f"{column} = {_param(p, value)}" for column, value in values.items())
    changed, _ = await conn.execute_query(
        f"UPDATE outbox_message SET {assignments} WHERE id = {p.add(claim.message.id)} "
        f"AND status = {p.add(DeliveryStatus.PENDING.value)} AND attempts = {p.add(claim.token)}",
        p.values,
    )
    return bool(changed)


def _param(p: SqlParams, value: Any) -> str:
    if isinstance(value, datetime):
        return p.time(value)
    return p.add(value.value if isinstance(value, Enum) else value)


async def release(claims: list[Claim], *, at: datetime | None = None, now: Clock = utc_now) -> int:
    """Hand claimed rows back untried: the attempt doesn't count, due again ``at``."""
    released = 0
    for claim in claims:
        released += await _update_claimed(
            claim, attempts=claim.token - 1, next_attempt_at=at or now()
        )
    return released


# --- One batch -------------------------------------------------------------------------


async def deliver_due(
    senders: Sequence[Sender],
    *,
    worker_id: str | None = None,
    batch: int = 50,
    lease: timedelta = LEASE,
    stop: asyncio.Event | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    now: Clock = utc_now,
) -> DeliveryStats:
    """Claim one batch of due messages and send each channel's share over one session.

    A channel stops early, handing its untried rows back, when its far end is
    unreachable (due again after ``backoff.server_down_pause``); every channel does when
    ``stop`` is set (due at once).
    """
    worker = worker_id or default_worker_id()
    by_channel = {sender.channel: sender for sender in senders}
    claims = await claim_due(channels=list(by_channel), batch=batch, lease=lease, now=now)
    stats = DeliveryStats(claimed=len(claims))
    groups: dict[Channel, list[Claim]] = {}
    for claim in claims:
        groups.setdefault(claim.message.channel, []).append(claim)
    for channel, group in groups.items():
        if stop is not None and stop.is_set():
            stats.released += await release(group, now=now)
            continue
        async with by_channel[channel].session() as session:
            for index, claim in enumerate(group):
                if stop is not None and stop.is_set():
                    stats.released += await release(group[index:], now=now)
                    break
                failure = await _deliver_one(session, claim, lease, stats, worker, backoff, now)
                if failure is not None and failure.stop_batch:
                    later = now() + backoff.server_down_pause
                    stats.released += await release(group[index + 1 :], at=later, now=now)
                    break
    if claims:
        log.info("worker %s: %s", worker, stats)
    return stats


async def _deliver_one(
    session: ChannelSession,
    claim: Claim,
    lease: timedelta,
    stats: DeliveryStats,
    worker: str,
    backoff: Backoff,
    now: Clock,
) -> Failure | None:
    message = claim.message
    if not await _update_claimed(claim, next_attempt_at=now() + lease):
        stats.lost += 1
        log.warning(
            "worker %s: message %s was claimed by another worker; skipped", worker, message.id
        )
        return None
    try:
        failure = await session.send(message)
    except Exception as exc:  # a sender's bug or an unforeseen error: try again later
        log.exception("worker %s: sending message %s failed", worker, message.id)
        failure = Failure(repr(exc), permanent=False, stop_batch=False)
    if failure is None:
        await _mark_sent(claim, stats, worker, now)
        return None
    await _mark_failed(claim, failure, stats, worker, backoff, now)
    return failure


async def _mark_sent(claim: Claim, stats: DeliveryStats, worker: str, now: Clock) -> None:
    stats.sent += 1
    values = {"status": DeliveryStatus.SENT, "sent_at": now(), "last_error": ""}
    message = claim.message
    if await _update_claimed(claim, **values):
        log.debug(
            "worker %s: sent %s %s to %s", worker, message.channel, message.id, message.recipient
        )
        return
    # The send outlasted the lease and another worker claimed the row: it was
    # delivered all the same, so say so (the other worker may have sent it too).
    await OutboxMessage.filter(id=message.id, status=DeliveryStatus.PENDING).update(**values)
    log.warning(
        "worker %s: message %s was sent after its lease ran out; it may arrive twice",
        worker,
        message.id,
    )


async def _mark_failed(
    claim: Claim,
    failure: Failure,
    stats: DeliveryStats,
    worker: str,
    backoff: Backoff,
    now: Clock,
) -> None:
    limit = MAX_PERMANENT_ATTEMPTS if failure.permanent else MAX_ATTEMPTS
    give_up = claim.token >= limit
    recorded = await _update_claimed(
        claim,
        status=DeliveryStatus.FAILED if give_up else DeliveryStatus.PENDING,
        last_error=failure.error[:2000],
        next_attempt_at=now() + backoff.retry_delay(claim.token),
    )
    if not recorded:
        stats.lost += 1
        return
    if give_up:
        stats.failed += 1
    else:
        stats.retried += 1
    log.warning(
        "worker %s: %s %s to %s failed (attempt %s%s): %s",
        worker,
        claim.message.channel,
        claim.message.id,
        claim.message.recipient,
        claim.token,
        ", giving up" if give_up else "",
        failure.error,
    )


# --- Loops -----------------------------------------------------------------------------


async def run_delivery_loop(
    senders: Sequence[Sender],
    *,
    stop: asyncio.Event,
    interval: float = 2.0,
    batch: int = 50,
    lease: timedelta = LEASE,
    worker_id: str | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    now: Clock = utc_now,
) -> None:
    """Deliver until ``stop`` is set: a batch whenever one is due, polling every
    ``interval`` seconds or sooner after ``wake.notify()``. Database and sender errors
    are logged and waited out; they never end the loop."""
    worker = worker_id or default_worker_id()
    wake = asyncio.Event()
    pause = 0.0
    failures = FailureLog(log, f"worker {worker}: delivery")
    with listen(wake):
        while not stop.is_set():
            wake.clear()
            try:
                stats = await deliver_due(
                    senders,
                    worker_id=worker,
                    batch=batch,
                    lease=lease,
                    stop=stop,
                    backoff=backoff,
                    now=now,
                )
            except Exception as exc:
                pause = min(max(pause * 2, 1.0), MAX_ERROR_PAUSE)
                failures.failed(exc, pause)
                await _wait(stop, None, pause)
                continue
            failures.succeeded()
            pause = 0.0
            if stats.claimed < batch or stats.released:
                await _wait(stop, wake, interval)


async def _wait(stop: asyncio.Event, wake: asyncio.Event | None, timeout: float) -> None:
    waiters = [asyncio.create_task(event.wait()) for event in (stop, wake) if event is not None]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    if wake is not None and wake.is_set() and not stop.is_set():
        await asyncio.sleep(NOTIFY_DEBOUNCE)


@contextlib.asynccontextmanager
async def background_delivery(
    settings: Settings,
    *,
    interval: float = 2.0,
    grace: float = 10.0,
    alongside: Sequence[Alongside] = (),
) -> AsyncIterator[None]:
    """Run the delivery loop, and the ``alongside`` loops, in this process while the
    block runs (``kit serve``).

    On exit the loop finishes the message in flight and hands back the rest; after
    ``grace`` seconds it is cancelled, and its claimed rows go out when the lease ends.
    """
    stop = asyncio.Event()
    senders = senders_for(settings)
    tasks = [
        asyncio.create_task(
            run_delivery_loop(senders, stop=stop, interval=interval), name="kit-delivery"
        ),
        *(asyncio.create_task(loop(stop)) for loop in alongside),
    ]
    log.info("delivering in-process to %s", _describe(senders))
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), grace)
        except TimeoutError:
            log.warning("delivery did not stop within %s s; cancelled", grace)


async def run_worker(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    interval: float = 2.0,
    batch: int = 50,
    lease: timedelta = LEASE,
    backoff: Backoff = DEFAULT_BACKOFF,
    alongside: Sequence[Alongside] = (),
    now: Clock = utc_now,
) -> int:
    """``kit worker``: connect to the database and deliver, with the ``alongside``
    loops, until stopped.

    Without ``stop``, SIGINT and SIGTERM stop it gracefully. Any number of workers
    (and ``kit serve`` processes) can run against one database.
    """
    loop = asyncio.get_running_loop()
    signals: tuple[signal.Signals, ...] = ()
    if stop is None:
        stop = asyncio.Event()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
    senders = senders_for(settings)
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        # Fail fast on an unreachable database or a missing schema.
        pending = await OutboxMessage.filter(status=DeliveryStatus.PENDING).count()
        log.info(
            "worker %s delivering to %s; %s message(s) pending",
            default_worker_id(),
            _describe(senders),
            pending,
        )
        await asyncio.gather(
            run_delivery_loop(
                senders,
                stop=stop,
                interval=interval,
                batch=batch,
                lease=lease,
                backoff=backoff,
                now=now,
            ),
            *(loop(stop) for loop in alongside),
        )
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await Tortoise.close_connections()
    log.info("worker %s stopped", default_worker_id())
    return 0


def _describe(senders: Sequence[Sender]) -> str:
    return ", ".join(f"{sender.channel}: {sender.describe()}" for sender in senders)
