"""Use cases for a host managing their meeting: the guest list, messages, invitations,
the share link and where RSVPs came from."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from kit.core import urls
from kit.core import validation as v
from kit.core.errors import Conflict, ValidationError
from kit.core.rendering import plural
from kit.core.settings import Settings
from kit.meetings.notifications import opted_out, send_from_host
from kit.store.models import (
    Channel,
    HostNotify,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Person,
    Rsvp,
    RsvpSource,
    RsvpStatus,
)
from kit.store.ratelimit import hit
from kit.toolkit.spreadsheet import both_clocks, csv_text

MAX_INVITES = 50
SPLIT_EMAILS = re.compile(r"[\s,;]+")


def ref_code(meeting: Meeting, secret_key: str) -> str:
    """The host's referral code: derived, so it needs no storage and can't be guessed."""
    digest = hmac.new(secret_key.encode(), f"ref:{meeting.public_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:10]


def tracked_url(meeting: Meeting, site: Settings, source: RsvpSource) -> str:
    """The meeting page with the host's referral code and where the link was handed out.

    The RSVP form carries both along, so the host sees where RSVPs came from.
    """
    code = ref_code(meeting, site.secret_key)
    return urls.meeting(site.base_url, meeting.public_id, {"ref": code, "source": source.value})


def share_url(meeting: Meeting, site: Settings) -> str:
    return tracked_url(meeting, site, RsvpSource.SHARE)


@dataclass(frozen=True)
class GuestList:
    rsvps: list[Rsvp]
    confirmed_people: int
    waitlisted_people: int
    sources: dict[str, int]

    @property
    def confirmed(self) -> list[Rsvp]:
        return [r for r in self.rsvps if r.status is RsvpStatus.CONFIRMED]


async def guest_list(meeting: Meeting) -> GuestList:
    rsvps = (
        await Rsvp.filter(meeting_id=meeting.id)
        .order_by("created_at", "id")
        .select_related("person")
    )
    live = [r for r in rsvps if r.status is not RsvpStatus.CANCELLED]
    return GuestList(
        rsvps=rsvps,
        confirmed_people=sum(r.party_size for r in live if r.status is RsvpStatus.CONFIRMED),
        waitlisted_people=sum(r.party_size for r in live if r.status is RsvpStatus.WAITLISTED),
        sources=dict(Counter(r.source.value for r in live)),
    )


GUESTS_CSV_HEADER = (
    "name email phone party_size status source note consent rsvp_at rsvp_at_utc timezone"
).split()


def guests_csv(meeting: Meeting, guests: GuestList) -> str:
    """The guest list for the host's own use (the host is entitled to their contacts),
    ready for Excel: a byte-order mark, and times on the meeting's clock beside UTC."""
    zone = ZoneInfo(meeting.timezone)
    rows = (
        [
            r.person.name,
            r.person.email,
            r.person.phone or "",
            r.party_size,
            r.status.value,
            r.source.value,
            r.note,
            "yes" if r.consent else "no",
            *both_clocks(r.created_at, zone),
            meeting.timezone,
        ]
        for r in guests.rsvps
    )
    return csv_text(GUESTS_CSV_HEADER, rows, bom=True)  # opened in Excel


async def message_guests(meeting: Meeting, raw: dict[str, str], *, site: Settings) -> int:
    """Email the host's words to every confirmed guest (and the waitlist if asked)."""
    p: v.Problems = {}
    subject = v.text(raw, "subject", p, label="A subject", max_length=150, required=True)
    message = v.text(
        raw, "message", p, label="Your message", max_length=5000, required=True, multiline=True
    )
    if p:
        raise ValidationError(p)
    statuses = [RsvpStatus.CONFIRMED]
    if v.boolean(raw, "include_waitlist"):
        statuses.append(RsvpStatus.WAITLISTED)
    recipients = await Rsvp.filter(meeting_id=meeting.id, status__in=statuses).select_related(
        "person"
    )
    if not recipients:
        raise ValidationError({"message": "Nobody has RSVP'd yet, so there's no one to write to."})
    await hit(
        f"message:meeting:{meeting.id}",
        site.rate_limit_message,
        message="You've sent several messages today. Please wait before sending another.",
    )
    async with in_transaction():
        for rsvp in recipients:
            await send_from_host(
                "host_message",
                meeting,
                rsvp.person.email,
                {"guest": rsvp.person, "message": message, "subject_line": subject},
                site,
                essential=False,
            )
    return len(recipients)


