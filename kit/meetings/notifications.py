"""Which email each event sends, to whom, with which invite: personal notes from the host.

Every function here only queues (``kit.outbox.email.queue_email``) inside the
caller's transaction. An RSVP's emails are queued as their facts (``RSVP_FACTS``: ids,
the guest's link, whether the address is revealed) and rendered just after the commit
by ``kit.meetings.rsvps``, or at delivery by ``render_rsvp_facts`` if the process died
in between: the same email either way. Messages go out as "<host first name> via House Meeting
Kit", are signed by the host, carry a Reply-To to the host only when the host
allowed it, and have List-Unsubscribe headers (honored for non-essential mail).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeSerializer

from kit.core import urls
from kit.core.settings import Settings
from kit.meetings.calendar_events import render_invite
from kit.outbox import email as mail_queue
from kit.store.models import (
    Channel,
    EmailOptOut,
    Meeting,
    OutboxMessage,
    Person,
    Rsvp,
    RsvpStatus,
    TokenKind,
)
from kit.store.tokens import issue_token

APP_NAME = "House Meeting Kit"
# Emails about a meeting that only help before it starts: their outbox rows expire then.
BEFORE_THE_MEETING = frozenset(
    {
        "reminder",
        "rsvp_confirmed",
        "rsvp_promoted",
        "rsvp_waitlisted",
        "rsvp_requested",
        "rsvp_again",
        "rsvp_removed",
        "rsvp_cancelled",
        "meeting_changed",
        "meeting_cancelled",
        "host_new_rsvp",
        "host_guest_cancelled",
        "host_digest",
    }
)


def unsubscribe_token(email: str, secret_key: str) -> str:
    return URLSafeSerializer(secret_key, salt="unsubscribe").dumps(email.lower())


def email_from_unsubscribe_token(token: str, secret_key: str) -> str | None:
    try:
        value = URLSafeSerializer(secret_key, salt="unsubscribe").loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def unsubscribe_url(email: str, site: Settings) -> str:
    return urls.unsubscribe(site.base_url, unsubscribe_token(email, site.secret_key))


def sender_name(meeting: Meeting) -> str:
    return f"{meeting.host.first_name} via {APP_NAME}"


async def opted_out(email: str) -> bool:
    return await EmailOptOut.filter(email=email.lower()).exists()


async def sent_recently(kind: str, to: str, meeting_id: int, since: datetime) -> bool:
    """Was an email of this kind queued for this address and meeting since ``since``?"""
    return await OutboxMessage.filter(
        channel=Channel.EMAIL, recipient=to, kind=kind, meeting_id=meeting_id, created_at__gt=since
    ).exists()


async def send_from_host(
    kind: str,
    meeting: Meeting,
    to: str,
    context: dict[str, Any],
    site: Settings,
    *,
    essential: bool = True,
    invite: bytes | Callable[[], bytes] | None = None,
    method: Literal["REQUEST", "CANCEL"] = "REQUEST",
    facts: dict[str, Any] | None = None,
    to_opted_out: bool | None = None,
) -> None:
    """Queue one email written as the host; non-essential mail skips people who opted out.

    ``invite`` may be a function (called when the email is rendered); ``facts`` let the
    rendering wait for the commit (kit.outbox.email.rendering_after_commit);
    ``to_opted_out``: whether ``to`` opted out, when the caller read it already."""
    if not essential and (await opted_out(to) if to_opted_out is None else to_opted_out):
        return
    message = host_message(kind, meeting, to, context, site, essential=essential)
    await mail_queue.queue_email(
        kind,
        to=to,
        meeting=meeting,
        attachments=lambda: invite_attachments(invite, method),
        expires_at=meeting.starts_at if kind in BEFORE_THE_MEETING else None,
        facts=None if facts is None else {**facts, "essential": essential},
        **message,
    )


def invite_attachments(
    invite: bytes | Callable[[], bytes] | None, method: Literal["REQUEST", "CANCEL"]
) -> list[dict[str, str]]:
    if invite is None:
        return []
    data = invite() if callable(invite) else invite
    return [
        {
            "filename": "invite.ics",
            "content_type": f"text/calendar; method={method}; charset=UTF-8",
            "text": data.decode(),
        }
    ]


def host_message(
    kind: str,
    meeting: Meeting,
    to: str,
    context: dict[str, Any],
    site: Settings,
    *,
    essential: bool,
) -> dict[str, Any]:
    """Sender, Reply-To, headers and template context of one email written as the host."""
    link = unsubscribe_url(to, site)
    to_host = to.lower() == meeting.host.email
    return {
        # Mail to the host themselves (new RSVPs, their own copy, the guest mails of a host
        # on their own list) is from the kit, not "Ada", and Reply-To would point at them.
        "sender_name": APP_NAME if to_host else sender_name(meeting),
        "reply_to": meeting.host.email if meeting.reply_to_host and not to_host else "",
        "headers": {
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "context": {
            "meeting": meeting,
            "host": meeting.host,
            "site": site.public,
            "meeting_url": urls.meeting(site.base_url, meeting.public_id),
            "unsubscribe_url": link,
            "essential": essential,
            **context,
        },
    }


def invite_for(
    meeting: Meeting,
    person: Person,
    site: Settings,
    *,
    method: Literal["REQUEST", "CANCEL"] = "REQUEST",
    exact: bool = True,
    manage_url: str | None = None,
) -> bytes:
    """``manage_url``: the person's own RSVP link, where a fresh token is at hand."""
    return render_invite(
        meeting,
        base_url=site.base_url,
        organizer_email=site.mail_from,
        attendee=person,
        sequence=meeting.sequence,
        method=method,
        exact=exact,
        manage_url=manage_url,
    )


