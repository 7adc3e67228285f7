"""Use cases for meetings: create, read, change, cancel.

Geocoding (slow, maybe remote) happens before the transaction; the meeting, the
host, the manage token and the host's email are written in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from kit.core import validation as v
from kit.core.errors import AmbiguousPlace, Conflict, MeetingNotFound, ValidationError
from kit.core.rendering import wall_clock
from kit.core.settings import Settings
from kit.maps.places import AddressQuery, Geocoder, Place, Placement
from kit.maps.privacy import public_point
from kit.meetings import host_access, notifications, rsvps
from kit.meetings.input import (  # noqa: F401 - re-exported for callers
    MeetingInput,
    check_campaign_window,
    check_times,
    meeting_as_input,
    merge_changes,
    parse_meeting_input,
    repeat_input,
)
from kit.meetings.public import is_visible, listed_q
from kit.meetings.search import public_upcoming_sql
from kit.store import audit
from kit.store.models import (
    Campaign,
    Coordinator,
    Meeting,
    MeetingStatus,
    TokenKind,
    VenueKind,
)
from kit.store.people import find_or_add_person, mark_verified, update_person
from kit.store.sql import Prepared, SqlParams
from kit.store.tokens import find_token, issue_token

PUBLIC_ID_LENGTH = Meeting._meta.fields_map["public_id"].max_length  # type: ignore[attr-defined]
OUTSIDE_WINDOW = "meeting.outside_window"  # the audit entry of a coordinator's override


class OutsideCampaign(ValidationError):
    """The date is outside the campaign's dates (``window``: the message), maybe among
    other problems: the one problem a coordinator may choose to override."""

    def __init__(self, problems: v.Problems, window: str) -> None:
        super().__init__(problems)
        self.window = window


def refuse_problems(window: v.Problems, problems: v.Problems, in_window_only: bool) -> None:
    """Raise what is wrong with the form. The campaign's window counts only when
    ``in_window_only``, and a worse problem with the date (in the past) wins over it;
    while the date is outside, the error says so even if the window is overridden, so
    the coordinator's warning (and their tick) stays beside the date."""
    outside = bool(window) and "starts_at" not in problems
    if in_window_only and outside:
        problems = {**window, **problems}
    if problems and outside:
        raise OutsideCampaign(problems, window["starts_at"])
    if problems:
        raise ValidationError(problems)


async def record_window_override(
    meeting: Meeting, campaign: Campaign, coordinator: Coordinator | None
) -> None:
    """Write a date placed outside the campaign's window to the audit log (inside the
    change's transaction); ``coordinator=None`` is an operator at the command line."""
    day = wall_clock(meeting.starts_at, meeting.timezone).date()
    first, last = campaign.starts_on or "…", campaign.ends_on or "…"
    detail = f"Starts {day}, outside the campaign's dates ({first} to {last})"
    await audit.record(OUTSIDE_WINDOW, actor=coordinator, meeting=meeting, detail=detail)


@dataclass(frozen=True)
class CreatedMeeting:
    meeting: Meeting
    manage_token: str
    repeated: bool = False  # the same submission again (a double click): the first meeting

    @property
    def awaiting_email(self) -> bool:
        return self.meeting.status is MeetingStatus.AWAITING


async def locate_meeting(
    address: AddressQuery, geocoder: Geocoder, campaign_region: str = ""
) -> Place:
    """Where the address is. A bare town name several towns share is the one in the
    campaign's region when there is one there, else the host is asked which."""
    place = await geocoder.locate(address)
    if place is not None and place.precision == "city" and not address.region:
        towns = _towns_named(address, geocoder)
        in_region = replace(address, region=campaign_region)
        if len(towns) > 1 and not (campaign_region and (place := await geocoder.locate(in_region))):
            raise _which_town(address, towns)
    if place is None:
        where = f" in {address.region}" if address.region else ""
        raise ValidationError(
            {
                "address.locality": (
                    f"We couldn't find that place{where}. Check the town, the state and "
                    "the ZIP/postal code, or try the nearest town."
                )
            }
        )
    return place


def _towns_named(address: AddressQuery, geocoder: Geocoder) -> list[Place]:
    # Only the offline gazetteer (which every real geocoder falls back to) lists them.
    towns_named = getattr(geocoder, "towns_named", None)
    return towns_named(address.locality, address.country) if towns_named else []


