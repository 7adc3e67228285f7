"""The team: inviting coordinators, changing their role and campaigns, removing them."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from kit.coordinators.access import ROLE_LABELS, Can, abilities, require_campaign
from kit.coordinators.accounts import (
    add_coordinator,
    campaign_ids,
    list_visible_campaigns,
    row_number,
    take_away,
)
from kit.core import urls
from kit.core import validation as v
from kit.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from kit.core.settings import Settings
from kit.outbox.email import queue_email
from kit.store import audit
from kit.store.models import AccessToken, Campaign, Coordinator, CoordinatorRole, TokenKind
from kit.store.tokens import hash_token

# --- The team: inviting coordinators, their role and campaigns, removing them -------------

INVITE_TTL = timedelta(days=7)  # an invitation waits in an inbox longer than a sign-in


@dataclass(frozen=True)
class Member:
    coordinator: Coordinator
    slugs: list[str]  # every campaign of theirs (an admin's: none needed)
    manageable: bool  # the one looking may change their role and remove them


def _role(raw: object, problems: v.Problems) -> CoordinatorRole:
    try:
        return CoordinatorRole(str(raw or CoordinatorRole.COORDINATOR.value))
    except ValueError:
        problems["role"] = "Choose viewer, moderator or coordinator."
        return CoordinatorRole.VIEWER


def _require_team_lead(actor: Coordinator) -> None:
    if not actor.is_admin and Can.COORDINATE not in abilities(actor):
        raise PermissionDenied("Only coordinators and admins manage who coordinates.")


async def _slugs_of(coordinator: Coordinator) -> list[str]:
    slugs = await coordinator.campaigns.all().order_by("slug").values_list("slug", flat=True)
    return [str(slug) for slug in slugs]


async def _may_manage(actor: Coordinator, target: Coordinator, target_slugs: list[str]) -> bool:
    """An admin manages anyone else; a coordinator, someone who is no admin and all of
    whose campaigns they coordinate too (so a role they set changes nothing elsewhere)."""
    if target.id == actor.id:
        return False
    if actor.is_admin:
        return True
    mine = set(await _slugs_of(actor))
    return not target.is_admin and bool(target_slugs) and set(target_slugs) <= mine


async def list_team(actor: Coordinator) -> list[Member]:
    """The accounts the actor works with: everyone for an admin, else those who share a
    campaign with them."""
    _require_team_lead(actor)
    query = Coordinator.all()
    if not actor.is_admin:
        query = query.filter(campaigns__id__in=list(await campaign_ids(actor) or ())).distinct()
    members = []
    for person in await query.order_by("email"):
        slugs = await _slugs_of(person)
        members.append(Member(person, slugs, await _may_manage(actor, person, slugs)))
    return members


async def _team_campaign(actor: Coordinator, slug: object) -> Campaign:
    """A campaign the actor may give or take away: one they coordinate (an admin: any)."""
    if not slug:
        raise ValidationError({"campaign": "Choose a campaign."})
    return await require_campaign(actor, str(slug), need=Can.COORDINATE)


async def invite_coordinator(
    actor: Coordinator, raw: Mapping[str, Any], *, site: Settings, now: datetime | None = None
) -> Coordinator:
    """Give someone a role in one of the actor's campaigns and email them a sign-in link
    (in the same transaction). An existing account gets the campaign; its role changes
    only if the actor could change it anyway (``_may_manage``)."""
    _require_team_lead(actor)
    problems: v.Problems = {}
    address = v.email(raw, "email", problems)
    name = v.text(raw, "name", problems, label="A name", max_length=120)
    role = _role(raw.get("role"), problems)
    if problems:
        raise ValidationError(problems)
    campaign = await _team_campaign(actor, raw.get("campaign"))
    existing = await Coordinator.get_or_none(email=address)
    if existing is not None and existing.role != role and not existing.is_admin:
        if not await _may_manage(actor, existing, await _slugs_of(existing)):
            raise Conflict(
                f"{address} already coordinates other campaigns as a {existing.role}; "
                "invite them as that, or ask an admin to change their role."
            )
    raw_token = secrets.token_urlsafe(32)
    expires_at = (now or datetime.now(UTC)) + INVITE_TTL
    async with in_transaction():
        invited, _ = await add_coordinator(address, name=name, role=role)
        await invited.campaigns.add(campaign)
        await AccessToken.create(
            token_hash=hash_token(raw_token),
            kind=TokenKind.COORDINATOR_LOGIN,
            coordinator=invited,
            expires_at=expires_at,
        )
        await queue_email(
            "coordinator_invite",
            to=address,
            expires_at=expires_at,
            reply_to=actor.email,
            context={
                "coordinator": invited,
                "inviter": actor,
                "campaign": campaign,
                "role": ROLE_LABELS[role],
                "signin_url": urls.coordinator_signin(site.base_url, raw_token),
                "days": INVITE_TTL.days,
                "site": site.public,
            },
        )
        detail = f"{address} as {role.value}"
        await audit.record("coordinator.invite", actor=actor, campaign=campaign, detail=detail)
    return invited


async def _team_member(actor: Coordinator, member_id: object) -> tuple[Coordinator, list[str]]:
    number = row_number(member_id)
    target = await Coordinator.get_or_none(id=number)
    if target is None:
        raise NotFound("There is no such coordinator.")
    slugs = await _slugs_of(target)
    if not await _may_manage(actor, target, slugs):
        raise PermissionDenied(
            "You can't change this account: it is yours, an admin's, or also coordinates "
            "campaigns you don't. Ask an admin."
        )
    return target, slugs


async def change_access(
    actor: Coordinator, member_id: object, raw: Mapping[str, Any]
) -> Coordinator:
    """Set a member's role, and which of the actor's campaigns they have (campaigns the
    actor doesn't coordinate are left as they are)."""
    _require_team_lead(actor)
    target, before = await _team_member(actor, member_id)
    problems: v.Problems = {}
    role = _role(raw.get("role"), problems)
    if problems:
        raise ValidationError(problems)
    mine = {c.slug: c for c in await list_visible_campaigns(actor)}
    wanted = {str(slug) for slug in raw.get("campaigns") or () if str(slug) in mine}
    if not wanted and not (set(before) - set(mine)):
        raise ValidationError(
            {"campaigns": "Keep at least one campaign, or remove the coordinator instead."}
        )
    async with in_transaction():
        if role != target.role:
            await Coordinator.filter(id=target.id).update(role=role)
            detail = f"{target.email}: {target.role} → {role.value}"
            await audit.record("coordinator.role", actor=actor, detail=detail)
            target.role = role
        for slug in sorted(set(before) & set(mine) - wanted):
            await target.campaigns.remove(mine[slug])
            await audit.record(
                "coordinator.remove", actor=actor, campaign=mine[slug], detail=target.email
            )
        for slug in sorted(wanted - set(before)):
            await target.campaigns.add(mine[slug])
            detail = f"{target.email} as {role.value}"
            await audit.record("coordinator.add", actor=actor, campaign=mine[slug], detail=detail)
    return target


async def remove_from_team(
    actor: Coordinator, member_id: object, campaign_slug: str = ""
) -> Coordinator:
    """From one campaign, or (without one) from every campaign of the actor's; an admin
    removing without a campaign removes the account. Their sessions end either way."""
    _require_team_lead(actor)
    target, slugs = await _team_member(actor, member_id)
    if campaign_slug:
        campaigns = [await _team_campaign(actor, campaign_slug)]
    elif actor.is_admin:
        campaigns = list(await target.campaigns.all())
        target.is_admin = False  # a full removal, even of an admin's account
    else:
        mine = set(await _slugs_of(actor))
        campaigns = list(await target.campaigns.filter(slug__in=sorted(mine & set(slugs))))
    await take_away(target, campaigns, actor)
    return target