RSVP_FACTS = "rsvp_recorded"


async def rsvp_recorded(
    meeting: Meeting,
    rsvp: Rsvp,
    person: Person,
    token: str,
    *,
    site: Settings,
    exact: bool,
    tell_host: bool = True,
    host_opted_out: bool | None = None,
) -> None:
    """The guest's confirmation (with the invite), waitlist or request note, each with the
    link to their private page; and a word to the host.

    ``exact``: the confirmation may carry the exact address (kit.meetings.rsvps.reveal_address).
    ``host_opted_out``: read with the meeting already (None: looked up here).
    """
    link = urls.rsvp_manage(site.base_url, token)
    context = {"rsvp": rsvp, "guest": person, "rsvp_url": link, "exact": exact}
    facts = {
        "renderer": RSVP_FACTS,
        "meeting_id": meeting.id,
        "rsvp_id": rsvp.id,
        "rsvp_url": link,
        "exact": exact,
    }
    kind = GUEST_KINDS[rsvp.status]
    invite = None
    if rsvp.status is RsvpStatus.CONFIRMED:
        invite = lambda: invite_for(meeting, person, site, exact=exact, manage_url=link)  # noqa: E731
    await send_from_host(kind, meeting, person.email, context, site, invite=invite, facts=facts)
    if not tell_host or person.id == meeting.host_id:  # type: ignore[attr-defined]
        return
    if rsvp.status is RsvpStatus.REQUESTED:  # the host must answer: not a digest line
        await send_from_host(
            "host_new_rsvp", meeting, meeting.host.email, context, site, facts=facts
        )
    elif meeting.host_notify == "each":
        await send_from_host(
            "host_new_rsvp",
            meeting,
            meeting.host.email,
            context,
            site,
            essential=False,
            facts=facts,
            to_opted_out=host_opted_out,
        )


GUEST_KINDS = {
    RsvpStatus.CONFIRMED: "rsvp_confirmed",
    RsvpStatus.REQUESTED: "rsvp_requested",
    RsvpStatus.WAITLISTED: "rsvp_waitlisted",
}


async def render_rsvp_facts(kind: str, facts: dict[str, Any], site: Settings) -> dict[str, Any]:
    """The payload of an email ``rsvp_recorded`` queued as facts, rendered at delivery."""
    meeting = await Meeting.get(id=facts["meeting_id"]).select_related("host", "campaign")
    rsvp = await Rsvp.get(id=facts["rsvp_id"]).select_related("person")
    person, exact, link = rsvp.person, facts["exact"], facts["rsvp_url"]
    context = {"rsvp": rsvp, "guest": person, "rsvp_url": link, "exact": exact}
    to = meeting.host.email if kind == "host_new_rsvp" else person.email
    message = host_message(kind, meeting, to, context, site, essential=facts["essential"])
    invite = None
    if kind == "rsvp_confirmed":
        invite = invite_for(meeting, person, site, exact=exact, manage_url=link)
    return mail_queue.email_payload(
        kind, attachments=invite_attachments(invite, "REQUEST"), **message
    )


mail_queue.register_renderer(RSVP_FACTS, render_rsvp_facts)


