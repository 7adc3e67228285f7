"""Use cases for "report this meeting": anyone flags a meeting once, coordinators see the
open flags with their counts and resolve them, and a campaign may hide a meeting on its
own after enough distinct people flagged it.

A reporter is a key: the SHA-256 of the site secret and either the browser's anonymous id
(the one the idea board keeps in the signed session cookie) or, without one, the client's
address. ``MeetingFlag`` is unique per (meeting, key), so a double click or a replayed
form counts once. What this does not stop, honestly: one person with several browsers,
cleared cookies or several connections counts as several people. Flags are rate-limited
per client address (``FLAG_LIMIT``), and the automatic hide only takes a meeting off the
site until a coordinator looks: it never deletes anything, and one click shows it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from kit.coordinators.moderation import switch_meeting_status
from kit.core import validation as v
from kit.core.errors import ValidationError
from kit.core.settings import Limit, Settings
from kit.store.models import FlagReason, Meeting, MeetingFlag, MeetingStatus
from kit.store.ratelimit import hit

FLAG_LIMIT = Limit(10, 3600)  # reports one client may send an hour
NOTE_MAX = 1000
QUEUE_SIZE = 200
REASON_LABELS = {
    FlagReason.SPAM: "Spam or advertising",
    FlagReason.UNSAFE: "Harassment, hate or danger",
    FlagReason.WRONG: "Not a real meeting, or wrong details",
    FlagReason.OTHER: "Something else",
}
LIMIT_MESSAGE = "That's a lot of reports in a short time. Please try again later."


@dataclass(frozen=True)
class FlagInput:
    reason: FlagReason
    note: str
    email: str | None


@dataclass(frozen=True)
class FlaggedMeeting:
    """A meeting with open flags, as the moderation page lists it."""

    meeting: Meeting
    flags: list[MeetingFlag]

    @property
    def count(self) -> int:
        return len(self.flags)

    @property
    def newest(self) -> datetime:
        return max(f.created_at for f in self.flags)


def parse_flag_input(raw: Mapping[str, Any]) -> FlagInput:
    """The form's or the JSON body's reason, note and optional email; ValidationError
    with every problem at once otherwise."""
    problems: v.Problems = {}
    reason = v.choice(
        raw,
        "reason",
        problems,
        label="A reason",
        options=tuple(r.value for r in FlagReason),
        default="",
    )
    if not raw.get("reason"):
        problems["reason"] = "Please choose a reason."
    note = v.text(raw, "note", problems, label="A note", max_length=NOTE_MAX, multiline=True)
    email = v.email(raw, "email", problems, required=False)
    if problems:
        raise ValidationError(problems)
    return FlagInput(reason=FlagReason(reason), note=note, email=email or None)


def reporter_key(secret_key: str, *, browser_id: str | None, client: str) -> str:
    """Who flagged: this browser's anonymous id when it has one, else its address."""
    kind, value = ("browser", browser_id) if browser_id else ("client", client)
    return hashlib.sha256(f"{secret_key}:flag:{kind}:{value}".encode()).hexdigest()


async def limit_flags(client: str, now: datetime | None = None) -> None:
    await hit(f"flag:ip:{client}", FLAG_LIMIT, message=LIMIT_MESSAGE, now=now)


async def flag_meeting(meeting: Meeting, data: FlagInput, key: str, *, site: Settings) -> bool:
    """Record one person's report; False (and nothing changes) when they already reported
    this meeting. May hide the meeting (see ``_hide_if_flagged``) in the same transaction."""
    try:
        async with in_transaction():
            await MeetingFlag.create(
                meeting_id=meeting.id,
                reason=data.reason,
                note=data.note,
                email=data.email,
                reporter_key=key,
            )
            await _hide_if_flagged(meeting, site=site)
    except IntegrityError:
        return False
    return True


def auto_hide_reason(count: int) -> str:
    return f"Hidden automatically after {count} reports, until a coordinator looks."


async def _hide_if_flagged(meeting: Meeting, *, site: Settings) -> None:
    """Hide an upcoming published meeting once as many distinct people as its campaign's
    ``auto_hide_flags`` have open flags on it, and tell the host. Conditional on the
    status: two last reports at once hide it, and email the host, once."""
    threshold = meeting.campaign.auto_hide_flags if meeting.campaign else None
    now = datetime.now(UTC)
    if not threshold or meeting.status is not MeetingStatus.PUBLISHED or meeting.ends_at < now:
        return
    count = await MeetingFlag.filter(meeting_id=meeting.id, resolved_at=None).count()
    if count < threshold:
        return
    # The same switch a coordinator's "hide" makes, with the same email to the host.
    await switch_meeting_status(
        meeting, MeetingStatus.HIDDEN, auto_hide_reason(count), "meeting_hidden", site=site
    )


async def list_flagged_meetings(
    campaign_ids: set[int] | None, limit: int = QUEUE_SIZE
) -> list[FlaggedMeeting]:
    """Meetings with open flags, the most recently flagged first; ``campaign_ids`` None
    means every meeting (an admin), including those outside any campaign."""
    flags = MeetingFlag.filter(resolved_at=None).exclude(meeting__status=MeetingStatus.DRAFT)
    if campaign_ids is not None:
        flags = flags.filter(meeting__campaign_id__in=list(campaign_ids))
    by_meeting: dict[int, list[MeetingFlag]] = {}
    for flag in await flags.order_by("-created_at", "-id").select_related("meeting"):
        by_meeting.setdefault(flag.meeting_id, []).append(flag)  # type: ignore[attr-defined]
    found = [FlaggedMeeting(flags[0].meeting, flags) for flags in by_meeting.values()]
    return found[:limit]


async def resolve_flags(meeting: Meeting, now: datetime | None = None) -> int:
    """Mark the meeting's open flags as looked at; how many there were."""
    return await MeetingFlag.filter(meeting_id=meeting.id, resolved_at=None).update(
        resolved_at=now or datetime.now(UTC)
    )


def flag_as_json(counted: bool) -> dict[str, Any]:
    return {"counted": counted, "message": THANKS}


THANKS = (
    "Thank you. The campaign's coordinators will look at this meeting; if you left an "
    "email address they may write to you. Each person's report counts once."
)
