"""Coordinators: accounts, signing in, API tokens and who may see which campaign; and what
coordinators do: write campaigns, approve or hide meetings, write to a meeting's host.

Roles: an admin sees every campaign, creates new ones and manages every account; any
other account sees only the campaigns it was given (``kit coordinator add EMAIL
--campaign SLUG``, or an invitation from /coordinators/team), and does there what its
role allows (``Coordinator.role``, one per account): a viewer reads the dashboard's
figures (``Can.VIEW``); a moderator also opens meetings, approves, declines, hides and
shows them again (``Can.MODERATE``); a coordinator does everything in their campaigns,
contact exports and inviting others included (``Can.COORDINATE``).
Coordinators vouch for hosts they know (``Person.trusted``) from a meeting's page;
operators with ``kit host trust EMAIL``.
``require_campaign`` and ``require_meeting`` are the gates: every page, export and API
answer about a campaign or one of its meetings goes through one of them, naming the
capability it needs. Every action is written to the audit log (``kit.audit``) in its
own transaction.

Signing in: a magic link (15 minutes, single use, stored hashed like every token), or
a password hashed with argon2 once the coordinator sets one. Failed password attempts
are limited per IP and email, and per account from anywhere (a guesser with many
addresses); the email link keeps working while a password is locked.

Sessions: the session cookie carries the account's ``session_epoch``, compared with the
database on every request. Signing out, and setting or removing the password, move the
epoch on, which ends every copy of every session of the account at once.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from kit import audit, campaign_exports
from kit import validation as v
from kit.campaign_input import CampaignInput
from kit.campaigns import SLUG_LENGTH
from kit.errors import (
    CampaignNotFound,
    Conflict,
    KitError,
    MeetingNotFound,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationError,
)
from kit.ideas import ID_LENGTH as IDEA_ID_LENGTH
from kit.ideas import set_idea_status
from kit.mail_queue import queue_email
from kit.meetings import PUBLIC_ID_LENGTH, approve_meeting, meeting_url
from kit.models import (
    AccessToken,
    Campaign,
    Coordinator,
    CoordinatorRole,
    Idea,
    Meeting,
    MeetingStatus,
    Person,
    RateCounter,
    TokenKind,
)
from kit.ratelimit import Limit, hit
from kit.settings import Settings
from kit.tokens import find_token, hash_token

APP_NAME = "House Meeting Kit"
LOGIN_TTL = timedelta(minutes=15)
SIGNIN_PER_EMAIL = Limit(5, 3600)
SIGNIN_PER_IP = Limit(20, 3600)
PASSWORD_FAILURES = Limit(5, 900)  # per IP and email
# Per account, from every IP together: 20 an hour lets a person mistype for a while, and
# holds a guesser with thousands of addresses to 480 guesses a day.
ACCOUNT_PASSWORD_FAILURES = Limit(20, 3600)
MESSAGES_PER_COORDINATOR = Limit(30, 86400)
MESSAGES_PER_MEETING = Limit(5, 86400)
MAX_API_TOKENS = 10
MIN_PASSWORD, MAX_PASSWORD = 12, 256

_hasher = PasswordHasher()
_hash_limiter = anyio.CapacityLimiter(2)  # argon2 takes 64 MiB per hash: a few at a time
_dummy_hash: str | None = None


class NotSignedIn(KitError):
    status_code = 401

    def __init__(self) -> None:
        super().__init__("Sign in as a coordinator first (Authorization: Bearer <API token>).")


class SigninLinkInvalid(NotFound):
    def __init__(self) -> None:
        super().__init__("This sign-in link has expired or was already used. Ask for a new one.")


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


async def _end_sessions(coordinator: Coordinator, **changes: Any) -> None:
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
    await _end_sessions(coordinator)


async def campaign_ids(coordinator: Coordinator) -> set[int] | None:
    """The campaigns this coordinator may see; None means all of them (an admin)."""
    if coordinator.is_admin:
        return None
    return set(await coordinator.campaigns.all().values_list("id", flat=True))  # type: ignore[arg-type]


async def list_visible_campaigns(coordinator: Coordinator) -> list[Campaign]:
    query = Campaign.all() if coordinator.is_admin else coordinator.campaigns.all()
    return await query.order_by("-starts_on", "name")


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
    async with in_transaction():
        invited, _ = await add_coordinator(address, name=name, role=role)
        await invited.campaigns.add(campaign)
        await AccessToken.create(
            token_hash=hash_token(raw_token),
            kind=TokenKind.COORDINATOR_LOGIN,
            coordinator=invited,
            expires_at=(now or datetime.now(UTC)) + INVITE_TTL,
        )
        await queue_email(
            "coordinator_invite",
            to=address,
            reply_to=actor.email,
            context={
                "coordinator": invited,
                "inviter": actor,
                "campaign": campaign,
                "role": ROLE_LABELS[role],
                "signin_url": f"{site.base_url}/coordinators/signin/{raw_token}",
                "days": INVITE_TTL.days,
                "site": site.public,
            },
        )
        detail = f"{address} as {role.value}"
        await audit.record("coordinator.invite", actor=actor, campaign=campaign, detail=detail)
    return invited


async def _team_member(actor: Coordinator, member_id: object) -> tuple[Coordinator, list[str]]:
    number = -1
    if isinstance(member_id, str) and _ROW_ID_RE.match(member_id):
        number = int(member_id) if int(member_id) <= MAX_ROW_ID else -1
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


async def _take_away(
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
        await _end_sessions(target)
    return False


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
    await _take_away(target, campaigns, actor)
    return target


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
        return await _take_away(target, [campaign], None)
    target.is_admin = False
    return await _take_away(target, list(await target.campaigns.all()), None)


async def list_coordinators() -> list[str]:
    """``kit coordinator list``: one line per account."""
    return [await describe_coordinator(c) for c in await Coordinator.all().order_by("email")]


# --- The audit log ---------------------------------------------------------------------------


def page_number(raw: str | None) -> int:
    """``?page=`` as a page number; anything else (missing, "x", absurd) is page 1."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