async def rsvp_repeated(
    meeting: Meeting, rsvp: Rsvp, person: Person, token: str, *, site: Settings
) -> None:
    """Someone RSVPed again with an address that already holds an RSVP here: its owner
    gets a fresh link to their own RSVP; nothing else changes."""
    context = {"rsvp": rsvp, "guest": person, "rsvp_url": urls.rsvp_manage(site.base_url, token)}
    await send_from_host("rsvp_again", meeting, person.email, context, site)


async def fresh_rsvp_url(rsvp: Rsvp, site: Settings) -> str:
    """A new link to the guest's own page: tokens are stored hashed, so the one in their
    confirmation can't be read back. Call it in the transaction that queues the email,
    so the link and the message are saved (or dropped) together."""
    return urls.rsvp_manage(site.base_url, await issue_token(TokenKind.RSVP_MANAGE, rsvp=rsvp))


async def send_invite_update(
    kind: str, meeting: Meeting, rsvp: Rsvp, context: dict[str, Any], *, site: Settings
) -> None:
    """Queue a guest's REQUEST email with their own change/cancel link, in the email and
    in the invite's description."""
    person, exact = rsvp.person, context["exact"]
    link = await fresh_rsvp_url(rsvp, site)
    invite = invite_for(meeting, person, site, exact=exact, manage_url=link)
    context = {"rsvp": rsvp, "guest": person, "rsvp_url": link, **context}
    await send_from_host(kind, meeting, person.email, context, site, invite=invite)


async def rsvp_promoted(meeting: Meeting, rsvp: Rsvp, *, site: Settings, exact: bool) -> None:
    await send_invite_update("rsvp_promoted", meeting, rsvp, {"exact": exact}, site=site)


async def rsvp_removed(meeting: Meeting, rsvp: Rsvp, *, was: RsvpStatus, site: Settings) -> None:
    """The host took a guest off the list (or declined their request): a kind word, and
    the event off their calendar if it was there."""
    person = await Person.get(id=rsvp.person_id)  # type: ignore[attr-defined]
    confirmed = was is RsvpStatus.CONFIRMED
    invite = invite_for(meeting, person, site, method="CANCEL") if confirmed else None
    context = {"rsvp": rsvp, "guest": person, "requested": was is RsvpStatus.REQUESTED}
    await send_from_host(
        "rsvp_removed", meeting, person.email, context, site, invite=invite, method="CANCEL"
    )


async def rsvp_cancelled(
    meeting: Meeting, rsvp: Rsvp, *, was_confirmed: bool, site: Settings
) -> None:
    """Take the event off the guest's calendar, and tell the host a seat is free."""
    person = await Person.get(id=rsvp.person_id)  # type: ignore[attr-defined]
    context = {"rsvp": rsvp, "guest": person, "was_confirmed": was_confirmed}
    invite = invite_for(meeting, person, site, method="CANCEL") if was_confirmed else None
    await send_from_host(
        "rsvp_cancelled", meeting, person.email, context, site, invite=invite, method="CANCEL"
    )
    if person.id == meeting.host_id:  # type: ignore[attr-defined]
        return  # the host needn't hear that they cancelled
    await send_from_host(
        "host_guest_cancelled", meeting, meeting.host.email, context, site, essential=False
    )


async def confirmed_guests(meeting: Meeting) -> list[Rsvp]:
    return await Rsvp.filter(meeting_id=meeting.id, status=RsvpStatus.CONFIRMED).select_related(
        "person"
    )


def address_sent(meeting: Meeting, rsvp: Rsvp) -> bool:
    """Does this guest already have the exact address (kit.meetings.rsvps.reveal_address)?"""
    return meeting.kind.value == "public" or rsvp.address_sent_at is not None


async def meeting_changed(meeting: Meeting, changes: list[str], *, site: Settings) -> None:
    """Re-send every confirmed guest's invite (SEQUENCE already bumped) with what changed."""
    for rsvp in await confirmed_guests(meeting):
        context = {"changes": changes, "exact": address_sent(meeting, rsvp)}
        await send_invite_update("meeting_changed", meeting, rsvp, context, site=site)


async def meeting_cancelled(meeting: Meeting, *, site: Settings) -> None:
    guests = (
        await Rsvp.filter(meeting_id=meeting.id)
        .exclude(status=RsvpStatus.CANCELLED)
        .select_related("person")
    )
    for rsvp in guests:
        confirmed = rsvp.status is RsvpStatus.CONFIRMED
        invite = invite_for(meeting, rsvp.person, site, method="CANCEL") if confirmed else None
        await send_from_host(
            "meeting_cancelled",
            meeting,
            rsvp.person.email,
            {"rsvp": rsvp, "guest": rsvp.person},
            site,
            invite=invite,
            method="CANCEL",
        )