def _which_town(address: AddressQuery, towns: list[Place]) -> AmbiguousPlace:
    """A bare town name that several towns of note share ("Portland", "Springfield")
    is asked about rather than guessed: the guess sets the meeting's clock too."""
    names = [f"{t.locality}, {t.region or t.country}" for t in towns]
    listed = ", ".join(names[:-1]) + f" or {names[-1]}"
    return AmbiguousPlace(
        "address.locality",
        f"There are several places called {address.locality}. Did you mean {listed}? "
        "Pick one, or add the state or the ZIP/postal code.",
        towns,
    )


def with_campaign_place(address: AddressQuery, campaign: Campaign | None) -> AddressQuery:
    """An address without a country is in the campaign's country, else the US."""
    return replace(address, country=address.country or (campaign and campaign.country) or "US")


async def campaign_place(slug: str) -> dict[str, str]:
    """The host form's defaults for a campaign's meetings: its country and region."""
    campaign = await Campaign.get_or_none(slug=slug) if slug else None
    if campaign is None:
        return {}
    place = {"address.country": campaign.country, "address.region": campaign.region}
    return {k: value for k, value in place.items() if value}


def town_choices(error: Exception) -> list[tuple[str, str]]:
    """The host form's "Did you mean…?" options for an AmbiguousPlace: (value, label)."""
    if not isinstance(error, AmbiguousPlace):
        return []
    return [
        (f"{t.region}|{t.country}", f"{t.locality}, {t.region or t.country} ({t.country})")
        for t in error.choices
    ]


def submission_key(data: MeetingInput, submission: str) -> str | None:
    """The key that makes a repeated submission (a double click, a reload after the
    answer was lost) return the first meeting.

    ``submission`` is a random value the host form carries (or an API client's
    ``Idempotency-Key``): only whoever sent the first request knows it, so a repeat
    can safely get that meeting's manage link, and nobody else can ask whether
    someone else's meeting exists.
    """
    if not submission:
        return None
    raw = "|".join([data.host_email, submission])
    return hashlib.sha256(raw.encode()).hexdigest()


async def create_meeting(
    data: MeetingInput,
    *,
    geocoder: Geocoder,
    site: Settings,
    now: datetime | None = None,
    notify_host: bool = True,
    submission: str = "",
    proven_emails: frozenset[str] | set[str] | tuple[str, ...] = (),
    in_window_only: bool = True,
    coordinator: Coordinator | None = None,
) -> CreatedMeeting:
    """Make a meeting and return it with the host's manage token.

    A date outside the campaign's window is refused (OutsideCampaign);
    ``in_window_only=False`` lets ``coordinator``, who was shown the warning, place one
    there anyway, and the audit log says so.

    When the host's mailbox is proven (``proven_emails``: this browser confirmed it
    before) the meeting is published, or queued for approval; otherwise it waits for the
    host to confirm the link the kit emails (kit.meetings.host_access).
    """
    now = now or datetime.now(UTC)
    campaign = await _campaign_or_problem(data.campaign_slug)
    grew_from = await _grew_from(data.grew_from)
    address = with_campaign_place(data.address, campaign)
    place = await locate_meeting(address, geocoder, campaign.region if campaign else "")
    starts_at = v.in_zone(data.starts_at, place.timezone, "starts_at", data.starts_at_fold)
    ends_at = v.in_zone(data.ends_at, place.timezone, "ends_at", data.ends_at_fold)
    window = check_campaign_window(campaign, starts_at, place.timezone)
    refuse_problems(window, check_times(starts_at, ends_at, now), in_window_only)
    key = submission_key(data, submission)
    if key and (repeated := await _repeat_of(key)):
        return repeated
    proven = host_access.is_proven(data.host_email, proven_emails)
    if not proven:
        status = MeetingStatus.AWAITING
    elif campaign and campaign.requires_approval:
        status = MeetingStatus.PENDING
    else:
        status = MeetingStatus.PUBLISHED
    approx_lat, approx_lon = public_point(data.kind, place.lat, place.lon, key=site.secret_key)
    try:
        async with in_transaction():
            host = await find_or_add_person(data.host_name, data.host_email, data.host_phone)
            if proven:
                await mark_verified(host, now)
                await update_person(host, name=data.host_name, phone=data.host_phone)
            meeting = Meeting(
                campaign=campaign,
                host=host,
                grew_from=grew_from,
                title=data.title,
                description=data.description,
                host_note=data.host_note,
                starts_at=starts_at,
                ends_at=ends_at,
                timezone=place.timezone,
                street=data.address.street,
                directions=data.directions,
                lat=place.lat,
                lon=place.lon,
                locality=data.address.locality or place.locality,
                region=place.region,
                postal_code=data.address.postal_code or place.postal_code,
                country=place.country,
                kind=data.kind,
                venue_name=data.venue_name,
                capacity=data.capacity,
                rsvp_goal=data.rsvp_goal,
                visibility=data.visibility,
                status=status,
                reply_to_host=data.reply_to_host,
                waitlist_enabled=data.waitlist,
                approve_guests=data.approve_guests,
                submission_key=key,
                approx_lat=approx_lat,
                approx_lon=approx_lon,
            )
            await meeting.save()
            if window and campaign:
                await record_window_override(meeting, campaign, coordinator)
            token = await issue_token(TokenKind.MEETING_MANAGE, meeting=meeting)
            if notify_host and status is MeetingStatus.AWAITING:
                await host_access.queue_confirmation(meeting, host, site)
            elif notify_host:
                await host_access.queue_meeting_created(meeting, token, site)
    except IntegrityError:
        # Two identical submissions raced; the first one won.
        if key and (repeated := await _repeat_of(key)):
            return repeated
        raise
    return CreatedMeeting(meeting, token)


