"""How a host proves who they are, and holds the keys to their meetings.

Typing an email address into the host form proves nothing. A new host's meeting waits
as "awaiting" (nothing about it is public or shareable) until they follow the link the
kit emailed to that address and press "Publish" on the page it opens: a GET only shows
the page, so a mail scanner fetching the link publishes nothing. Confirming proves the
mailbox (``Person.email_verified_at``), publishes that one meeting (or sends it to the
coordinators when the campaign approves meetings), switches off the manage links handed
out before the proof, and tells the browser that confirmed it: that browser's later
meetings under the same address are published at once.

Manage links can be asked for again by email (``send_manage_links``): the new links go
to the host's mailbox and the old ones keep working, so nobody who merely knows a host's
address can switch off the links on a printed packet. Switching old links off is an
explicit action on the manage page (``replace_manage_links``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from kit.core import urls
from kit.core.errors import Conflict, MeetingNotFound
from kit.core.settings import Limit, Settings
from kit.outbox.email import queue_email
from kit.store.models import AccessToken, Meeting, MeetingStatus, Person, TokenKind
from kit.store.people import mark_verified, normalize_email, update_person
from kit.store.ratelimit import hit
from kit.store.tokens import find_token, issue_token, revoke_tokens
from kit.store.transactions import atomically

CONFIRM_TTL = timedelta(days=7)
RESENDS_PER_MEETING = Limit(3, 3600)
RECOVER_PER_CLIENT = Limit(5, 3600)
RECOVER_PER_ADDRESS = Limit(3, 3600)
RECOVER_MESSAGE = (
    "We've sent several links just now. Please check your inbox (and spam folder), "
    "or try again in an hour."
)
# Hosts can recover links to meetings in these states (not cancelled or hidden ones).
RECOVERABLE = (
    MeetingStatus.DRAFT,
    MeetingStatus.AWAITING,
    MeetingStatus.PENDING,
    MeetingStatus.PUBLISHED,
    MeetingStatus.COMPLETED,
)


class ConfirmLinkInvalid(MeetingNotFound):
    def __init__(self) -> None:
        super().__init__()
        self.message = (
            "This confirmation link has expired or was already used. If your meeting is "
            "still waiting, open its manage page and ask for a new link."
        )


def is_proven(email: str, proven_emails: frozenset[str] | set[str] | tuple[str, ...]) -> bool:
    """Has this browser (or the caller) proven the mailbox before?"""
    return normalize_email(email) in {normalize_email(e) for e in proven_emails}


def status_after_proof(meeting: Meeting) -> MeetingStatus:
    campaign = meeting.campaign
    return (
        MeetingStatus.PENDING
        if campaign and campaign.requires_approval
        else MeetingStatus.PUBLISHED
    )


async def queue_confirmation(meeting: Meeting, host: Person, site: Settings) -> None:
    """Email the host a link that proves their mailbox and publishes ``meeting``.

    Inside the caller's transaction, like every email the kit queues.
    """
    expires_at = datetime.now(UTC) + CONFIRM_TTL
    raw = await issue_token(
        TokenKind.HOST_CONFIRM, meeting=meeting, person=host, expires_at=expires_at
    )
    await queue_email(
        "host_confirm",
        to=host.email,
        meeting=meeting,
        expires_at=expires_at,
        context={
            "meeting": meeting,
            "host": host,
            "confirm_url": urls.host_confirm(site.base_url, raw),
            "days": CONFIRM_TTL.days,
        },
    )


async def resend_confirmation(meeting: Meeting, site: Settings) -> None:
    """Another confirmation email, from the manage page of a meeting that still waits."""
    if meeting.status is not MeetingStatus.AWAITING:
        raise Conflict("This meeting is already confirmed.")
    await hit(
        f"host-confirm:meeting:{meeting.id}",
        RESENDS_PER_MEETING,
        message="We've sent the confirmation email several times just now. Please check "
        "your spam folder, or try again in an hour.",
    )

    async with in_transaction():
        await queue_confirmation(meeting, meeting.host, site)


async def _live_confirmation(raw: str | None, now: datetime) -> AccessToken:
    access = await find_token(raw, TokenKind.HOST_CONFIRM)
    if access is None or (access.expires_at is not None and access.expires_at <= now):
        raise ConfirmLinkInvalid()
    return access


async def check_confirmation(raw: str | None, now: datetime | None = None) -> Meeting:
    """The meeting a live confirmation link is for, without using the link."""
    access = await _live_confirmation(raw, now or datetime.now(UTC))
    meeting = await Meeting.get_or_none(id=access.meeting_id).select_related("host", "campaign")  # type: ignore[attr-defined]
    if meeting is None or meeting.status is not MeetingStatus.AWAITING:
        raise ConfirmLinkInvalid()
    return meeting


async def confirm_host(
    raw: str | None,
    *,
    name: str,
    phone: str | None,
    site: Settings,
    now: datetime | None = None,
) -> tuple[Meeting, str]:
    """The host pressed "Publish" on the page their confirmation link opened.

    Proves the mailbox, applies the name and phone they checked there, publishes the
    meeting (or queues it for approval), replaces its manage links (the ones handed out
    before the proof may be anyone's) and emails the new one. Returns the meeting and
    the fresh manage token. A second press finds the link used up.
    """
    now = now or datetime.now(UTC)

    async def work() -> tuple[Meeting, str]:
        access = await _live_confirmation(raw, now)
        used = await AccessToken.filter(id=access.id, revoked_at=None).update(revoked_at=now)
        if not used:
            raise ConfirmLinkInvalid()
        meeting = await Meeting.get(id=access.meeting_id).select_related("host", "campaign")  # type: ignore[attr-defined]
        if meeting.status is not MeetingStatus.AWAITING:
            raise ConfirmLinkInvalid()
        host = meeting.host
        await mark_verified(host, now)
        await update_person(host, name=name, phone=phone)
        meeting.status = status_after_proof(meeting)
        await Meeting.filter(id=meeting.id, status=MeetingStatus.AWAITING).update(
            status=meeting.status, updated_at=now
        )
        await revoke_tokens(TokenKind.MEETING_MANAGE, meeting=meeting)
        await revoke_tokens(TokenKind.HOST_CONFIRM, meeting=meeting)
        token = await issue_token(TokenKind.MEETING_MANAGE, meeting=meeting)
        await queue_meeting_created(meeting, token, site)
        return meeting, token

    return await atomically(work)


async def queue_meeting_created(meeting: Meeting, token: str, site: Settings) -> None:
    """The host's email with the live meeting and their private manage link."""
    await queue_email(
        "meeting_created",
        to=meeting.host.email,
        meeting=meeting,
        context={
            "meeting": meeting,
            "host": meeting.host,
            "manage_url": urls.manage(site.base_url, meeting.public_id, token),
            "meeting_url": urls.meeting(site.base_url, meeting.public_id),
            "recover_url": urls.manage_recover(site.base_url),
        },
    )


async def send_manage_links(email: str, *, client: str, site: Settings) -> int:
    """Email fresh manage links to a host's mailbox; return how many meetings.

    The old links keep working. Limited per client and per address, and the caller
    answers the same whatever the count, so nobody learns whether an address hosts.
    """
    address = normalize_email(email)
    await hit(f"recover:ip:{client}", RECOVER_PER_CLIENT, message=RECOVER_MESSAGE)
    await hit(f"recover:email:{address}", RECOVER_PER_ADDRESS, message=RECOVER_MESSAGE)
    hosted = await Meeting.filter(host__email=address, status__in=RECOVERABLE).select_related(
        "host"
    )
    if not hosted:
        return 0

    async def work() -> None:
        links = []
        for meeting in hosted:
            token = await issue_token(TokenKind.MEETING_MANAGE, meeting=meeting)
            links.append(
                {
                    "meeting": meeting,
                    "manage_url": urls.manage(site.base_url, meeting.public_id, token),
                }
            )
        await queue_email(
            "manage_links",
            to=hosted[0].host.email,
            context={"host": hosted[0].host, "links": links},
        )

    await atomically(work)
    return len(hosted)


async def replace_manage_links(meeting: Meeting, site: Settings) -> str:
    """Switch off every manage link of this meeting and email the host the one new link.

    From the manage page, when a link may have reached the wrong hands (a packet left
    behind, a forwarded email). Returns the new token, for the page to carry on with.
    """

    async def work() -> str:
        await revoke_tokens(TokenKind.MEETING_MANAGE, meeting=meeting)
        token = await issue_token(TokenKind.MEETING_MANAGE, meeting=meeting)
        await queue_email(
            "manage_links",
            to=meeting.host.email,
            context={
                "host": meeting.host,
                "links": [
                    {
                        "meeting": meeting,
                        "manage_url": urls.manage(site.base_url, meeting.public_id, token),
                    }
                ],
                "replaced": True,
            },
        )
        return token

    return await atomically(work)
