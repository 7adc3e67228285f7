"""Use cases for a campaign's idea board: rank ideas, support one once, set its status.

Anyone may support an idea, once. A supporter is a key: the SHA-256 of the site
secret and either an anonymous browser id (kept in the signed session cookie)
or a confirmed email address. ``IdeaSupport`` is unique per (idea, key), and the
idea's ``supporters`` counter moves in the same transaction as the insert, so a
double click, a replayed form or two confirmations of one link count once.

What this does not stop, honestly: clearing cookies, another browser, or the session
cookie expiring (30 days) gives a new browser id, so the cookie path counts browsers,
not people. That is why the
email path exists: it counts confirmed addresses, with "+tags" (and Gmail's dots)
folded so one mailbox is one supporter. Supports are also rate-limited per client
IP (``SUPPORT_LIMIT``) and confirmation emails per address (``EMAIL_LIMIT``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from kit.core import urls
from kit.core import validation as v
from kit.core.errors import NotFound, ValidationError
from kit.core.settings import Limit, Settings
from kit.outbox.email import queue_email
from kit.store.models import Campaign, Idea, IdeaStatus, IdeaSupport, MeetingStatus
from kit.store.ratelimit import hit

SUPPORT_LIMIT = Limit(30, 3600)  # supports (and email requests) per client IP
EMAIL_LIMIT = Limit(3, 3600)  # confirmation emails per address
CONFIRM_MAX_AGE = 7 * 24 * 3600  # seconds a confirmation link stays valid
NOTE_MAX = 1000
ID_LENGTH = Idea._meta.fields_map["public_id"].max_length  # type: ignore[attr-defined]
BOARD_SIZE = 200
GMAIL = {"gmail.com", "googlemail.com"}
STATUS_LABELS = {
    IdeaStatus.NEW: "New",
    IdeaStatus.UNDER_REVIEW: "Under review",
    IdeaStatus.ADOPTED: "Adopted",
    IdeaStatus.DONE: "Done",
    IdeaStatus.DECLINED: "Declined",
}


class IdeaNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("We couldn't find that idea. It may have been removed by its host.")


# Listing -----------------------------------------------------------------------------------


async def list_ideas(campaign: Campaign, limit: int = BOARD_SIZE) -> list[Idea]:
    """The campaign's ideas from meetings that took place, most supported first."""
    return (
        await Idea.filter(campaign_id=campaign.id, meeting__status=MeetingStatus.COMPLETED)
        .order_by("-supporters", "created_at", "id")
        .limit(limit)
    )


async def get_public_idea(public_id: str) -> Idea:
    """An idea on a public campaign's board (its campaign fetched); IdeaNotFound otherwise."""
    if not v.can_be_key(public_id, ID_LENGTH):  # a mangled link: the ORM would refuse it
        raise IdeaNotFound()
    idea = await Idea.get_or_none(
        public_id=public_id,
        campaign__is_public=True,
        meeting__status=MeetingStatus.COMPLETED,
    ).select_related("campaign")
    if idea is None:
        raise IdeaNotFound()
    return idea


def idea_as_json(idea: Idea) -> dict[str, Any]:
    return {
        "id": idea.public_id,
        "text": idea.text,
        "status": str(idea.status),
        "status_note": idea.status_note,
        "supporters": idea.supporters,
    }


# Supporters --------------------------------------------------------------------------------


def new_browser_id() -> str:
    return secrets.token_urlsafe(18)


def _key(secret_key: str, kind: str, value: str) -> str:
    return hashlib.sha256(f"{secret_key}:{kind}:{value}".encode()).hexdigest()


def browser_key(browser_id: str, secret_key: str) -> str:
    return _key(secret_key, "browser", browser_id)


def normalize_email(email: str) -> str:
    """One mailbox, one address: lower case, without a "+tag"; Gmail ignores dots too."""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def email_key(email: str, secret_key: str) -> str:
    return _key(secret_key, "email", normalize_email(email))


