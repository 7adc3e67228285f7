"""What moderators do to meetings: approve and publish, hide, decline or show again,
write to the host; vouching for hosts; an idea's status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from kit.coordinators.access import Can, require_idea, require_meeting
from kit.core import urls
from kit.core import validation as v
from kit.core.errors import Conflict, MeetingNotFound, NotFound, ValidationError
from kit.core.settings import Limit, Settings
from kit.meetings.service import approve_meeting
from kit.outbox.email import queue_email
from kit.reports.ideas import set_idea_status
from kit.store import audit
from kit.store.models import Campaign, Coordinator, Idea, Meeting, MeetingStatus, Person
from kit.store.ratelimit import hit

APP_NAME = "House Meeting Kit"
MESSAGES_PER_COORDINATOR = Limit(30, 86400)
MESSAGES_PER_MEETING = Limit(5, 86400)

# --- Meetings: approve, hide or show again, write to the host ----------------------------


async def list_pending_meetings(campaign: Campaign, limit: int = 200) -> list[Meeting]:
    return (
        await Meeting.filter(campaign_id=campaign.id, status=MeetingStatus.PENDING)
        .order_by("starts_at", "id")
        .limit(limit)
        .select_related("host")
    )


def _coordinator_context(meeting: Meeting, site: Settings) -> dict[str, Any]:
    return {
        "meeting": meeting,
        "host": meeting.host,
        "campaign": meeting.campaign,
        "site": site.public,
        "meeting_url": urls.meeting(site.base_url, meeting.public_id),
    }


async def approve(coordinator: Coordinator, public_id: str, *, site: Settings) -> Meeting:
    """A coordinator publishes a meeting waiting for approval (the approval queue)."""
    meeting = await require_meeting(coordinator, public_id, need=Can.MODERATE)
    if meeting.status is not MeetingStatus.PENDING:
        raise Conflict(f"This meeting is {meeting.status.value}, not waiting for approval.")
    return await publish_approved(meeting, site=site, actor=coordinator)


async def approve_from_cli(public_id: str, *, site: Settings) -> Meeting:
    """``kit approve MEETING_ID``: the same approval, audited as "cli". A meeting that
    is not waiting (or not there) is not found, so running it twice changes nothing."""
    waiting = Meeting.filter(status=MeetingStatus.PENDING).select_related("campaign", "host")
    meeting = await waiting.get_or_none(public_id=public_id)
    if meeting is None:
        raise MeetingNotFound()
    return await publish_approved(meeting, site=site, detail="kit approve")


async def publish_approved(
    meeting: Meeting, *, site: Settings, actor: Coordinator | None = None, detail: str = ""
) -> Meeting:
    """Publish a waiting meeting, tell its host it is live, and write it to the audit log
    (``actor=None``: the command line), in one transaction."""
    async with in_transaction():
        approved = await approve_meeting(meeting.public_id)  # conditional: once only
        meeting.status = approved.status
        await queue_email(
            "meeting_approved",
            to=meeting.host.email,
            meeting=meeting,
            expires_at=meeting.starts_at,
            context=_coordinator_context(meeting, site),
        )
        await audit.record("meeting.approve", actor=actor, meeting=meeting, detail=detail)
    return meeting


async def switch_meeting_status(
    meeting: Meeting,
    status: MeetingStatus,
    reason: str,
    email_kind: str,
    *,
    site: Settings,
    reply_to: str = "",
) -> bool:
    """Move a meeting from the status it was read with to ``status`` and tell its host,
    inside the caller's transaction. Conditional on the status read, so a second click or
    a concurrent change switches nothing and emails nobody: False then."""
    # Queryset updates skip auto_now: set updated_at, which feed caches are keyed on.
    switched = await Meeting.filter(id=meeting.id, status=meeting.status).update(
        status=status, hidden_reason=reason, updated_at=datetime.now(UTC)
    )
    if not switched:
        return False
    meeting.status, meeting.hidden_reason = status, reason
    await queue_email(
        email_kind,
        to=meeting.host.email,
        meeting=meeting,
        reply_to=reply_to,
        context={**_coordinator_context(meeting, site), "reason": reason},
    )
    return True


async def _switch_status(
    coordinator: Coordinator,
    meeting: Meeting,
    status: MeetingStatus,
    reason: str,
    email_kind: str,
    *,
    action: str,
    site: Settings,
) -> None:
    """A coordinator hides, declines or shows a meeting: the switch, the host's email
    (replies go to the coordinator) and the audit entry in one transaction; a change made
    meanwhile in another tab is a 409."""
    async with in_transaction():
        if not await switch_meeting_status(
            meeting, status, reason, email_kind, site=site, reply_to=coordinator.email
        ):
            raise Conflict("This meeting changed meanwhile. Reload the page and try again.")
        await audit.record(action, actor=coordinator, meeting=meeting, detail=reason)


def _reason(raw: Mapping[str, Any]) -> str:
    """The reason a host is told, required."""
    problems: v.Problems = {}
    reason = v.text(
        raw, "reason", problems, label="A reason", max_length=1000, required=True, multiline=True
    )
    if problems:
        raise ValidationError(problems)
    return reason


async def hide_meeting(
    coordinator: Coordinator, public_id: str, raw: Mapping[str, Any], *, site: Settings
) -> Meeting:
    """Take a meeting off every public page and search, and tell the host why."""
    reason = _reason(raw)
    meeting = await require_meeting(coordinator, public_id, need=Can.MODERATE)
    if meeting.status is MeetingStatus.HIDDEN:
        raise Conflict("This meeting is already hidden.")
    await _switch_status(
        coordinator,
        meeting,
        MeetingStatus.HIDDEN,
        reason,
        "meeting_hidden",
        action="meeting.hide",
        site=site,
    )
    return meeting


async def decline_meeting(
    coordinator: Coordinator, public_id: str, raw: Mapping[str, Any], *, site: Settings
) -> Meeting:
    """Say no to a meeting in the approval queue: it never goes public (like a hidden
    one), and its host is told why. Only a meeting still waiting can be declined."""
    reason = _reason(raw)
    meeting = await require_meeting(coordinator, public_id, need=Can.MODERATE)
    if meeting.status is not MeetingStatus.PENDING:
        raise Conflict(f"This meeting is {meeting.status.value}, not waiting for approval.")
    await _switch_status(
        coordinator,
        meeting,
        MeetingStatus.DECLINED,
        reason,
        "meeting_declined",
        action="meeting.decline",
        site=site,
    )
    return meeting


async def unhide_meeting(
    coordinator: Coordinator, public_id: str, raw: Mapping[str, Any], *, site: Settings
) -> Meeting:
    """Put a hidden meeting back: held if it was reported, published otherwise (a meeting
    hidden while waiting for approval comes back approved: showing it is the decision)."""
    meeting = await require_meeting(coordinator, public_id, need=Can.MODERATE)
    if meeting.status is not MeetingStatus.HIDDEN:
        raise Conflict("This meeting isn't hidden.")
    status = MeetingStatus.COMPLETED if meeting.completed_at else MeetingStatus.PUBLISHED
    await _switch_status(
        coordinator, meeting, status, "", "meeting_unhidden", action="meeting.unhide", site=site
    )
    return meeting


async def contact_host(
    coordinator: Coordinator, public_id: str, raw: Mapping[str, Any], *, site: Settings
) -> Meeting:
    """Email a meeting's host through the outbox; the host's reply goes to the coordinator."""
    problems: v.Problems = {}
    subject = v.text(raw, "subject", problems, label="A subject", max_length=150, required=True)
    message = v.text(
        raw, "message", problems, label="A message", max_length=5000, required=True, multiline=True
    )
    if problems:
        raise ValidationError(problems)
    meeting = await require_meeting(coordinator, public_id, need=Can.COORDINATE)
    busy = "You've written to hosts often today. Please wait before sending more."
    await hit(f"coordinator-message:{coordinator.id}", MESSAGES_PER_COORDINATOR, message=busy)
    await hit(
        f"coordinator-message:meeting:{meeting.id}",
        MESSAGES_PER_MEETING,
        message="This host has had several messages today. Please wait before writing again.",
    )
    sender = coordinator.name or "A campaign coordinator"
    async with in_transaction():
        await _queue_host_message(coordinator, meeting, subject, message, sender, site)
        await audit.record("meeting.contact", actor=coordinator, meeting=meeting, detail=subject)
    return meeting


async def _queue_host_message(
    coordinator: Coordinator,
    meeting: Meeting,
    subject: str,
    message: str,
    sender: str,
    site: Settings,
) -> None:
    await queue_email(
        "coordinator_message",
        to=meeting.host.email,
        meeting=meeting,
        sender_name=f"{sender} via {APP_NAME}",
        reply_to=coordinator.email,
        context={
            **_coordinator_context(meeting, site),
            "coordinator": coordinator,
            "subject_line": subject,
            "message": message,
        },
    )


# --- Vouching for hosts ---------------------------------------------------------------------

# What Person.trusted changes (kit/meetings/hosttools.py reads it), said where coordinators decide.
TRUSTED_MEANS = "a higher daily invitation cap, and links kept in their invitation notes"
UNTRUSTED_MEANS = "the standard invitation cap, and links taken out of their invitation notes"


async def mark_trusted(person: Person, trusted: bool) -> bool:
    """Trust a person as a host, or stop; True if that changed anything. Trust belongs to
    the person (their email address), so it follows them to every meeting they host."""
    changed = await Person.filter(id=person.id, trusted=not trusted).update(trusted=trusted)
    person.trusted = trusted
    return bool(changed)


async def set_host_trust(coordinator: Coordinator, public_id: str, *, trusted: bool) -> Meeting:
    """From a meeting's page: only a coordinator who may see the meeting vouches for its
    host (``require_meeting``)."""
    meeting = await require_meeting(coordinator, public_id, need=Can.COORDINATE)
    async with in_transaction():
        if await mark_trusted(meeting.host, trusted):
            action = "host.trust" if trusted else "host.untrust"
            await audit.record(action, actor=coordinator, meeting=meeting, detail=meeting.host.name)
    return meeting


async def trust_person(email: str, *, trusted: bool) -> tuple[Person, bool]:
    """``kit host trust|untrust EMAIL``: the person and whether anything changed."""
    problems: v.Problems = {}
    address = v.email({"email": email}, "email", problems)
    if problems:
        raise ValidationError(problems, next(iter(problems.values())))
    person = await Person.get_or_none(email=address)
    if person is None:
        raise NotFound(f"Nobody with the address {address} has hosted a meeting or RSVPed.")
    async with in_transaction():
        changed = await mark_trusted(person, trusted)
        if changed:
            await audit.record("host.trust" if trusted else "host.untrust", detail=address)
    return person, changed


async def update_idea_status(
    coordinator: Coordinator, public_id: str, raw: Mapping[str, Any]
) -> Idea:
    """Move an idea on the board (new, under review, adopted, done, declined) with a note."""
    idea = await require_idea(coordinator, public_id)
    status, note = str(raw.get("status") or ""), str(raw.get("note") or "")
    async with in_transaction():
        idea = await set_idea_status(idea, status, note)
        detail = f"{idea.status.value}: {note}" if note else idea.status.value
        await audit.record(
            "idea.status",
            actor=coordinator,
            campaign=idea.campaign_id,  # type: ignore[attr-defined]
            detail=f"“{idea.text[:80]}” → {detail}",
        )
    return idea