async def read_audit(
    coordinator: Coordinator, slug: str | None, page: str | None
) -> tuple[Campaign | None, audit.AuditPage]:
    """A campaign's audit entries (its coordinators), or everyone's (``slug=None``: admins)."""
    if slug is None:
        if not coordinator.is_admin:
            raise PermissionDenied("Only admins read the whole audit log; open a campaign's.")
        return None, await audit.list_entries(None, page_number(page))
    campaign = await require_campaign(coordinator, slug, need=Can.COORDINATE)
    return campaign, await audit.list_entries(campaign.id, page_number(page))


# --- Magic links ----------------------------------------------------------------------------


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a path on this site under /coordinators, or the home."""
    if path and path.startswith("/coordinators") and "//" not in path and "\\" not in path:
        return path[:500]
    return "/coordinators"


async def send_signin_link(
    email: str, *, ip: str, site: Settings, next_path: str = "", now: datetime | None = None
) -> None:
    """Email a sign-in link if the address is a coordinator's. The caller answers the same
    either way, so nobody learns from it who coordinates."""
    problems: v.Problems = {}
    address = v.email({"email": email}, "email", problems)
    if problems:
        raise ValidationError(problems)
    busy = "Several sign-in links were asked for just now. Please wait a while and try again."
    await hit(f"coordinator-signin:ip:{ip}", SIGNIN_PER_IP, message=busy)
    await hit(f"coordinator-signin:email:{address}", SIGNIN_PER_EMAIL, message=busy)
    coordinator = await Coordinator.get_or_none(email=address)
    if coordinator is None:
        return
    raw = secrets.token_urlsafe(32)
    url = f"{site.base_url}/coordinators/signin/{raw}"
    if safe_next(next_path) != "/coordinators":
        url += f"?next={quote(safe_next(next_path))}"
    async with in_transaction():
        await AccessToken.create(
            token_hash=hash_token(raw),
            kind=TokenKind.COORDINATOR_LOGIN,
            coordinator=coordinator,
            expires_at=(now or datetime.now(UTC)) + LOGIN_TTL,
        )
        await queue_email(
            "coordinator_signin",
            to=address,
            context={
                "coordinator": coordinator,
                "signin_url": url,
                "minutes": int(LOGIN_TTL.total_seconds() // 60),
                "site": site.public,
            },
        )


def _live_login(raw: str | None, now: datetime) -> Any:
    if not raw or len(raw) > 100:
        raise SigninLinkInvalid()
    return AccessToken.filter(
        token_hash=hash_token(raw),
        kind=TokenKind.COORDINATOR_LOGIN,
        revoked_at=None,
        expires_at__gt=now,
    )


async def check_signin_token(raw: str | None, now: datetime | None = None) -> Coordinator:
    """The coordinator a live sign-in link belongs to, without using it up."""
    token = await _live_login(raw, now or datetime.now(UTC)).first()
    if token is None:
        raise SigninLinkInvalid()
    return await Coordinator.get(id=token.coordinator_id)


async def consume_signin_token(raw: str | None, now: datetime | None = None) -> Coordinator:
    """Use a sign-in link up (one conditional UPDATE, so two clicks can't both win)."""
    now = now or datetime.now(UTC)
    if not await _live_login(raw, now).update(revoked_at=now):
        raise SigninLinkInvalid()
    token = await AccessToken.get(token_hash=hash_token(str(raw)))
    return await Coordinator.get(id=token.coordinator_id)  # type: ignore[attr-defined]


# --- Passwords ------------------------------------------------------------------------------


async def _hash(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password, limiter=_hash_limiter)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def set_password(coordinator: Coordinator, raw: Mapping[str, Any]) -> None:
    password, confirm = str(raw.get("password") or ""), str(raw.get("password_confirm") or "")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValidationError(
            {"password": f"Use {MIN_PASSWORD} to {MAX_PASSWORD} characters; a passphrase works."}
        )
    if password != confirm:
        raise ValidationError({"password_confirm": "The two passwords are not the same."})
    # A new password ends every session: whoever knew the old one is out.
    await _end_sessions(coordinator, password_hash=await _hash(password))


async def remove_password(coordinator: Coordinator) -> None:
    await _end_sessions(coordinator, password_hash=None)


async def _refuse_while_locked(key: str, limit: Limit, message: str, now: datetime) -> None:
    """Raise RateLimited if ``key`` already used up its window (without counting a hit)."""
    counter = await RateCounter.get_or_none(key=key[:200])
    window = timedelta(seconds=limit.seconds)
    if counter and counter.window_start > now - window and counter.hits >= limit.hits:
        retry = counter.window_start + window - now
        raise RateLimited(message, retry_after=max(int(retry.total_seconds()) + 1, 1))


async def sign_in_with_password(email: str, password: str, *, ip: str) -> Coordinator:
    """The coordinator, if the password matches; only failures count towards the limit."""
    global _dummy_hash
    problems: v.Problems = {}
    address = v.email({"email": email}, "email", problems)
    if problems:  # no such account can exist: nothing to check or count
        raise ValidationError(problems)
    key = f"coordinator-password:{ip}:{address}"
    account_key = f"coordinator-password:account:{address}"
    locked = "Too many wrong passwords. Wait a few minutes, or sign in with an email link."
    account_locked = (
        "Too many wrong passwords were tried for this account in the last hour, so password "
        "sign-in is paused for it. Sign in with an email link instead: that still works."
    )
    now = datetime.now(UTC)
    # Before checking anything: while locked, even the right password is refused.
    await _refuse_while_locked(key, PASSWORD_FAILURES, locked, now)
    await _refuse_while_locked(account_key, ACCOUNT_PASSWORD_FAILURES, account_locked, now)
    coordinator = await Coordinator.get_or_none(email=address)
    stored = coordinator.password_hash if coordinator else None
    if stored is None:  # same work as a real check, so timing doesn't tell who has a password
        _dummy_hash = _dummy_hash or await _hash(secrets.token_urlsafe(16))
    checked = await anyio.to_thread.run_sync(
        _verify, stored or _dummy_hash or "", password[:MAX_PASSWORD], limiter=_hash_limiter
    )
    if coordinator is None or stored is None or not checked:
        # Unknown addresses count too, so a lock doesn't tell who coordinates.
        await hit(account_key, ACCOUNT_PASSWORD_FAILURES, message=account_locked)
        await hit(key, PASSWORD_FAILURES, message=locked)
        raise ValidationError({"password": "That email and password don't match."})
    if _hasher.check_needs_rehash(stored):
        await Coordinator.filter(id=coordinator.id).update(password_hash=await _hash(password))
    return coordinator


# --- API tokens -------------------------------------------------------------------------------


async def create_api_token(coordinator: Coordinator) -> str:
    """A new API token; the raw value is shown once and only its hash is kept."""
    live = await AccessToken.filter(
        coordinator_id=coordinator.id, kind=TokenKind.COORDINATOR_API, revoked_at=None
    ).count()
    if live >= MAX_API_TOKENS:
        raise Conflict(f"You have {live} API tokens. Revoke one you no longer use first.")
    raw = secrets.token_urlsafe(32)
    await AccessToken.create(
        token_hash=hash_token(raw), kind=TokenKind.COORDINATOR_API, coordinator=coordinator
    )
    return raw


async def list_api_tokens(coordinator: Coordinator) -> list[AccessToken]:
    return await AccessToken.filter(
        coordinator_id=coordinator.id, kind=TokenKind.COORDINATOR_API, revoked_at=None
    ).order_by("created_at")


_ROW_ID_RE = re.compile(r"^[0-9]{1,18}$")  # ASCII digits only ("²".isdigit() is True too)
MAX_ROW_ID = 2**31 - 1  # an INTEGER column: a bigger number overflows in the query


async def revoke_api_token(coordinator: Coordinator, token_id: object) -> None:
    number = -1
    if isinstance(token_id, str) and _ROW_ID_RE.match(token_id):
        number = int(token_id) if int(token_id) <= MAX_ROW_ID else -1
    revoked = await AccessToken.filter(
        id=number, coordinator_id=coordinator.id, kind=TokenKind.COORDINATOR_API, revoked_at=None
    ).update(revoked_at=datetime.now(UTC))
    if not revoked:
        raise NotFound("That API token doesn't exist or was already revoked.")


async def coordinator_for_api_token(raw: str | None) -> Coordinator:
    access = await find_token(raw, TokenKind.COORDINATOR_API)
    coordinator = access and await Coordinator.get_or_none(id=access.coordinator_id)  # type: ignore[attr-defined]
    if not coordinator:
        raise NotSignedIn()
    return coordinator


# --- Campaigns ------------------------------------------------------------------------------


async def create_campaign(coordinator: Coordinator, data: CampaignInput) -> Campaign:
    if not coordinator.is_admin:
        raise PermissionDenied("Only admins start new campaigns. Ask one to create it for you.")
    if await Campaign.filter(slug=data.slug).exists():
        raise ValidationError({"slug": f"The address “{data.slug}” is taken. Pick another."})
    async with in_transaction():
        campaign = await Campaign.create(**data.as_fields())
        await audit.record("campaign.create", actor=coordinator, campaign=campaign)
    return campaign


async def update_campaign(
    coordinator: Coordinator, campaign: Campaign, data: CampaignInput
) -> Campaign:
    """Change everything but the slug: links, feeds and printed flyers carry it."""
    fields = {k: val for k, val in data.as_fields().items() if k != "slug"}
    changed = sorted(k for k, val in fields.items() if getattr(campaign, k) != val)
    campaign.update_from_dict(fields)
    async with in_transaction():
        await campaign.save(update_fields=list(fields))
        detail = f"changed: {', '.join(changed)}" if changed else "saved without changes"
        await audit.record("campaign.edit", actor=coordinator, campaign=campaign, detail=detail)
    return campaign


async def open_export(coordinator: Coordinator, slug: str, kind: str) -> Campaign:
    """The campaign whose ``kind`` export this coordinator may download, with the
    download written to the audit log. Exports with contacts need COORDINATE."""
    if kind not in campaign_exports.EXPORTS:
        raise NotFound("There is no such export.")
    need = Can.VIEW if kind in campaign_exports.WITHOUT_CONTACTS else Can.COORDINATE
    campaign = await require_campaign(coordinator, slug, need=need)
    await audit.record("export", actor=coordinator, campaign=campaign, detail=kind)
    return campaign


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
        "meeting_url": meeting_url(site.base_url, meeting),
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

# What Person.trusted changes (kit/hosttools.py reads it), said where coordinators decide.
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


async def require_idea(coordinator: Coordinator, public_id: str) -> Idea:
    found = v.can_be_key(public_id, IDEA_ID_LENGTH)
    idea = await Idea.get_or_none(public_id=public_id) if found else None
    if idea is None:
        raise NotFound("We couldn't find that idea.")
    not_theirs = "This idea belongs to a campaign you don't coordinate."
    await _check(coordinator, idea.campaign_id, Can.COORDINATE, not_theirs)  # type: ignore[attr-defined]
    return idea


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
