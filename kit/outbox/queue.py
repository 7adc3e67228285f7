"""What an operator sees of the outbox, and how failed messages are sent again.

Delivery gives a message up after its last retry (about an hour of a server that is
down, or a refusal of that very message): it stays in the outbox as ``failed`` with
the far end's last answer. Counts are kept per channel (email, and the channels to
come). ``kit outbox`` lists those, and ``kit outbox retry``
hands them back to the workers once the cause is mended.

Sending a day-old email is not always kind: a reminder of a meeting that has
already started, or a sign-in link that has expired, would only confuse. Whoever
queues such a message gives its row an ``expires_at``; retrying "everything that
failed" leaves out those past it and says so. A message named by its id is always
sent again, because the operator chose it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from tortoise.functions import Count, Min

from kit.core.errors import KitError
from kit.store.models import Channel, DeliveryStatus, OutboxMessage


class OutboxError(KitError):
    """A retry the outbox can't do as asked."""


@dataclass(frozen=True)
class Counts:
    pending: int = 0
    sent: int = 0
    failed: int = 0


@dataclass(frozen=True)
class OutboxSummary:
    pending: int
    sent: int
    failed: int
    oldest_pending: datetime | None  # when the longest-waiting pending message was queued
    channels: dict[Channel, Counts]  # the same counts, per channel that has rows


@dataclass(frozen=True)
class FailedMessage:
    id: int
    channel: Channel
    kind: str
    recipient: str
    attempts: int
    created_at: datetime
    last_error: str
    stale: str  # why sending it now would not help, or ""

    def describe(self, now: datetime | None = None) -> str:
        """One line for the operator: what, to whom, when, and the server's last answer."""
        error = (self.last_error.splitlines() or [""])[0][:100]
        note = f"  (stale: {self.stale})" if self.stale else ""
        return (
            f"#{self.id}  {age(self.created_at, now)}  {self.channel} {self.kind} to "
            f"{self.recipient}, "
            f"{self.attempts} attempts: {error}{note}"
        )


@dataclass(frozen=True)
class Requeued:
    ids: list[int]
    skipped: list[FailedMessage]  # stale, left failed


async def summary() -> OutboxSummary:
    """Counts by channel and status, counted in the database."""
    rows = await (
        OutboxMessage.all()
        .group_by("channel", "status")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .values("channel", "status", "n", "oldest")
    )
    tally: dict[Channel, dict[DeliveryStatus, int]] = {}
    oldest: datetime | None = None
    for row in rows:
        status = DeliveryStatus(row["status"])
        tally.setdefault(Channel(row["channel"]), {})[status] = int(row["n"] or 0)
        first = row["oldest"]
        if isinstance(first, str):  # SQLite hands aggregates back as text
            first = datetime.fromisoformat(first)
        if status is DeliveryStatus.PENDING and first and (oldest is None or first < oldest):
            oldest = first
    channels = {
        channel: Counts(
            counts.get(DeliveryStatus.PENDING, 0),
            counts.get(DeliveryStatus.SENT, 0),
            counts.get(DeliveryStatus.FAILED, 0),
        )
        for channel, counts in sorted(tally.items())
    }
    values = channels.values()
    return OutboxSummary(
        sum(c.pending for c in values),
        sum(c.sent for c in values),
        sum(c.failed for c in values),
        oldest,
        channels,
    )


# What one message of a channel is called, for operators ("3 emails, 1 text").
_NOUNS = {Channel.EMAIL: ("email", "emails")}


def in_words(counts: OutboxSummary, status: Literal["pending", "sent", "failed"]) -> str:
    """The messages of one status, per channel: "1 email", "3 emails, 1 webhook delivery"."""
    parts = []
    for channel, each in counts.channels.items():
        n = getattr(each, status)
        if n:
            one, many = _NOUNS.get(channel, (f"{channel} message", f"{channel} messages"))
            parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts) or "no messages"


async def failed_messages(
    ids: Sequence[int] = (), *, now: datetime | None = None, limit: int | None = None
) -> list[FailedMessage]:
    """Failed messages, oldest first (only ``ids`` when given), each saying if it is stale."""
    now = now or datetime.now(UTC)
    query = OutboxMessage.filter(status=DeliveryStatus.FAILED).order_by("id")
    if ids:
        query = query.filter(id__in=list(ids))
    if limit is not None:
        query = query.limit(limit)
    return [
        FailedMessage(
            row.id,
            row.channel,
            row.kind,
            row.recipient,
            row.attempts,
            row.created_at,
            row.last_error,
            _why_stale(row, now),
        )
        for row in await query
    ]


def _why_stale(message: OutboxMessage, now: datetime) -> str:
    if message.expires_at is not None and message.expires_at <= now:
        return f"it expired {age(message.expires_at, now)}"
    return ""


async def retry(
    ids: Sequence[int] = (), *, every: bool = False, now: datetime | None = None
) -> Requeued:
    """Put failed messages back in the queue, due now, with a fresh set of attempts.

    Either ``ids`` (sent again as named) or ``every`` (stale ones left out).
    """
    if bool(ids) == every:
        raise OutboxError("Name the messages to send again (ids from `kit outbox`), or pass --all.")
    now = now or datetime.now(UTC)
    candidates = await failed_messages(ids, now=now)
    if ids:
        missing = sorted(set(ids) - {message.id for message in candidates})
        if missing:
            raise OutboxError(
                f"No failed message with id {', '.join(map(str, missing))}: "
                "`kit outbox` lists the failed ones."
            )
        chosen, skipped = candidates, []
    else:
        chosen = [message for message in candidates if not message.stale]
        skipped = [message for message in candidates if message.stale]
    requeued = [message.id for message in chosen]
    if requeued:
        # Running workers poll the outbox every few seconds and pick these up.
        # Only rows still failed: a concurrent retry can't send a message twice.
        await OutboxMessage.filter(id__in=requeued, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now
        )
    return Requeued(requeued, skipped)


def age(moment: datetime, now: datetime | None = None) -> str:
    """'3 h ago', for the operator's table."""
    seconds = max(((now or datetime.now(UTC)) - moment) / timedelta(seconds=1), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"