async def _repeat_of(key: str) -> CreatedMeeting | None:
    """The meeting a repeated submission made first, with a fresh manage link for it."""
    existing = await Meeting.get_or_none(submission_key=key).select_related("campaign", "host")
    if existing is None:
        return None
    token = await issue_token(TokenKind.MEETING_MANAGE, meeting=existing)
    return CreatedMeeting(existing, token, repeated=True)


async def _campaign_or_problem(slug: str) -> Campaign | None:
    if not slug:
        return None
    campaign = await Campaign.get_or_none(slug=slug)
    if campaign is None:
        raise ValidationError({"campaign": f"There is no campaign called “{slug}”."})
    return campaign


async def _grew_from(public_id: str) -> Meeting | None:
    """The meeting whose host invited this one's (from the invitation's prefilled form).

    An unknown id is ignored: it only records where a meeting came from, and nobody
    types it, so it is no reason to refuse the meeting.
    """
    if not public_id:
        return None
    return await Meeting.get_or_none(public_id=public_id).only("id")


def describe_placement(meeting: Meeting) -> Placement:
    """Where the meeting was placed, for its host to check (the manage page, the
    emails): built from the public point only, so nothing shown can lead to the house."""
    return Placement(
        locality=meeting.locality,
        region=meeting.region,
        postal_code=meeting.postal_code,
        country=meeting.country,
        timezone=meeting.timezone,
        lat=meeting.approx_lat,
        lon=meeting.approx_lon,
        approximate=meeting.kind is not VenueKind.PUBLIC,
    )


# The read of every meeting page and manage page, with what they show of the campaign and
# host: its SQL built once (kit.store.sql.Prepared).
BY_PUBLIC_ID = Prepared(
    Meeting,
    lambda public_id: Meeting.filter(public_id=public_id).select_related("campaign", "host"),
)


# What taking an RSVP reads of the meeting before its transaction locks and reads it
# whole (kit.meetings.rsvps.record_rsvp): visibility, id, referral code, start.
RSVP_COLUMNS = ("id", "public_id", "status", "starts_at")
TO_RSVP = Prepared(
    Meeting, lambda public_id: Meeting.filter(public_id=public_id).only(*RSVP_COLUMNS)
)


async def get_meeting(public_id: str, read: Prepared[Meeting] = BY_PUBLIC_ID) -> Meeting:
    """A meeting anyone may see: published, cancelled or completed (not pending/draft/hidden).

    ``read=TO_RSVP`` (the RSVP API): only ``RSVP_COLUMNS`` of it, no host or campaign
    (the RSVP's transaction reads those)."""
    if not v.can_be_key(public_id, PUBLIC_ID_LENGTH):
        raise MeetingNotFound()
    meeting = await read.first(public_id)
    if meeting is None or not is_visible(meeting):
        raise MeetingNotFound()
    return meeting


