"""Use cases for RSVPs: record, change, cancel, promote from the waitlist.

Seats are a counter on the meeting (``seats_taken``) moved only by a
conditional UPDATE (``... WHERE seats_taken + n <= capacity``) whose row count
says whether the seats were won. That is atomic on SQLite and PostgreSQL alike,
so simultaneous RSVPs can never overbook (``select_for_update`` is a no-op on
SQLite). Every change and the emails it causes commit in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from kit import notifications, tallies
from kit import validation as v
from kit.errors import Conflict, NotFound, ValidationError
from kit.models import Meeting, MeetingStatus, Rsvp, RsvpSource, RsvpStatus, TokenKind
from kit.people import upsert_person
from kit.settings import Settings
from kit.tokens import find_token, issue_token

MAX_GUESTS = 5


class RsvpNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("We couldn't find that RSVP. The link may be mistyped or out of date.")


@dataclass(frozen=True)
class RsvpInput:
    name: str
    email: str
    phone: str | None = None
    guests: int = 0
    note: str = ""
    consent: bool = False
    source: RsvpSource = RsvpSource.DIRECT
    ref: str = ""


@dataclass(frozen=True)
class RsvpOutcome:
    rsvp: Rsvp
    manage_token: str

    @property
    def confirmed(self) -> bool:
        return self.rsvp.status is RsvpStatus.CONFIRMED


SOURCES = {s.value for s in RsvpSource} - {RsvpSource.DEMO.value}


def parse_rsvp_input(raw: Mapping[str, Any]) -> RsvpInput:
    p: v.Problems = {}
    source = str(raw.get("source") or "direct")
    data = RsvpInput(
        name=v.text(raw, "name", p, label="Your name", max_length=120, required=True),
        email=v.email(raw, "email", p),
        phone=v.phone(raw, "phone", p),
        guests=v.integer(raw, "guests", p, label="Guests", default=0, minimum=0, maximum=MAX_GUESTS)
        or 0,
        note=v.text(raw, "note", p, label="Your note", max_length=1000, multiline=True),
        consent=v.boolean(raw, "consent"),
        source=RsvpSource(source) if source in SOURCES else RsvpSource.DIRECT,
        ref=v.text(raw, "ref", p, label="The referral code", max_length=32),
    )
    if p:
        raise ValidationError(p)
    return data


def check_open(meeting: Meeting, now: datetime) -> None:
    if meeting.status is MeetingStatus.CANCELLED:
        raise Conflict("This meeting was cancelled, so it no longer takes RSVPs.")
    if meeting.status is not MeetingStatus.PUBLISHED or meeting.starts_at <= now:
        raise Conflict("This meeting has already started, so RSVPs are closed.")


async def take_seats(meeting_id: int, seats: int) -> bool:
    """Hold ``seats`` more (or release them, when negative); False when they don't fit."""
    if seats <= 0:
        await Meeting.filter(id=meeting_id).update(seats_taken=F("seats_taken") + seats)
        return True
    won = await Meeting.filter(id=meeting_id, seats_taken__lte=F("capacity") - seats).update(
        seats_taken=F("seats_taken") + seats
    )
    return won == 1


async def record_rsvp(
    meeting: Meeting,
    data: RsvpInput,
    *,
    site: Settings,
    now: datetime | None = None,
    notify: bool = True,
) -> RsvpOutcome:
    """Confirm the party if it fits, else waitlist it; the same email updates its RSVP."""
    check_open(meeting, now or datetime.now(UTC))
    for attempt in range(3):
        try:
            return await _record(meeting, data, site=site, notify=notify)
        except IntegrityError:
            # Two first RSVPs from one email raced on the unique (meeting, person) or
            # person email: the loser retries and finds the winner's row.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _record(
    meeting: Meeting, data: RsvpInput, *, site: Settings, notify: bool
) -> RsvpOutcome:
    async with in_transaction():
        person = await upsert_person(data.name, data.email, data.phone)
        rsvp = await Rsvp.get_or_none(meeting_id=meeting.id, person_id=person.id)
        if rsvp is not None and rsvp.status is not RsvpStatus.CANCELLED:
            status = await _resize(meeting, rsvp, data.guests)
            rsvp.update_from_dict(
                {
                    "guests": data.guests,
                    "status": status,
                    "note": data.note,
                    "consent": data.consent or rsvp.consent,
                }
            )
            await rsvp.save()
        else:
            fits = await take_seats(meeting.id, 1 + data.guests)
            if not fits and not meeting.waitlist_enabled:
                raise Conflict("This meeting is full, and its host isn't keeping a waitlist.")
            status = RsvpStatus.CONFIRMED if fits else RsvpStatus.WAITLISTED
            fields = {
                "guests": data.guests,
                "status": status,
                "note": data.note,
                "consent": data.consent,
                "source": data.source,
                "ref": data.ref,
                "created_at": datetime.now(UTC),
            }
            if rsvp is None:
                rsvp = await Rsvp.create(meeting_id=meeting.id, person=person, **fields)
            else:
                rsvp.update_from_dict(fields)
                await rsvp.save()
        token = await issue_token(TokenKind.RSVP_MANAGE, rsvp=rsvp)
        await promote_waitlist(meeting.id, site=site, notify=notify)
        await tallies.refresh(meeting.id)
        await rsvp.refresh_from_db()
        if notify:
            fresh = await _meeting_for_mail(meeting.id)
            await notifications.rsvp_recorded(fresh, rsvp, person, token, site=site)
    return RsvpOutcome(rsvp, token)


