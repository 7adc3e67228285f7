"""Coordinator accounts and their sessions: adding, finding, removing, listing
(also from the CLI); the session epoch that signing out moves on.
"""

from __future__ import annotations

import re
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from kit.core import validation as v
from kit.core.errors import NotFound, ValidationError
from kit.store import audit
from kit.store.models import Campaign, Coordinator, CoordinatorRole

# --- Accounts and roles -----------------------------------------------------------------


async def add_coordinator(
    email: str,
    *,
    name: str = "",
    is_admin: bool = False,
    campaign_slug: str = "",
    role: CoordinatorRole | None = None,
) -> tuple[Coordinator, bool]:
    """Create the account or add to it (a campaign, admin, a name, the role if one is
    given); takes no campaign away, so running it twice is harmless. Returns the account
    and whether it is new."""
    problems: v.Problems = {}
    address = v.email({"email": email}, "email", problems)
    name = v.text({"name": name}, "name", problems, label="A name", max_length=120)
    if problems:
        raise ValidationError(problems, next(iter(problems.values())))
    campaign = None
    if campaign_slug:
        campaign = await Campaign.get_or_none(slug=campaign_slug)
        if campaign is None:
            raise NotFound(f"There is no campaign called “{campaign_slug}”.")
    async with in_transaction():
        coordinator, created = await Coordinator.get_or_create(
            email=address,
            defaults={
                "name": name,
                "is_admin": is_admin,
                "role": role or CoordinatorRole.COORDINATOR,
            },
        )
        changes: dict[str, Any] = {}
        if name and name != coordinator.name:
            changes["name"] = name
        if is_admin and not coordinator.is_admin:
            changes["is_admin"] = True
        if role is not None and role != coordinator.role:
            changes["role"] = role
        if changes:
            coordinator.update_from_dict(changes)
            await coordinator.save(update_fields=list(changes))
        if campaign and not await coordinator.campaigns.filter(id=campaign.id).exists():
            await coordinator.campaigns.add(campaign)
    return coordinator, created


async def describe_coordinator(coordinator: Coordinator) -> str:
    slugs = await coordinator.campaigns.all().order_by("slug").values_list("slug", flat=True)
    role = "admin (every campaign)" if coordinator.is_admin else str(coordinator.role)
    where = f"; campaigns: {', '.join(map(str, slugs))}" if slugs else ""
    return f"{coordinator.email}: {role}{where}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


async def find_coordinator(coordinator_id: object, session_epoch: object) -> Coordinator | None:
    """The account a session names, if the session is still live: None when signed out,
    when the account is gone, or when its sessions were ended since this one began."""
    if not _is_int(coordinator_id) or not _is_int(session_epoch):
        return None
    coordinator = await Coordinator.get_or_none(id=coordinator_id)
    if coordinator is None or coordinator.session_epoch != session_epoch:
        return None
    return coordinator


async def change_and_end_sessions(coordinator: Coordinator, **changes: Any) -> None:
    """Make ``changes`` and move the session epoch on in one UPDATE; ``coordinator`` gets
    the new epoch, for the caller to put in the session it keeps."""
    await Coordinator.filter(id=coordinator.id).update(
        session_epoch=F("session_epoch") + 1, **changes
    )
    epoch = await Coordinator.filter(id=coordinator.id).values_list("session_epoch", flat=True)
    coordinator.session_epoch = int(epoch[0]) if epoch else coordinator.session_epoch + 1  # type: ignore[call-overload]  # tortoise types flat values_list rows as tuples
    coordinator.update_from_dict(changes)


async def end_sessions(coordinator: Coordinator) -> None:
    """Sign the account out everywhere: every copy of every session cookie stops working."""
    await change_and_end_sessions(coordinator)


async def campaign_ids(coordinator: Coordinator) -> set[int] | None:
    """The campaigns this coordinator may see; None means all of them (an admin)."""
    if coordinator.is_admin:
        return None
    return set(await coordinator.campaigns.all().values_list("id", flat=True))  # type: ignore[arg-type]


async def list_visible_campaigns(coordinator: Coordinator) -> list[Campaign]:
    query = Campaign.all() if coordinator.is_admin else coordinator.campaigns.all()
    return await query.order_by("-starts_on", "name")


async def take_away(
    target: Coordinator, campaigns: list[Campaign], actor: Coordinator | None
) -> bool:
    """Remove ``target`` from ``campaigns`` and end their sessions; an account left with
    no campaign (and no admin rights) is deleted. True if it was deleted."""
    async with in_transaction():
        for campaign in campaigns:
            await target.campaigns.remove(campaign)
            await audit.record(
                "coordinator.remove", actor=actor, campaign=campaign, detail=target.email
            )
        left = await target.campaigns.all().count()
        if left == 0 and not target.is_admin:
            if not campaigns:
                await audit.record("coordinator.remove", actor=actor, detail=target.email)
            await target.delete()  # its tokens go with it; audit entries keep the email
            return True
        await change_and_end_sessions(target)
    return False


async def add_coordinator_from_cli(
    email: str, *, name: str, is_admin: bool, campaign_slug: str, role: CoordinatorRole | None
) -> tuple[Coordinator, bool]:
    """``kit coordinator add``: ``add_coordinator``, written to the audit log as "cli"."""
    async with in_transaction():
        coordinator, created = await add_coordinator(
            email, name=name, is_admin=is_admin, campaign_slug=campaign_slug, role=role
        )
        campaign = await Campaign.get_or_none(slug=campaign_slug) if campaign_slug else None
        detail = await describe_coordinator(coordinator)
        await audit.record("coordinator.add", campaign=campaign, detail=detail)
    return coordinator, created


async def remove_coordinator(email: str, campaign_slug: str = "") -> bool:
    """``kit coordinator remove EMAIL [--campaign SLUG]``: True if the account is gone."""
    problems: v.Problems = {}
    address = v.email({"email": email}, "email", problems)
    if problems:
        raise ValidationError(problems, next(iter(problems.values())))
    target = await Coordinator.get_or_none(email=address)
    if target is None:
        raise NotFound(f"{address} is not a coordinator.")
    if campaign_slug:
        campaign = await target.campaigns.filter(slug=campaign_slug).first()
        if campaign is None:
            raise NotFound(f"{address} doesn't coordinate “{campaign_slug}”.")
        return await take_away(target, [campaign], None)
    target.is_admin = False
    return await take_away(target, list(await target.campaigns.all()), None)


async def list_coordinators() -> list[str]:
    """``kit coordinator list``: one line per account."""
    return [await describe_coordinator(c) for c in await Coordinator.all().order_by("email")]


_ROW_ID_RE = re.compile(r"^[0-9]{1,18}$")  # ASCII digits only ("²".isdigit() is True too)
MAX_ROW_ID = 2**31 - 1  # an INTEGER column: a bigger number overflows in the query


def row_number(raw: object) -> int:
    """A row id typed into a form, or -1 (never matches) when it isn't one."""
    if isinstance(raw, str) and _ROW_ID_RE.match(raw):
        return int(raw) if int(raw) <= MAX_ROW_ID else -1
    return -1
