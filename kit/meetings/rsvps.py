"""Use cases for RSVPs: record, change, cancel, promote from the waitlist; and the host's
say over the guest list (approve, decline, remove).

Identity: an RSVP form proves nothing about who typed the email address. So the
answer to a form is the same whether the address was known or not ("we've emailed
your details to …"), it never carries a link to an RSVP, and it never changes an RSVP
or a person that existed before the request. The guest's private page (exact address,
changes, calendar feed) is reached only from the link emailed to that mailbox.

Seats: a meeting's ``seats_taken`` is the sum of its confirmed parties. Every change
runs in one transaction that first locks the meeting's row (kit.store.transactions), then
reads the RSVP afresh and decides on what it reads, so a double-clicked "Update" or two
tabs can't count a change twice; seats move only by conditional UPDATEs that can't go
below zero or past the capacity, which the database also refuses (migration 0008).
Every change and the emails it causes commit in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import Tortoise
from tortoise.exceptions import DoesNotExist, IntegrityError

from kit.core import validation as v
from kit.core.errors import Conflict, NotFound, ValidationError
from kit.core.settings import Settings
from kit.meetings import notifications, tallies
from kit.outbox import email as mail_queue
from kit.store.models import (
    Campaign,
    Meeting,
    MeetingStatus,
    Person,
    Rsvp,
    RsvpSource,
    RsvpStatus,
    TokenKind,
)
from kit.store.people import add_or_find_person, update_person
from kit.store.sql import SqlParams, model_from_row, query_dicts, select_columns
from kit.store.tokens import find_token, issue_token
from kit.store.transactions import atomically, lock_meeting

MAX_GUESTS = 5
LIVE = (RsvpStatus.CONFIRMED, RsvpStatus.WAITLISTED, RsvpStatus.REQUESTED)
# "Someone asked to RSVP with your address": at most one such email per RSVP this often.
REPEAT_EMAIL_EVERY = timedelta(minutes=30)
# The exact address goes out at most this many times a day per meeting, on top of the
# seats and the waitlist: real churn (cancellations, new guests) stays well under it.
ADDRESS_MARGIN = 10
ADDRESS_WINDOW = timedelta(days=1)
FULL = "This meeting is full, and its host isn't keeping a waitlist."


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

    @property
    def party_size(self) -> int:
        return 1 + self.guests


@dataclass(frozen=True)
class RsvpReceipt:
    """What the person who sent the form is told: the same whether the email was known.

    ``status`` is what a new RSVP for this party gets at this moment, which anyone can
    work out from the public seat count, so it tells nothing about the address.
    """

    email: str
    status: RsvpStatus

    @property
    def confirmed(self) -> bool:
        return self.status is RsvpStatus.CONFIRMED


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


def issued_ref(meeting: Meeting, ref: str, secret_key: str) -> str:
    """The referral code if the kit issued it for this meeting, else nothing.

    A made-up code would credit RSVPs to a referrer who never sent anyone.
    """
    from kit.meetings.hosttools import ref_code  # hosttools imports meetings, which imports us

    if ref and hmac.compare_digest(ref, ref_code(meeting, secret_key)):
        return ref
    return ""


def check_open(meeting: Meeting, now: datetime) -> None:
    if meeting.status is MeetingStatus.CANCELLED:
        raise Conflict("This meeting was cancelled, so it no longer takes RSVPs.")
    if meeting.status is not MeetingStatus.PUBLISHED or meeting.starts_at <= now:
        raise Conflict("This meeting has already started, so RSVPs are closed.")


def status_for_new(meeting: Meeting, party_size: int) -> RsvpStatus:
    """What a new RSVP of this size gets now, from the locked meeting row."""
    if meeting.capacity - meeting.seats_taken >= party_size:
        return RsvpStatus.REQUESTED if meeting.approve_guests else RsvpStatus.CONFIRMED
    if not meeting.waitlist_enabled:
        raise Conflict(FULL)
    return RsvpStatus.REQUESTED if meeting.approve_guests else RsvpStatus.WAITLISTED


async def take_seats(meeting_id: int, seats: int) -> bool:
    """Hold ``seats`` more (or release them, when negative); False when that can't be done.

    Both directions are conditional: never past the capacity, never below zero. One raw
    UPDATE (what ``Meeting.filter(...).update(seats_taken=F(...) + seats)`` wrote, without
    its query building on every RSVP).
    """
    if seats == 0:
        return True
    conn = Tortoise.get_connection("default")  # the transaction's, inside one
    p = SqlParams(conn.capabilities.dialect)
    add, meeting = p.add(seats), p.add(meeting_id)
    bound = ">= 0" if seats < 0 else "<= capacity"
    changed, _ = await conn.execute_query(
        f"UPDATE meeting SET seats_taken = seats_taken + {add} "
        f"WHERE id = {meeting} AND seats_taken + {add} {bound}",
        p.values,
    )
    return changed == 1


async def release_seats(meeting_id: int, seats: int) -> None:
    if not await take_seats(meeting_id, -seats):
        # Only a bug elsewhere can get here: the seats counter disagrees with the RSVPs.
        raise Conflict("The seat count of this meeting is out of step. Please try again.")


async def record_rsvp(
    meeting: Meeting,
    data: RsvpInput,
    *,
    site: Settings,
    now: datetime | None = None,
    notify: bool = True,
) -> RsvpReceipt:
    """Confirm the party if it fits, else waitlist it (or ask the host, if the host
    approves each guest). An address that already holds a live RSVP here changes
    nothing: its owner is emailed a link to their RSVP instead."""
    now = now or datetime.now(UTC)
    check_open(meeting, now)
    data = replace(data, ref=issued_ref(meeting, data.ref, site.secret_key))
    # The emails are queued as facts in the transaction and rendered once it committed:
    # rendering (two emails and an invite) no longer holds the meeting's lock (PostgreSQL)
    # or the database's write lock (SQLite).
    async with mail_queue.rendering_after_commit() as deferred:

        async def work() -> RsvpReceipt:
            deferred.clear()  # a retried transaction queues its emails again
            return await _record(meeting.id, data, site, now, notify)

        for attempt in range(3):
            try:
                return await atomically(work)
            except IntegrityError:
                # Two first RSVPs from one email raced on the unique (meeting, person):
                # the loser runs again and finds the winner's row.
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")


async def _record(
    meeting_id: int, data: RsvpInput, site: Settings, now: datetime, notify: bool
) -> RsvpReceipt:
    # Locked (PostgreSQL) and read once, with the host and campaign its emails show.
    meeting, host_opted_out = await lock_meeting_for_rsvp(meeting_id)
    check_open(meeting, now)
    status = status_for_new(meeting, data.party_size)
    person, added = await add_or_find_person(data.name, data.email, data.phone)
    # A person added by this transaction can have no RSVP yet.
    rsvp = None if added else await Rsvp.get_or_none(meeting_id=meeting.id, person_id=person.id)
    if rsvp is not None and rsvp.status in LIVE:
        if notify:
            await _remind_of_rsvp(meeting, rsvp, person, site, now)
        return RsvpReceipt(person.email, status)
    if status is RsvpStatus.CONFIRMED:
        if await take_seats(meeting.id, data.party_size):
            meeting.seats_taken += data.party_size  # what the row now says: it is locked
        elif not meeting.waitlist_enabled:
            # Can't happen while the row is locked; if it does, the waitlist is the safe
            # answer.
            raise Conflict(FULL)
        else:
            status = RsvpStatus.WAITLISTED
    # One read counts the parties waiting and the exact addresses sent today: when nobody
    # waits (the usual case) promotion has nothing to read, and the count stands for the
    # address cap below as long as nobody was promoted.
    counts = None
    free = meeting.capacity - meeting.seats_taken
    if status is RsvpStatus.CONFIRMED and (free > 0 or (notify and meeting.kind.value != "public")):
        counts = await _address_counts(meeting, now)
    # Waiting parties come first; a new waitlisted party didn't fit, so it isn't one of them.
    if counts is None or counts[1] > 0:
        if await promote_waitlist(meeting.id, site=site, notify=notify, meeting=meeting):
            counts = None  # promoted guests changed both counts: read them again
    fields: dict[str, Any] = {
        "guests": data.guests,
        "status": status,
        "note": data.note,
        # What a form says never changes a stored consent (only the guest's own page does).
        "consent": data.consent if rsvp is None else rsvp.consent,
        "source": data.source,
        "ref": data.ref,
        "created_at": now,
        "reminded_at": None,
        # Decided before the row is written, so it is written once: the counts it reads
        # are the same (a new confirmed RSVP is neither waiting nor has the address yet).
        "address_sent_at": None,
    }
    exact = (
        notify
        and status is RsvpStatus.CONFIRMED
        and (_under_cap(meeting, counts) if counts is not None else await _may_reveal(meeting, now))
    )
    if exact and meeting.kind.value != "public":
        fields["address_sent_at"] = now
    if rsvp is None:
        rsvp = await Rsvp.create(meeting_id=meeting.id, person=person, **fields)
    else:  # a cancelled RSVP made again: as a new one
        rsvp.update_from_dict(fields)
        await rsvp.save()
    await tallies.refresh(meeting.id, locked=True)
    if notify:
        token = await issue_token(TokenKind.RSVP_MANAGE, rsvp=rsvp)
        await notifications.rsvp_recorded(
            meeting, rsvp, person, token, site=site, exact=exact, host_opted_out=host_opted_out
        )
    return RsvpReceipt(person.email, status)


async def _remind_of_rsvp(
    meeting: Meeting, rsvp: Rsvp, person: Person, site: Settings, now: datetime
) -> None:
    """Email the owner of an address that RSVPed again a fresh link to their RSVP.

    ``meeting``: read with its host and campaign (``lock_meeting_for_rsvp``)."""
    since = now - REPEAT_EMAIL_EVERY
    if await notifications.sent_recently("rsvp_again", person.email, meeting.id, since):
        return
    token = await issue_token(TokenKind.RSVP_MANAGE, rsvp=rsvp)
    await notifications.rsvp_repeated(meeting, rsvp, person, token, site=site)


async def reveal_address(meeting: Meeting, rsvp: Rsvp, now: datetime) -> bool:
    """May this guest be sent the exact address now? Records it when yes.

    Only confirmed guests get it, and a meeting sends it out at most capacity + waitlist
    + ADDRESS_MARGIN times a day: a script RSVPing with many mailboxes gets no further.
    A public venue's address is public anyway.
    """
    if rsvp.status is not RsvpStatus.CONFIRMED:
        return False
    if meeting.kind.value == "public" or rsvp.address_sent_at is not None:
        return True
    if not await _may_reveal(meeting, now):
        return False
    rsvp.address_sent_at = now
    await Rsvp.filter(id=rsvp.id).update(address_sent_at=now)
    return True


async def _may_reveal(meeting: Meeting, now: datetime) -> bool:
    """Is the meeting under its daily cap of exact addresses sent? One read counts both."""
    if meeting.kind.value == "public":
        return True
    return _under_cap(meeting, await _address_counts(meeting, now))


def _under_cap(meeting: Meeting, counts: tuple[int, int]) -> bool:
    sent, waiting = counts
    return meeting.kind.value == "public" or sent < meeting.capacity + waiting + ADDRESS_MARGIN


async def _address_counts(meeting: Meeting, now: datetime) -> tuple[int, int]:
    """(exact addresses sent in the last ADDRESS_WINDOW, parties waitlisted) of a meeting."""
    conn = Tortoise.get_connection("default")  # the transaction's, inside one
    p = SqlParams(conn.capabilities.dialect)
    since, waiting = p.time(now - ADDRESS_WINDOW), p.add(RsvpStatus.WAITLISTED.value)
    [row] = await conn.execute_query_dict(
        f"SELECT COALESCE(SUM(CASE WHEN address_sent_at > {since} THEN 1 ELSE 0 END), 0) AS sent,"
        f" COALESCE(SUM(CASE WHEN status = {waiting} THEN 1 ELSE 0 END), 0) AS waiting"
        f" FROM rsvp WHERE meeting_id = {p.add(meeting.id)}",
        p.values,
    )
    return int(row["sent"]), int(row["waiting"])


async def promote_waitlist(
    meeting_id: int, *, site: Settings, notify: bool = True, meeting: Meeting | None = None
) -> list[Rsvp]:
    """Confirm waiting parties, first come first served, while whole parties fit.

    Called inside a transaction that locked the meeting (kit.store.transactions).
    ``meeting``: the caller's row of it read in this transaction after its own seat
    changes, with host and campaign (``meeting_for_mail``); its seat count is kept up.
    """
    promoted: list[Rsvp] = []
    if meeting is None:
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
        # take_seats stays the guard against anything else taking the seats first.
        if rsvp.party_size <= free and await take_seats(meeting_id, rsvp.party_size):
            free -= rsvp.party_size
            meeting.seats_taken += rsvp.party_size
            rsvp.status = RsvpStatus.CONFIRMED
            await rsvp.save(update_fields=["status", "updated_at"])
            promoted.append(rsvp)
    if promoted and notify:
        mail_meeting = await meeting_for_mail(meeting_id)
        now = datetime.now(UTC)
        for rsvp in promoted:
            exact = await reveal_address(mail_meeting, rsvp, now)
            await notifications.rsvp_promoted(mail_meeting, rsvp, site=site, exact=exact)
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


@dataclass(frozen=True)
class GuestChanges:
    """What a guest changes on their private page (reached from their mailbox)."""

    guests: int
    name: str
    phone: str | None
    note: str
    consent: bool


def parse_guest_changes(raw: Mapping[str, Any], rsvp: Rsvp) -> GuestChanges:
    p: v.Problems = {}
    changes = GuestChanges(
        guests=v.integer(
            raw, "guests", p, label="Guests", default=rsvp.guests, minimum=0, maximum=MAX_GUESTS
        )
        or 0,
        name=v.text(raw, "name", p, label="Your name", max_length=120)
        if "name" in raw
        else rsvp.person.name,
        phone=v.phone(raw, "phone", p) if "phone" in raw else rsvp.person.phone,
        note=v.text(raw, "note", p, label="Your note", max_length=1000, multiline=True)
        if "note" in raw
        else rsvp.note,
        consent=v.boolean(raw, "consent") if "consent" in raw else rsvp.consent,
    )
    if "name" in raw and not changes.name:
        p["name"] = "Please enter your name."
    if p:
        raise ValidationError(p)
    return changes


async def update_rsvp(
    rsvp: Rsvp, changes: GuestChanges, *, site: Settings, now: datetime | None = None
) -> Rsvp:
    """The guest changes their RSVP from their private page: party size, name, phone,
    note and consent. Seats are decided on the row as it is now, never as it was."""
    now = now or datetime.now(UTC)

    async def work() -> None:
        meeting = await lock_meeting(rsvp.meeting_id)  # type: ignore[attr-defined]
        fresh = await Rsvp.get(id=rsvp.id)
        if fresh.status is RsvpStatus.CANCELLED:
            raise Conflict("This RSVP was cancelled. RSVP again from the meeting page.")
        if changes.guests != fresh.guests:
            check_open(meeting, now)
            await _resize(meeting, fresh, changes.guests)
        await Rsvp.filter(id=fresh.id).update(
            guests=changes.guests, note=changes.note, consent=changes.consent, updated_at=now
        )
        person = await Person.get(id=fresh.person_id)  # type: ignore[attr-defined]
        await update_person(person, name=changes.name, phone=changes.phone)
        await promote_waitlist(meeting.id, site=site)
        await tallies.refresh(meeting.id)

    await atomically(work)
    return await Rsvp.get(id=rsvp.id).select_related(
        "person", "meeting", "meeting__host", "meeting__campaign"
    )


async def _resize(meeting: Meeting, fresh: Rsvp, guests: int) -> None:
    """Change a live RSVP's party size; a confirmed party keeps its seats if it can't grow.

    ``fresh`` was read after the meeting's lock was taken, so its size is the current one.
    """
    if fresh.status is not RsvpStatus.CONFIRMED:
        return  # waitlisted or awaiting the host: no seats held; promotion decides
    delta = guests - fresh.guests
    if delta < 0:
        await release_seats(meeting.id, -delta)
    elif not await take_seats(meeting.id, delta):
        free = max(meeting.capacity - meeting.seats_taken, 0)
        raise ValidationError(
            {
                "guests": (
                    f"Only {free} more seat{'s' if free != 1 else ''} free: you're still confirmed "
                    f"for {fresh.party_size}."
                )
            }
        )


async def change_guests(rsvp: Rsvp, guests: int, *, site: Settings) -> Rsvp:
    """Change only the party size (the guest page's quick form)."""
    if not 0 <= guests <= MAX_GUESTS:
        raise ValidationError({"guests": f"Guests must be between 0 and {MAX_GUESTS}."})
    changes = GuestChanges(
        guests=guests,
        name=rsvp.person.name,
        phone=rsvp.person.phone,
        note=rsvp.note,
        consent=rsvp.consent,
    )
    return await update_rsvp(rsvp, changes, site=site)


async def cancel_rsvp(rsvp: Rsvp, *, site: Settings, by_host: bool = False) -> Rsvp:
    """The guest can't come (or the host took them off the list): free their seats, tell
    the other side, promote whoever waits. Cancelling twice changes nothing."""

    async def work() -> Rsvp:
        meeting = await lock_meeting(rsvp.meeting_id)  # type: ignore[attr-defined]
        fresh = await Rsvp.get(id=rsvp.id).select_related("person")
        if fresh.status is RsvpStatus.CANCELLED:
            return fresh
        was = fresh.status
        if was is RsvpStatus.CONFIRMED:
            await release_seats(meeting.id, fresh.party_size)
        fresh.status = RsvpStatus.CANCELLED
        await fresh.save(update_fields=["status", "updated_at"])
        mail_meeting = await meeting_for_mail(meeting.id)
        if by_host:
            await notifications.rsvp_removed(mail_meeting, fresh, was=was, site=site)
        else:
            await notifications.rsvp_cancelled(
                mail_meeting, fresh, was_confirmed=was is RsvpStatus.CONFIRMED, site=site
            )
        await promote_waitlist(meeting.id, site=site)
        await tallies.refresh(meeting.id)
        return fresh

    return await atomically(work)


async def approve_guest(rsvp: Rsvp, *, site: Settings, now: datetime | None = None) -> Rsvp:
    """The host says yes to a guest who asked: a seat if one is free, else the waitlist."""
    now = now or datetime.now(UTC)

    async def work() -> Rsvp:
        meeting = await lock_meeting(rsvp.meeting_id)  # type: ignore[attr-defined]
        fresh = await Rsvp.get(id=rsvp.id).select_related("person")
        if fresh.status is not RsvpStatus.REQUESTED:
            return fresh  # already decided (a second click, or another tab)
        if await take_seats(meeting.id, fresh.party_size):
            fresh.status = RsvpStatus.CONFIRMED
        elif meeting.waitlist_enabled:
            fresh.status = RsvpStatus.WAITLISTED
        else:
            raise Conflict(
                "There's no seat left for this party. Raise the capacity, or decline the request."
            )
        await fresh.save(update_fields=["status", "updated_at"])
        mail_meeting = await meeting_for_mail(meeting.id)
        exact = await reveal_address(mail_meeting, fresh, now)
        token = await issue_token(TokenKind.RSVP_MANAGE, rsvp=fresh)
        await notifications.rsvp_recorded(
            mail_meeting, fresh, fresh.person, token, site=site, exact=exact, tell_host=False
        )
        await tallies.refresh(meeting.id)
        return fresh

    return await atomically(work)


def rsvp_ref(rsvp: Rsvp) -> str:
    """A guest's reference on the host's page and in the report form: stable while the
    form is open, even if someone else cancels meanwhile (an index would shift), and not
    the database id."""
    raw = f"{rsvp.id}:{rsvp.created_at.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


async def find_guest(meeting: Meeting, ref: str) -> Rsvp:
    """One of this meeting's RSVPs, by the reference the host's page uses for it."""
    for rsvp in await Rsvp.filter(meeting_id=meeting.id).select_related("person"):
        if hmac.compare_digest(rsvp_ref(rsvp), ref):
            return rsvp
    raise RsvpNotFound()


async def meeting_for_mail(meeting_id: int) -> Meeting:
    return await Meeting.get(id=meeting_id).select_related("host", "campaign")


async def lock_meeting_for_rsvp(meeting_id: int) -> tuple[Meeting, bool]:
    """kit.store.transactions.lock_meeting, with the host and campaign in the same read,
    and whether the host opted out of non-essential mail (the "new RSVP" note); only
    the meeting's row is locked (FOR UPDATE OF: the campaign may be none).

    Raw SQL, the same models as ``Meeting.select_for_update(of=("meeting",))
    .select_related("host", "campaign").get(id=...)``: building that query took about a
    tenth of an RSVP's CPU, and the opt-out was a statement of its own."""
    conn = Tortoise.get_connection("default")  # the transaction's, inside one
    p = SqlParams(conn.capabilities.dialect)
    rows = await query_dicts(
        conn,
        f"SELECT {select_columns(Meeting, 'm')}, {select_columns(Person, 'h')}, "
        f"{select_columns(Campaign, 'c')}, "
        "EXISTS (SELECT 1 FROM email_opt_out o WHERE o.email = h.email) AS host_opted_out "
        "FROM meeting m JOIN person h ON h.id = m.host_id "
        f"LEFT JOIN campaign c ON c.id = m.campaign_id WHERE m.id = {p.add(meeting_id)}"
        + (" FOR UPDATE OF m" if p.postgres else ""),
        p.values,
    )
    if not rows:
        raise DoesNotExist(Meeting)
    meeting = model_from_row(Meeting, rows[0], "m")
    assert meeting is not None
    object.__setattr__(meeting, "_host", model_from_row(Person, rows[0], "h"))
    object.__setattr__(meeting, "_campaign", model_from_row(Campaign, rows[0], "c"))
    return meeting, bool(rows[0]["host_opted_out"])