async def _resize(meeting: Meeting, rsvp: Rsvp, guests: int) -> RsvpStatus:
    """Change a live RSVP's party size; a confirmed party keeps its seats if it can't grow."""
    if rsvp.status is RsvpStatus.WAITLISTED:
        return RsvpStatus.WAITLISTED  # keeps its place in line; promotion decides
    delta = guests - rsvp.guests
    if not await take_seats(meeting.id, delta):
        free = max(meeting.capacity - (await Meeting.get(id=meeting.id)).seats_taken, 0)
        raise ValidationError(
            {
                "guests": (
                    f"Only {free} more seat{'s' if free != 1 else ''} free: you're still confirmed "
                    f"for {rsvp.party_size}."
                )
            }
        )
    return RsvpStatus.CONFIRMED


async def promote_waitlist(meeting_id: int, *, site: Settings, notify: bool = True) -> list[Rsvp]:
    """Confirm waiting parties, first come first served, while whole parties fit."""
    promoted: list[Rsvp] = []
    meeting = await Meeting.get(id=meeting_id).only("id", "capacity", "seats_taken")
    free = meeting.capacity - meeting.seats_taken
    if free <= 0:
        return promoted  # the usual case on a full meeting: no query per waiting party
    waiting = (
        await Rsvp.filter(meeting_id=meeting_id, status=RsvpStatus.WAITLISTED, guests__lt=free)
        .order_by("created_at", "id")
        .select_related("person")
    )
    for rsvp in waiting:
        # take_seats stays the guard against a concurrent RSVP taking the seats first.
        if rsvp.party_size <= free and await take_seats(meeting_id, rsvp.party_size):
            free -= rsvp.party_size
            rsvp.status = RsvpStatus.CONFIRMED
            await rsvp.save(update_fields=["status", "updated_at"])
            promoted.append(rsvp)
    if promoted and notify:
        meeting = await _meeting_for_mail(meeting_id)
        for rsvp in promoted:
            await notifications.rsvp_promoted(meeting, rsvp, site=site)
    return promoted


async def get_rsvp_by_token(token: str | None) -> Rsvp:
    access = await find_token(token, TokenKind.RSVP_MANAGE)
    if access is None:
        raise RsvpNotFound()
    rsvp = await Rsvp.get_or_none(id=access.rsvp_id).select_related(  # type: ignore[attr-defined]
        "person", "meeting", "meeting__host", "meeting__campaign"
    )
    if rsvp is None:
        raise RsvpNotFound()
    return rsvp


async def change_guests(rsvp: Rsvp, guests: int, *, site: Settings) -> Rsvp:
    if not 0 <= guests <= MAX_GUESTS:
        raise ValidationError({"guests": f"Guests must be between 0 and {MAX_GUESTS}."})
    if rsvp.status is RsvpStatus.CANCELLED:
        raise Conflict("This RSVP was cancelled. RSVP again from the meeting page.")
    check_open(rsvp.meeting, datetime.now(UTC))
    async with in_transaction():
        status = await _resize(rsvp.meeting, rsvp, guests)
        rsvp.guests, rsvp.status = guests, status
        await rsvp.save(update_fields=["guests", "status", "updated_at"])
        await promote_waitlist(rsvp.meeting_id, site=site)  # type: ignore[attr-defined]
    return rsvp


async def cancel_rsvp(rsvp: Rsvp, *, site: Settings) -> Rsvp:
    """The guest can't come: free their seats, tell the host, promote whoever waits."""
    if rsvp.status is RsvpStatus.CANCELLED:
        return rsvp
    async with in_transaction():
        if rsvp.status is RsvpStatus.CONFIRMED:
            await take_seats(rsvp.meeting_id, -rsvp.party_size)  # type: ignore[attr-defined]
        was_confirmed = rsvp.status is RsvpStatus.CONFIRMED
        rsvp.status = RsvpStatus.CANCELLED
        await rsvp.save(update_fields=["status", "updated_at"])
        meeting = await _meeting_for_mail(rsvp.meeting_id)  # type: ignore[attr-defined]
        await notifications.rsvp_cancelled(meeting, rsvp, was_confirmed=was_confirmed, site=site)
        await promote_waitlist(meeting.id, site=site)
        await tallies.refresh(meeting.id)
    return rsvp


async def _meeting_for_mail(meeting_id: int) -> Meeting:
    return await Meeting.get(id=meeting_id).select_related("host", "campaign")
