"""Use cases for a host managing their meeting: the guest list, messages, invitations,
the share link and where RSVPs came from."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from kit import validation as v
from kit.errors import ValidationError
from kit.meetings import meeting_url
from kit.models import HostNotify, Meeting, Rsvp, RsvpSource, RsvpStatus
from kit.notifications import send_from_host
from kit.ratelimit import hit
from kit.settings import Settings
from kit.toolkit.spreadsheet import csv_text

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
    return f"{meeting_url(site.base_url, meeting)}?ref={code}&source={source.value}"


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


def guests_csv(guests: GuestList) -> str:
    """The guest list for the host's own use (the host is entitled to their contacts)."""
    header = "name email phone party_size status source note consent rsvp_at".split()
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
            r.created_at.isoformat(),
        ]
        for r in guests.rsvps
    )
    return csv_text(header, rows)


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
    problems: v.Problems = {}
    addresses = [a for a in SPLIT_EMAILS.split(text.strip()) if a]
    if not addresses:
        raise ValidationError({"emails": "Paste at least one email address."})
    if len(addresses) > MAX_INVITES:
        raise ValidationError({"emails": f"At most {MAX_INVITES} invitations at a time."})
    bad = [a for a in addresses if not v.EMAIL_RE.match(a)]
    if bad:
        problems["emails"] = "These don't look like email addresses: " + ", ".join(bad[:5])
        raise ValidationError(problems)
    return sorted({a.lower() for a in addresses})


async def invite_friends(meeting: Meeting, raw: dict[str, str], *, site: Settings) -> int:
    """Each friend gets a personal invitation from the host with the host's referral link."""
    p: v.Problems = {}
    note = v.text(raw, "note", p, label="Your note", max_length=2000, multiline=True)
    if p:
        raise ValidationError(p)
    friends = parse_invitees(raw.get("emails", ""))
    await hit(
        f"invite:meeting:{meeting.id}",
        site.rate_limit_message,
        message="You've sent several batches of invitations today. Please wait a while.",
    )
    url = tracked_url(meeting, site, RsvpSource.INVITATION)
    async with in_transaction():
        for friend in friends:
            await send_from_host(
                "invitation",
                meeting,
                friend,
                {"note": note, "invite_url": url},
                site,
                essential=False,
            )
    return len(friends)


async def set_host_notify(meeting: Meeting, value: str) -> None:
    if value not in {n.value for n in HostNotify}:
        raise ValidationError({"host_notify": "Choose each RSVP or a daily digest."})
    await Meeting.filter(id=meeting.id).update(host_notify=value)
