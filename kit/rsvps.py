"""Use cases for RSVPs: record, change, cancel, promote from the waitlist.

Seats are a counter on the meeting (``seats_taken``) moved only by a
conditional UPDATE (``... WHERE seats_taken + n <= capacity``) whose row count
says whether the seats were won. That is atomic on SQLite and PostgreSQL alike,
so simultaneous RSVPs can never overbook (``select_for_update`` is a no-op on
SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from kit.errors import Conflict
from kit.models import Meeting, MeetingStatus, Rsvp, RsvpSource, RsvpStatus
from kit.people import upsert_person


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


def check_open(meeting: Meeting, now: datetime) -> None:
    if meeting.status is MeetingStatus.CANCELLED:
        raise Conflict("This meeting was cancelled, so it no longer takes RSVPs.")
    if meeting.status is not MeetingStatus.PUBLISHED or meeting.starts_at <= now:
        raise Conflict("This meeting has already started, so RSVPs are closed.")


async def take_seats(meeting_id: int, seats: int) -> bool:
    """Hold ``seats`` if they are free; False when the meeting is too full."""
    if seats <= 0:
        await Meeting.filter(id=meeting_id).update(seats_taken=F("seats_taken") + seats)
        return True
    won = await Meeting.filter(id=meeting_id, seats_taken__lte=F("capacity") - seats).update(
        seats_taken=F("seats_taken") + seats
    )
    return won == 1


async def record_rsvp(meeting: Meeting, data: RsvpInput, now: datetime | None = None) -> Rsvp:
    """Confirm the RSVP if the whole party fits, else waitlist it; one RSVP per email."""
    check_open(meeting, now or datetime.now(UTC))
    async with in_transaction():
        person = await upsert_person(data.name, data.email, data.phone)
        rsvp = await Rsvp.get_or_none(meeting_id=meeting.id, person_id=person.id)
        held = rsvp.party_size if rsvp and rsvp.status is RsvpStatus.CONFIRMED else 0
        wanted = 1 + data.guests
        confirmed = await take_seats(meeting.id, wanted - held)
        if not confirmed and held:
            await take_seats(meeting.id, -held)  # the bigger party waits as a whole
        status = RsvpStatus.CONFIRMED if confirmed else RsvpStatus.WAITLISTED
        fields = {
            "guests": data.guests,
            "status": status,
            "note": data.note,
            "consent": data.consent,
        }
        if rsvp is None:
            rsvp = await Rsvp.create(
                meeting_id=meeting.id, person=person, source=data.source, ref=data.ref, **fields
            )
        else:
            rsvp.update_from_dict(fields)
            await rsvp.save()
    return rsvp
