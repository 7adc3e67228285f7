"""Who may do what: the capabilities (``Can``) of each role, and the gates
``require_campaign``, ``require_meeting`` and ``require_idea`` every page, export and API
answer about a campaign goes through, naming the capability it needs.
"""

from __future__ import annotations

from enum import StrEnum

from kit.campaigns.service import SLUG_LENGTH
from kit.coordinators.accounts import campaign_ids
from kit.core import validation as v
from kit.core.errors import CampaignNotFound, MeetingNotFound, NotFound, PermissionDenied
from kit.meetings.service import PUBLIC_ID_LENGTH
from kit.reports.ideas import ID_LENGTH as IDEA_ID_LENGTH
from kit.store.models import Campaign, Coordinator, CoordinatorRole, Idea, Meeting, MeetingStatus


async def may_see(coordinator: Coordinator, campaign_id: int | None) -> bool:
    allowed = await campaign_ids(coordinator)
    return allowed is None or (campaign_id is not None and campaign_id in allowed)


class Can(StrEnum):
    """What a page or an action needs, checked by the gates below."""

    VIEW = "view"  # the dashboard and its aggregates: no names, emails or addresses
    MODERATE = "moderate"  # the approval queue, a meeting's page, approve/decline/hide/unhide
    COORDINATE = "coordinate"  # edit the campaign, write to hosts, trust, ideas, exports


ROLE_CAN: dict[CoordinatorRole, frozenset[Can]] = {
    CoordinatorRole.VIEWER: frozenset({Can.VIEW}),
    CoordinatorRole.MODERATOR: frozenset({Can.VIEW, Can.MODERATE}),
    CoordinatorRole.COORDINATOR: frozenset(Can),
}
ROLE_LABELS = {
    CoordinatorRole.VIEWER: "viewer (the dashboard's figures only)",
    CoordinatorRole.MODERATOR: "moderator (figures, approvals, hiding meetings)",
    CoordinatorRole.COORDINATOR: "coordinator (everything in their campaigns)",
}
REFUSED = {
    Can.VIEW: "You don't coordinate this campaign. An admin can add you to it.",
    Can.MODERATE: "Your role is viewer: the dashboard's figures only. Ask a coordinator of "
    "this campaign to make you a moderator.",
    Can.COORDINATE: "Your role doesn't include this (it is for coordinators). Ask a "
    "coordinator of this campaign or an admin.",
}


def abilities(coordinator: Coordinator) -> frozenset[Can]:
    """What the account may do in the campaigns it may see (an admin: everything)."""
    if coordinator.is_admin:
        return frozenset(Can)
    return ROLE_CAN[CoordinatorRole(coordinator.role)]


async def _check(
    coordinator: Coordinator, campaign_id: int | None, need: Can, not_theirs: str
) -> None:
    if not await may_see(coordinator, campaign_id):
        raise PermissionDenied(not_theirs)
    if need not in abilities(coordinator):
        raise PermissionDenied(REFUSED[need])


async def require_campaign(coordinator: Coordinator, slug: str, *, need: Can) -> Campaign:
    """The campaign, if this coordinator coordinates it and their role allows ``need``:
    CampaignNotFound (404) if there is no such campaign, PermissionDenied (403) if it is
    someone else's or beyond the role."""
    # A mangled link (too long, a NUL byte) can't name a campaign: the ORM or PostgreSQL
    # would refuse it as a 500, so it is simply not found.
    campaign = await Campaign.get_or_none(slug=slug) if v.can_be_key(slug, SLUG_LENGTH) else None
    if campaign is None:
        raise CampaignNotFound()
    await _check(coordinator, campaign.id, need, REFUSED[Can.VIEW])
    return campaign


async def require_meeting(coordinator: Coordinator, public_id: str, *, need: Can) -> Meeting:
    """A meeting of one of the coordinator's campaigns (meetings outside any campaign are
    the admins'), if their role allows ``need``; MeetingNotFound or PermissionDenied
    otherwise. A meeting's page shows its host's contacts: it needs at least MODERATE."""
    if not v.can_be_key(public_id, PUBLIC_ID_LENGTH):
        raise MeetingNotFound()
    meeting = await Meeting.get_or_none(public_id=public_id).select_related("campaign", "host")
    if meeting is None or meeting.status is MeetingStatus.DRAFT:
        raise MeetingNotFound()
    not_theirs = "This meeting belongs to a campaign you don't coordinate."
    await _check(coordinator, meeting.campaign_id, need, not_theirs)  # type: ignore[attr-defined]
    return meeting


async def may_date_outside_window(coordinator: Coordinator | None, campaign_slug: str) -> bool:
    """Whether this coordinator may publish a meeting of the campaign outside its dates
    (after a warning). The dates are part of the campaign, which only ``Can.COORDINATE``
    edits (coordinators of that campaign, and admins): a viewer or a moderator, who may
    not move the campaign's dates, may not step outside them either, and a host never."""
    if coordinator is None or Can.COORDINATE not in abilities(coordinator):
        return False
    campaign = await Campaign.get_or_none(slug=campaign_slug) if campaign_slug else None
    return campaign is not None and await may_see(coordinator, campaign.id)


async def require_idea(coordinator: Coordinator, public_id: str) -> Idea:
    found = v.can_be_key(public_id, IDEA_ID_LENGTH)
    idea = await Idea.get_or_none(public_id=public_id) if found else None
    if idea is None:
        raise NotFound("We couldn't find that idea.")
    not_theirs = "This idea belongs to a campaign you don't coordinate."
    await _check(coordinator, idea.campaign_id, Can.COORDINATE, not_theirs)  # type: ignore[attr-defined]
    return idea