def parse_invitees(text: str) -> list[str]:
    """The pasted addresses, lower-cased, each once (a repeat is no second invitation)."""
    problems: v.Problems = {}
    addresses = [a for a in SPLIT_EMAILS.split(text.strip()) if a]
    if not addresses:
        raise ValidationError({"emails": "Paste at least one email address."})
    bad = [a for a in addresses if not v.EMAIL_RE.match(a)]
    if bad:
        problems["emails"] = "These don't look like email addresses: " + ", ".join(bad[:5])
        raise ValidationError(problems)
    unique = sorted({a.lower() for a in addresses})
    if len(unique) > MAX_INVITES:
        raise ValidationError({"emails": f"At most {MAX_INVITES} invitations at a time."})
    return unique


# Invitations one host (the person, across all their meetings) may send in 24 hours. A
# house meeting invites 10 to 40 neighbors: 60 a day covers a whole street list, or two
# meetings. Before the host has proven their mailbox (a link the kit emailed them), 20:
# the closest friends. Organizers a coordinator vouches for invite whole lists: 250.
INVITES_PER_DAY_UNVERIFIED = 20
INVITES_PER_DAY = 60
INVITES_PER_DAY_TRUSTED = 250
INVITE_WINDOW = timedelta(days=1)


def daily_invitation_cap(host: Person) -> int:
    if host.trusted:
        return INVITES_PER_DAY_TRUSTED
    return INVITES_PER_DAY if host.email_verified_at is not None else INVITES_PER_DAY_UNVERIFIED


LINK_REMOVED = "[link removed]"
_DOT = "[.\uff0e\u3002\uff61]"  # and the dots that browsers read as one (IDNA)
# The rest of a link up to a space, but not the punctuation of the sentence around it.
_REST = r"(?:\S*[^\s.,;:!?'\")\]>])?"
_LINKS = [
    # [text](url) and <a href="url">text</a>: the text stays, and is checked itself.
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"<a\b[^>]*>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL), r"\1"),
    (re.compile(r"<a\b[^>]*>?", re.IGNORECASE), LINK_REMOVED),
    # Anything with a scheme (https://, mailto:, ...), www. and email addresses. Each
    # starts where a word starts, so a long word is read once, not once per letter.
    (re.compile(rf"\b[a-z][a-z0-9+.-]{{1,20}}://{_REST}", re.IGNORECASE), LINK_REMOVED),
    (re.compile(rf"\b(?:mailto|tel|sms|javascript|data):{_REST}", re.IGNORECASE), LINK_REMOVED),
    (re.compile(rf"\bwww{_DOT}{_REST}", re.IGNORECASE), LINK_REMOVED),
    (re.compile(rf"(?<![^\s<>()\[\]])[^\s@<>()\[\]]+@[^\s@]{_REST}"), LINK_REMOVED),
]
# Words joined by dots, and what follows a domain (a path, a port): a domain when a part
# after the first is a top-level name (evil.example, Evil.Com/login, пример.рф), and
# an IP address; "6.30pm", "e.g." and "$3.50" are not.
_DOTTED = re.compile(rf"(?<![\w-])[\w-]+(?:{_DOT}[\w-]+)+(?:[/:?#]{_REST})?")
_TOP_LEVEL = re.compile(r"[^\W\d_]{2,63}|xn--[\w-]+", re.IGNORECASE)
_IP = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _domain_removed(match: re.Match[str]) -> str:
    text = match.group(0)
    parts = re.split(_DOT, re.split(r"[/:?#]", text, maxsplit=1)[0])
    if _IP.fullmatch(".".join(parts)) or any(_TOP_LEVEL.fullmatch(p) for p in parts[1:]):
        return LINK_REMOVED
    return text