async def support_idea(idea: Idea, supporter_key: str) -> bool:
    """Count one supporter; False (and nothing changes) when this key already supports it."""
    try:
        async with in_transaction():
            await IdeaSupport.create(idea_id=idea.id, supporter_key=supporter_key)
            await Idea.filter(id=idea.id).update(supporters=F("supporters") + 1)
    except IntegrityError:
        return False
    idea.supporters += 1
    return True


async def supported_ideas(supporter_key: str | None, ideas: Iterable[Idea]) -> set[int]:
    """Which of ``ideas`` this supporter already backs (to show "You support this")."""
    ids = [i.id for i in ideas]
    if not supporter_key or not ids:
        return set()
    rows = await IdeaSupport.filter(supporter_key=supporter_key, idea_id__in=ids).values_list(
        "idea_id", flat=True
    )
    return {int(i) for i in rows}  # type: ignore[call-overload]  # tortoise types flat values_list rows as tuples


async def limit_supports(client: str, now: datetime | None = None) -> None:
    await hit(
        f"idea:ip:{client}",
        SUPPORT_LIMIT,
        message="That's a lot of support in a short time. Please try again later.",
        now=now,
    )


# The email path ----------------------------------------------------------------------------


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="idea-support")


def confirmation_token(idea: Idea, email: str, secret_key: str) -> str:
    return _serializer(secret_key).dumps({"idea": idea.public_id, "email": normalize_email(email)})


def read_confirmation(token: str, secret_key: str) -> tuple[str, str] | None:
    """(idea public id, normalized email) from a valid, unexpired link; None otherwise."""
    try:
        data = _serializer(secret_key).loads(token[:500], max_age=CONFIRM_MAX_AGE)
    except BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict):
        return None
    idea, email = data.get("idea"), data.get("email")
    return (idea, email) if isinstance(idea, str) and isinstance(email, str) else None


async def request_email_support(idea: Idea, raw_email: str, *, site: Settings) -> str:
    """Email a link that confirms this address's support; return the address.

    The answer is the same whether or not the address already supports the idea.
    ``idea`` needs its campaign fetched (``get_public_idea`` does).
    """
    problems: v.Problems = {}
    email = v.email({"email": raw_email}, "email", problems)
    if problems:
        raise ValidationError(problems)
    await hit(
        f"idea:email:{normalize_email(email)}",
        EMAIL_LIMIT,
        message="We've already sent several links to that address. Please check your inbox.",
    )
    token = confirmation_token(idea, email, site.secret_key)
    await queue_email(
        "idea_support_confirm",
        to=email,
        expires_at=datetime.now(UTC) + timedelta(seconds=CONFIRM_MAX_AGE),
        context={
            "idea": idea,
            "campaign": idea.campaign,
            "confirm_url": urls.idea_confirm(site.base_url, token),
            "campaign_url": urls.campaign(site.base_url, idea.campaign.slug),  # type: ignore[union-attr]  # public ideas have a campaign
            "site": site.public,
        },
    )
    return email


async def confirm_email_support(email: str, idea: Idea, *, site: Settings) -> bool:
    """Count a confirmed address once (``email`` as read from the signed link)."""
    return await support_idea(idea, email_key(email, site.secret_key))


# Coordinators ------------------------------------------------------------------------------


async def set_idea_status(idea: Idea, status: IdeaStatus | str, note: str = "") -> Idea:
    """A coordinator moves an idea along (new → under review → adopted → done, or
    declined), with a public note saying why; both show on the campaign page."""
    problems: v.Problems = {}
    if str(status) not in {s.value for s in IdeaStatus}:
        problems["status"] = "Choose new, under review, adopted, done or declined."
    text = v.text(
        {"note": note}, "note", problems, label="The note", max_length=NOTE_MAX, multiline=True
    )
    if problems:
        raise ValidationError(problems)
    idea.status, idea.status_note = IdeaStatus(str(status)), text
    idea.updated_at = datetime.now(UTC)
    await Idea.filter(id=idea.id).update(
        status=idea.status, status_note=text, updated_at=idea.updated_at
    )
    return idea
