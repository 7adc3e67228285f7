"""The audit log: what coordinators (and operators at the CLI) did, for coordinators to
read. Every coordinator action calls ``record`` inside the transaction of the change it
describes, so an entry exists exactly when the change does.

An entry names its actor by account and by the email it had then (an account removed
later leaves its email behind), or "cli" for a command run on the server; ``detail`` is
the few words a reader needs (a reason, a role, an export's kind), never a guest's
contact details.
"""

from __future__ import annotations

from dataclasses import dataclass

from kit.store.models import AuditEntry, Campaign, Coordinator, Meeting

CLI = "cli"
PER_PAGE = 50
DETAIL_MAX = 2000


async def record(
    action: str,
    *,
    actor: Coordinator | None = None,
    campaign: Campaign | int | None = None,
    meeting: Meeting | None = None,
    detail: str = "",
) -> AuditEntry:
    """Write one entry; ``actor=None`` is the CLI. A meeting's campaign is its entry's
    campaign unless one is given."""
    campaign_id = campaign.id if isinstance(campaign, Campaign) else campaign
    if campaign_id is None and meeting is not None:
        campaign_id = meeting.campaign_id  # type: ignore[attr-defined]
    return await AuditEntry.create(
        actor_id=actor.id if actor else None,
        actor_label=actor.email if actor else CLI,
        action=action,
        campaign_id=campaign_id,
        meeting_id=meeting.id if meeting else None,
        detail=detail[:DETAIL_MAX],
    )


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    page: int
    has_next: bool


async def list_entries(campaign_id: int | None, page: int = 1) -> AuditPage:
    """Newest first, ``PER_PAGE`` at a time; ``campaign_id=None`` is every entry (admins)."""
    page = max(page, 1)
    query = AuditEntry.all() if campaign_id is None else AuditEntry.filter(campaign_id=campaign_id)
    rows = (
        await query.order_by("-created_at", "-id")
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
        .select_related("campaign", "meeting")
    )
    return AuditPage(rows[:PER_PAGE], page, len(rows) > PER_PAGE)