def strip_links(text: str) -> str:
    """The host's words without anything a mail client would make clickable. The kit's
    own button and link to the meeting are the only links an invitation needs, and a
    stranger's note is where a phishing link would go."""
    for pattern, replacement in _LINKS:
        text = pattern.sub(replacement, text)
    return _DOTTED.sub(_domain_removed, text)


def check_can_invite(meeting: Meeting, now: datetime) -> None:
    if meeting.status is MeetingStatus.AWAITING:
        raise Conflict(
            "Your meeting isn't published yet: confirm your email address with the link we "
            "sent you, and then invite your friends."
        )
    if meeting.status is MeetingStatus.PENDING:
        raise Conflict(
            "Your meeting is waiting for a coordinator's approval. You can invite friends "
            "once it's published."
        )
    if meeting.status is not MeetingStatus.PUBLISHED:
        raise Conflict(f"This meeting is {meeting.status}, so there is nothing to invite to.")
    if meeting.ends_at <= now:
        raise Conflict("This meeting has already taken place.")


def _over_cap(cap: int, sent: int, wanted: int, verified: bool) -> ValidationError:
    more = "" if verified else f" Hosts who have confirmed their email can send {INVITES_PER_DAY}."
    if sent >= cap:
        text = f"You've sent {sent} invitations in the last 24 hours, the most for a day."
        return ValidationError({"emails": f"{text} You can invite more tomorrow.{more}"})
    more_today = plural(cap - sent, "more invitation", "more invitations")
    text = f"You can send {more_today} today (at most {cap} a day)"
    return ValidationError({"emails": f"{text}; this list has {wanted}.{more}"})


async def invite_friends(
    meeting: Meeting, raw: dict[str, str], *, site: Settings, now: datetime | None = None
) -> int:
    """Each friend gets a personal invitation from the host with the host's referral link,
    up to the host's daily cap. Returns how many were queued (people who unsubscribed
    from the kit's mail get none)."""
    now = now or datetime.now(UTC)
    check_can_invite(meeting, now)
    p: v.Problems = {}
    note = v.text(raw, "note", p, label="Your note", max_length=2000, multiline=True)
    if p:
        raise ValidationError(p)
    friends = [f for f in parse_invitees(raw.get("emails", "")) if f != meeting.host.email]
    url = tracked_url(meeting, site, RsvpSource.INVITATION)
    async with in_transaction():
        # One batch per host at a time (PostgreSQL; SQLite's transactions take the write
        # lock up front), so two batches can't both fit under the cap.
        host = await Person.filter(id=meeting.host.id).select_for_update().get()
        sent = await OutboxMessage.filter(
            channel=Channel.EMAIL,
            kind="invitation",
            meeting__host_id=host.id,
            created_at__gt=now - INVITE_WINDOW,
        ).count()
        cap = daily_invitation_cap(host)
        if sent + len(friends) > cap:
            raise _over_cap(cap, sent, len(friends), host.email_verified_at is not None)
        context = invitation_context(meeting, note, url, trusted=host.trusted)
        queued = 0
        for friend in friends:
            if await opted_out(friend):
                continue
            await send_from_host("invitation", meeting, friend, context, site, essential=False)
            queued += 1
    return queued


def invitation_context(meeting: Meeting, note: str, url: str, *, trusted: bool) -> dict[str, Any]:
    """What the invitation shows of the host's own words: the note, the title and the
    start of the description, without links unless a coordinator trusts the host (the
    description would otherwise carry the link a note may not)."""
    clean = (lambda text: text) if trusted else strip_links
    description = meeting.description.strip()
    if len(description) > 300:
        description = description[:300].rsplit(" ", 1)[0] + " ..."
    return {
        "note": clean(note.replace("\r\n", "\n").strip()),
        "title": clean(meeting.title),
        "description": clean(description),
        "invite_url": url,
    }


async def set_host_notify(meeting: Meeting, value: str) -> None:
    if value not in {n.value for n in HostNotify}:
        raise ValidationError({"host_notify": "Choose each RSVP or a daily digest."})
    await Meeting.filter(id=meeting.id).update(host_notify=value)