async def get_managed_meeting(public_id: str, token: str | None) -> Meeting:
    """The meeting, if ``token`` is its live manage token; otherwise MeetingNotFound (a 404)."""
    access = await find_token(token, TokenKind.MEETING_MANAGE)
    if access is None or not v.can_be_key(public_id, PUBLIC_ID_LENGTH):
        raise MeetingNotFound()
    meeting = await BY_PUBLIC_ID.first(public_id)
    if meeting is None or meeting.id != access.meeting_id:  # type: ignore[attr-defined]
        raise MeetingNotFound()
    return meeting


@dataclass(frozen=True)
class PublicStats:
    upcoming: int
    localities: int
    countries: int


async def public_stats(now: datetime | None = None) -> PublicStats:
    """What the home page says about the kit's reach; counted in the database."""
    now = now or datetime.now(UTC)
    upcoming = Meeting.filter(listed_q(now))
    [row] = await upcoming.annotate(
        n=Count("id"), countries=Count("country", distinct=True)
    ).values("n", "countries")
    # Distinct (town, country) pairs, counted by the database rather than fetched.
    conn = Meeting._meta.db
    p = SqlParams(conn.capabilities.dialect)
    where = " AND ".join(public_upcoming_sql(p, now, None))
    [places] = await conn.execute_query_dict(
        f"SELECT COUNT(*) AS n FROM (SELECT DISTINCT locality, country FROM meeting "
        f"WHERE {where}) AS places",
        p.values,
    )
    return PublicStats(
        upcoming=int(row["n"] or 0),
        localities=int(places["n"] or 0),
        countries=int(row["countries"] or 0),
    )


async def update_meeting(
    meeting: Meeting,
    changes: Mapping[str, Any],
    *,
    geocoder: Geocoder,
    site: Settings,
    now: datetime | None = None,
    in_window_only: bool = True,
    coordinator: Coordinator | None = None,
) -> Meeting:
    """Apply the host's changes (any subset of the create fields) after checking them all;
    a new date outside the campaign's window as in ``create_meeting``."""
    if meeting.status in {MeetingStatus.CANCELLED, MeetingStatus.COMPLETED}:
        raise Conflict(f"This meeting is {meeting.status}, so it can no longer be changed.")
    data = parse_meeting_input(merge_changes(meeting_as_input(meeting), changes))
    if data.campaign_slug != (meeting.campaign.slug if meeting.campaign else ""):
        raise ValidationError({"campaign": "A meeting can't move to another campaign."})
    old_address = (
        meeting.street,
        meeting.locality,
        meeting.region,
        meeting.postal_code,
        meeting.country,
    )
    moved = old_address != (
        data.address.street,
        data.address.locality,
        data.address.region,
        data.address.postal_code,
        data.address.country,
    )
    campaign_region = meeting.campaign.region if meeting.campaign else ""
    place = await locate_meeting(data.address, geocoder, campaign_region) if moved else None
    tz = place.timezone if place else meeting.timezone
    starts_at = v.in_zone(data.starts_at, tz, "starts_at", data.starts_at_fold)
    ends_at = v.in_zone(data.ends_at, tz, "ends_at", data.ends_at_fold)
    # An unchanged start may be in the past, or outside a campaign whose dates were
    # changed since: fine.
    same_start = starts_at == meeting.starts_at
    window = {} if same_start else check_campaign_window(meeting.campaign, starts_at, tz)
    problems = check_times(starts_at, ends_at, now or datetime.now(UTC))
    if same_start:
        problems.pop("starts_at", None)
    if data.capacity < meeting.seats_taken:
        problems["capacity"] = (
            f"{meeting.seats_taken} seats are already taken; the capacity can't be lower than that."
        )
    refuse_problems(window, problems, in_window_only)
    before = (
        meeting.starts_at,
        meeting.ends_at,
        meeting.street,
        meeting.directions,
        meeting.locality,
        meeting.postal_code,
        meeting.country,
        meeting.title,
        meeting.description,
    )
    values: dict[str, Any] = {
        "title": data.title,
        "description": data.description,
        "host_note": data.host_note,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "street": data.address.street,
        "directions": data.directions,
        "locality": data.address.locality or meeting.locality,
        "postal_code": data.address.postal_code,
        "country": data.address.country,
        "kind": data.kind,
        "venue_name": data.venue_name,
        "visibility": data.visibility,
        "rsvp_goal": data.rsvp_goal,
        "reply_to_host": data.reply_to_host,
        "waitlist_enabled": data.waitlist,
        "approve_guests": data.approve_guests,
    }
    if place:
        values.update(
            lat=place.lat,
            lon=place.lon,
            timezone=place.timezone,
            region=place.region,
            locality=data.address.locality or place.locality,
        )
    # A change of kind (café <-> home) moves the public point even at the same address.
    exact = (place.lat, place.lon) if place else (meeting.lat, meeting.lon)
    values["approx_lat"], values["approx_lon"] = public_point(
        data.kind, *exact, key=site.secret_key
    )
    meeting.update_from_dict(values)
    changes_for_guests = describe_changes(before, meeting)
    async with in_transaction():
        # Never save seats_taken from this (possibly stale) object: RSVPs move it concurrently.
        await meeting.save(update_fields=[*values, "updated_at"])
        await set_capacity(meeting, data.capacity, site=site)
        if window and meeting.campaign:
            await record_window_override(meeting, meeting.campaign, coordinator)
        if changes_for_guests:
            meeting.sequence += 1
            await Meeting.filter(id=meeting.id).update(sequence=meeting.sequence)
            await notifications.meeting_changed(meeting, changes_for_guests, site=site)
        if meeting.status is not MeetingStatus.AWAITING:
            # A meeting past its host's proof: its manage link came from the host's
            # mailbox (or a browser that proved it). Before that, the name stays as is.
            await update_person(meeting.host, name=data.host_name, phone=data.host_phone)
    return meeting


