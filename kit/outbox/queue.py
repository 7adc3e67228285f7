"""What an operator sees of the outbox, and how failed emails are sent again.

Delivery gives an email up after its last retry (about an hour of a server that is
down, or a refusal of that very message): it stays in the outbox as ``failed`` with
the server's last answer. ``kit outbox`` lists those, and ``kit outbox retry``
hands them back to the workers once the cause is mended.

Sending a day-old email is not always kind: a reminder of a meeting that has
already started, or a sign-in link that has expired, would only confuse. Whoever
queues such an email gives its row an ``expires_at``; retrying "everything that
failed" leaves out those past it and says so. An email named by its id is always
sent again, because the operator chose it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.functions import Count, Min

from kit.core.errors import KitError
from kit.store.models import EmailStatus, OutboxEmail


class OutboxError(KitError):
    """A retry the outbox can't do as asked."""


@dataclass(frozen=True)
class OutboxSummary:
    pending: int
    sent: int
    failed: int
    oldest_pending: datetime | None  # when the longest-waiting pending email was queued


@dataclass(frozen=True)
class FailedEmail:
    id: int
    kind: str
    to_addr: str
    subject: str
    attempts: int
    created_at: datetime
    last_error: str
    stale: str  # why sending it now would not help, or ""

    def describe(self, now: datetime | None = None) -> str:
        """One line for the operator: what, to whom, when, and the server's last answer."""
        error = (self.last_error.splitlines() or [""])[0][:100]
        note = f"  (stale: {self.stale})" if self.stale else ""
        return (
            f"#{self.id}  {age(self.created_at, now)}  {self.kind} to {self.to_addr}, "
            f"{self.attempts} attempts: {error}{note}"
        )


@dataclass(frozen=True)
class Requeued:
    ids: list[int]
    skipped: list[FailedEmail]  # stale, left failed


async def summary() -> OutboxSummary:
    """Counts by status, counted in the database."""
    rows = await (
        OutboxEmail.all()
        .group_by("status")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .values("status", "n", "oldest")
    )
    by_status = {EmailStatus(row["status"]): row for row in rows}

    def count(status: EmailStatus) -> int:
        return int(by_status.get(status, {}).get("n") or 0)

    oldest = by_status.get(EmailStatus.PENDING, {}).get("oldest")
    if isinstance(oldest, str):  # SQLite hands aggregates back as text
        oldest = datetime.fromisoformat(oldest)
    return OutboxSummary(
        count(EmailStatus.PENDING), count(EmailStatus.SENT), count(EmailStatus.FAILED), oldest
    )


async def failed_emails(
    ids: Sequence[int] = (), *, now: datetime | None = None, limit: int | None = None
) -> list[FailedEmail]:
    """Failed emails, oldest first (only ``ids`` when given), each saying if it is stale."""
    now = now or datetime.now(UTC)
    query = OutboxEmail.filter(status=EmailStatus.FAILED).order_by("id")
    if ids:
        query = query.filter(id__in=list(ids))
    if limit is not None:
        query = query.limit(limit)
    return [
        FailedEmail(
            row.id,
            row.kind,
            row.to_addr,
            row.subject,
            row.attempts,
            row.created_at,
            row.last_error,
            _why_stale(row, now),
        )
        for row in await query
    ]


def _why_stale(email: OutboxEmail, now: datetime) -> str:
    if email.expires_at is not None and email.expires_at <= now:
        return f"it expired {age(email.expires_at, now)}"
    return ""


async def retry(
    ids: Sequence[int] = (), *, every: bool = False, now: datetime | None = None
) -> Requeued:
    """Put failed emails back in the queue, due now, with a fresh set of attempts.

    Either ``ids`` (sent again as named) or ``every`` (stale ones left out).
    """
    if bool(ids) == every:
        raise OutboxError("Name the emails to send again (ids from `kit outbox`), or pass --all.")
    now = now or datetime.now(UTC)
    candidates = await failed_emails(ids, now=now)
    if ids:
        missing = sorted(set(ids) - {email.id for email in candidates})
        if missing:
            raise OutboxError(
                f"No failed email with id {', '.join(map(str, missing))}: "
                "`kit outbox` lists the failed ones."
            )
        chosen, skipped = candidates, []
    else:
        chosen = [email for email in candidates if not email.stale]
        skipped = [email for email in candidates if email.stale]
    requeued = [email.id for email in chosen]
    if requeued:
        # Running workers poll the outbox every few seconds and pick these up.
        # Only rows still failed: a concurrent retry can't send an email twice.
        await OutboxEmail.filter(id__in=requeued, status=EmailStatus.FAILED).update(
            status=EmailStatus.PENDING, attempts=0, next_attempt_at=now
        )
    return Requeued(requeued, skipped)


def age(moment: datetime, now: datetime | None = None) -> str:
    """'3 h ago', for the operator's table."""
    seconds = max(((now or datetime.now(UTC)) - moment) / timedelta(seconds=1), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"