def describe_changes(before: tuple[Any, ...], meeting: Meeting) -> list[str]:
    """What guests must hear about: a new time or place, a new title, or a description
    that says something new. Fixing spacing, punctuation or capitals isn't news: guests
    would get an email (and a calendar update) for nothing."""
    starts_at, ends_at, *place, title, description = before
    changed = []
    if (starts_at, ends_at) != (meeting.starts_at, meeting.ends_at):
        changed.append("time")
    if tuple(place) != (
        meeting.street,
        meeting.directions,
        meeting.locality,
        meeting.postal_code,
        meeting.country,
    ):
        changed.append("place")
    if _words(title) != _words(meeting.title):
        changed.append("title")
    if _words(description) != _words(meeting.description):
        changed.append("description")
    return changed


def _words(text: str) -> list[str]:
    """The words of a text, whatever its spacing, punctuation and capitals."""
    return "".join(c if c.isalnum() else " " for c in text.casefold()).split()


async def set_capacity(meeting: Meeting, capacity: int, *, site: Settings) -> None:
    """Change capacity without dropping below the seats already taken; fill from the waitlist."""
    if capacity == meeting.capacity:
        return
    if not await Meeting.filter(id=meeting.id, seats_taken__lte=capacity).update(capacity=capacity):
        raise ValidationError({"capacity": "More seats are already taken than that."})
    meeting.capacity = capacity
    await rsvps.promote_waitlist(meeting.id, site=site)


async def cancel_meeting(meeting: Meeting, *, site: Settings) -> Meeting:
    """Cancel, and take the meeting off every guest's calendar (same UID, METHOD:CANCEL)."""
    if meeting.status is MeetingStatus.CANCELLED:
        return meeting
    if meeting.status is MeetingStatus.COMPLETED:
        raise Conflict("This meeting already took place, so it can't be cancelled.")
    meeting.status = MeetingStatus.CANCELLED
    meeting.sequence += 1
    async with in_transaction():
        await meeting.save(update_fields=["status", "sequence", "updated_at"])
        await notifications.meeting_cancelled(meeting, site=site)
    return meeting


async def approve_meeting(public_id: str) -> Meeting:
    """A coordinator publishes a meeting that was waiting for approval."""
    # Queryset updates skip auto_now: set updated_at, which feed caches are keyed on.
    updated = await Meeting.filter(public_id=public_id, status=MeetingStatus.PENDING).update(
        status=MeetingStatus.PUBLISHED, updated_at=datetime.now(UTC)
    )
    if not updated:
        raise MeetingNotFound()
    return await Meeting.get(public_id=public_id)
