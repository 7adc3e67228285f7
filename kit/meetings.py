"""Use cases for meetings: create, read, change, cancel.

Geocoding (slow, maybe remote) happens before the transaction; the meeting, the
host, the manage token and the host's email are written in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from kit import notifications, rsvps
from kit import validation as v
from kit.errors import Conflict, MeetingNotFound, ValidationError
from kit.maps.places import AddressQuery, Geocoder, Place
from kit.maps.privacy import approximate_point
from kit.models import Campaign, Meeting, MeetingStatus, TokenKind, VenueKind, Visibility
from kit.people import upsert_person
from kit.settings import Settings
from kit.tokens import find_token, issue_token, revoke_tokens
from kit.toolkit import mail

MAX_DURATION = timedelta(hours=12)
TITLE_MAX = 140
DESCRIPTION_MAX = 5000


@dataclass(frozen=True)
class MeetingInput:
    title: str
    description: str
    starts_at: datetime  # naive (local at the place) or aware (explicit offset)
    ends_at: datetime
    address: AddressQuery
    directions: str
    kind: VenueKind
    capacity: int
    visibility: Visibility
    campaign_slug: str
    rsvp_goal: int | None
    host_name: str
    host_email: str
    host_phone: str | None
    host_note: str
    reply_to_host: bool


@dataclass(frozen=True)
class CreatedMeeting:
    meeting: Meeting
    manage_token: str | None  # None when a double submit returned the first meeting


def parse_meeting_input(raw: Mapping[str, Any]) -> MeetingInput:
    """Check a JSON body or a form (flattened to dotted names); raise with every problem."""
    data = v.flatten(raw)
    p: v.Problems = {}
    title = v.text(data, "title", p, label="A title", max_length=TITLE_MAX, required=True)
    description = v.text(
        data, "description", p, label="The description", max_length=DESCRIPTION_MAX, multiline=True
    )
    starts_at = v.local_datetime(data, "starts_at", p, label="A start time")
    ends_at = v.local_datetime(data, "ends_at", p, label="An end time")
    address = AddressQuery(
        street=v.text(data, "address.street", p, label="The street address", max_length=200),
        locality=v.text(data, "address.locality", p, label="The town or city", max_length=120),
        postal_code=v.text(
            data, "address.postal_code", p, label="The postal code", max_length=20
        ).upper(),
        country=v.text(data, "address.country", p, label="The country", max_length=2).upper()
        or "US",
    )
    if not address.locality and not address.postal_code:
        p["address.locality"] = "Please enter the town or city, or a ZIP/postal code."
    kind = VenueKind(
        v.choice(data, "kind", p, label="The venue", options=("home", "public"), default="home")
    )
    if kind is VenueKind.PUBLIC and not address.street:
        p["address.street"] = "Please enter the address of the public place."
    result = MeetingInput(
        title=title,
        description=description,
        starts_at=starts_at or datetime.min,
        ends_at=ends_at or datetime.min,
        address=address,
        directions=v.text(data, "address.directions", p, label="Directions", max_length=500),
        kind=kind,
        capacity=v.integer(
            data, "capacity", p, label="Capacity", default=15, minimum=1, maximum=500
        )
        or 15,
        visibility=Visibility(
            v.choice(
                data,
                "visibility",
                p,
                label="Visibility",
                options=("public", "unlisted"),
                default="public",
            )
        ),
        campaign_slug=v.text(data, "campaign", p, label="The campaign", max_length=64),
        rsvp_goal=v.integer(
            data, "rsvp_goal", p, label="The RSVP goal", default=None, minimum=1, maximum=500
        ),
        host_name=v.text(data, "host.name", p, label="Your name", max_length=120, required=True),
        host_email=v.email(data, "host.email", p),
        host_phone=v.phone(data, "host.phone", p),
        host_note=v.text(data, "host_note", p, label="Your note", max_length=2000, multiline=True),
        reply_to_host=v.boolean(data, "reply_to_host"),
    )
    if p:
        raise ValidationError(p)
    return result


def check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> v.Problems:
    problems: v.Problems = {}
    if starts_at <= now:
        problems["starts_at"] = "The start time is in the past. Pick a time that's still ahead."
    if ends_at <= starts_at:
        problems["ends_at"] = "The meeting must end after it starts."
    elif ends_at - starts_at > MAX_DURATION:
        problems["ends_at"] = "A house meeting can last at most 12 hours."
    return problems


async def locate_meeting(address: AddressQuery, geocoder: Geocoder) -> Place:
    place = await geocoder.locate(address)
    if place is None:
        raise ValidationError(
            {
                "address.locality": (
                    "We couldn't find that place. Check the town and ZIP/postal code, "
                    "or try the nearest town."
                )
            }
        )
    return place


def submission_key(data: MeetingInput) -> str:
    """Same host, same title, same start = the same submission (a double click)."""
    raw = "|".join([data.host_email, data.title.casefold(), data.starts_at.isoformat()])
    return hashlib.sha256(raw.encode()).hexdigest()


async def create_meeting(
    data: MeetingInput,
    *,
    geocoder: Geocoder,
    site: Settings,
    now: datetime | None = None,
    notify_host: bool = True,
) -> CreatedMeeting:
    """Publish a meeting (or queue it for approval); return it with the host's manage token."""
    now = now or datetime.now(UTC)
    campaign = await _campaign_or_problem(data.campaign_slug)
    place = await locate_meeting(data.address, geocoder)
    starts_at = v.in_zone(data.starts_at, place.timezone).astimezone(UTC)
    ends_at = v.in_zone(data.ends_at, place.timezone).astimezone(UTC)
    problems = check_times(starts_at, ends_at, now)
    if problems:
        raise ValidationError(problems)
    key = submission_key(data)
    if existing := await Meeting.get_or_none(submission_key=key):
        return CreatedMeeting(existing, None)
    status = (
        MeetingStatus.PENDING
        if campaign and campaign.requires_approval
        else MeetingStatus.PUBLISHED
    )
    try:
        async with in_transaction():
            host = await upsert_person(data.host_name, data.host_email, data.host_phone)
            meeting = Meeting(
                campaign=campaign,
                host=host,
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
                capacity=data.capacity,
                rsvp_goal=data.rsvp_goal,
                visibility=data.visibility,
                status=status,
                reply_to_host=data.reply_to_host,
                submission_key=key,
                approx_lat=0.0,
                approx_lon=0.0,
            )
            meeting.approx_lat, meeting.approx_lon = approximate_point(
                place.lat, place.lon, key=site.secret_key, salt=meeting.public_id
            )
            await meeting.save()
            token = await issue_token(TokenKind.MEETING_MANAGE, meeting=meeting)
            if notify_host:
                await mail.queue_email(
                    "meeting_created",
                    to=host.email,
                    meeting=meeting,
                    context={
                        "meeting": meeting,
                        "host": host,
                        "manage_url": manage_url(site.base_url, meeting, token),
                        "meeting_url": meeting_url(site.base_url, meeting),
                        "recover_url": f"{site.base_url}/manage/recover",
                    },
                )
    except IntegrityError:
        # Two identical submissions raced; the first one won and holds the token.
        if existing := await Meeting.get_or_none(submission_key=key):
            return CreatedMeeting(existing, None)
        raise
    return CreatedMeeting(meeting, token)


async def _campaign_or_problem(slug: str) -> Campaign | None:
    if not slug:
        return None
    campaign = await Campaign.get_or_none(slug=slug)
    if campaign is None:
        raise ValidationError({"campaign": f"There is no campaign called “{slug}”."})
    return campaign


def meeting_url(base_url: str, meeting: Meeting) -> str:
    return f"{base_url}/meetings/{meeting.public_id}"


def manage_url(base_url: str, meeting: Meeting, token: str) -> str:
    return f"{base_url}/manage/{meeting.public_id}?token={token}"


async def get_meeting(public_id: str) -> Meeting:
    """A meeting anyone may see: published, cancelled or completed (not pending or draft)."""
    meeting = await Meeting.get_or_none(public_id=public_id).select_related("campaign", "host")
    if meeting is None or meeting.status in {MeetingStatus.DRAFT, MeetingStatus.PENDING}:
        raise MeetingNotFound()
    return meeting


async def get_managed_meeting(public_id: str, token: str | None) -> Meeting:
    """The meeting, if ``token`` is its live manage token; otherwise MeetingNotFound (a 404)."""
    access = await find_token(token, TokenKind.MEETING_MANAGE)
    if access is None:
        raise MeetingNotFound()
    meeting = await Meeting.get_or_none(id=access.meeting_id, public_id=public_id).select_related(
        "campaign", "host"
    )  # type: ignore[attr-defined]
    if meeting is None:
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
    upcoming = Meeting.filter(
        status=MeetingStatus.PUBLISHED, visibility=Visibility.PUBLIC, starts_at__gt=now
    )
    count = await upcoming.count()
    localities = len(await upcoming.distinct().values_list("locality", "country"))
    countries = len(await upcoming.distinct().values_list("country", flat=True))
    return PublicStats(upcoming=count, localities=localities, countries=countries)


def local_start(meeting: Meeting) -> datetime:
    return meeting.starts_at.astimezone(ZoneInfo(meeting.timezone))


def meeting_as_input(meeting: Meeting) -> dict[str, Any]:
    """The meeting's current values, shaped like the JSON body and the host form."""
    zone = ZoneInfo(meeting.timezone)
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "title": meeting.title,
        "description": meeting.description,
        "starts_at": meeting.starts_at.astimezone(zone).strftime(fmt),
        "ends_at": meeting.ends_at.astimezone(zone).strftime(fmt),
        "address": {
            "street": meeting.street,
            "locality": meeting.locality,
            "postal_code": meeting.postal_code,
            "country": meeting.country,
            "directions": meeting.directions,
        },
        "kind": str(meeting.kind),
        "capacity": meeting.capacity,
        "visibility": str(meeting.visibility),
        "campaign": meeting.campaign.slug if meeting.campaign else "",
        "rsvp_goal": meeting.rsvp_goal,
        "host_note": meeting.host_note,
        "reply_to_host": meeting.reply_to_host,
        "host": {
            "name": meeting.host.name,
            "email": meeting.host.email,
            "phone": meeting.host.phone or "",
        },
    }


def _merge(current: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


async def update_meeting(
    meeting: Meeting,
    changes: Mapping[str, Any],
    *,
    geocoder: Geocoder,
    site: Settings,
    now: datetime | None = None,
) -> Meeting:
    """Apply the host's changes (any subset of the create fields) after checking them all."""
    if meeting.status in {MeetingStatus.CANCELLED, MeetingStatus.COMPLETED}:
        raise Conflict(f"This meeting is {meeting.status}, so it can no longer be changed.")
    data = parse_meeting_input(_merge(meeting_as_input(meeting), changes))
    if data.campaign_slug != (meeting.campaign.slug if meeting.campaign else ""):
        raise ValidationError({"campaign": "A meeting can't move to another campaign."})
    old_address = (meeting.street, meeting.locality, meeting.postal_code, meeting.country)
    moved = old_address != (
        data.address.street,
        data.address.locality,
        data.address.postal_code,
        data.address.country,
    )
    place = await locate_meeting(data.address, geocoder) if moved else None
    tz = place.timezone if place else meeting.timezone
    starts_at = v.in_zone(data.starts_at, tz).astimezone(UTC)
    ends_at = v.in_zone(data.ends_at, tz).astimezone(UTC)
    problems = check_times(starts_at, ends_at, now or datetime.now(UTC))
    if starts_at == meeting.starts_at:
        problems.pop("starts_at", None)  # an unchanged start may be in the past: fine
    if data.capacity < meeting.seats_taken:
        problems["capacity"] = (
            f"{meeting.seats_taken} seats are already taken; the capacity can't be lower than that."
        )
    if problems:
        raise ValidationError(problems)
    before = (
        meeting.starts_at,
        meeting.ends_at,
        meeting.street,
        meeting.directions,
        meeting.locality,
        meeting.postal_code,
        meeting.country,
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
        "visibility": data.visibility,
        "rsvp_goal": data.rsvp_goal,
        "reply_to_host": data.reply_to_host,
    }
    if place:
        values.update(
            lat=place.lat,
            lon=place.lon,
            timezone=place.timezone,
            region=place.region,
            locality=data.address.locality or place.locality,
        )
        values["approx_lat"], values["approx_lon"] = approximate_point(
            place.lat, place.lon, key=site.secret_key, salt=meeting.public_id
        )
    meeting.update_from_dict(values)
    changes_for_guests = describe_changes(before, meeting)
    async with in_transaction():
        # Never save seats_taken from this (possibly stale) object: RSVPs move it concurrently.
        await meeting.save(update_fields=[*values, "updated_at"])
        await set_capacity(meeting, data.capacity, site=site)
        if changes_for_guests:
            meeting.sequence += 1
            await Meeting.filter(id=meeting.id).update(sequence=meeting.sequence)
            await notifications.meeting_changed(meeting, changes_for_guests, site=site)
        if (data.host_name, data.host_phone) != (meeting.host.name, meeting.host.phone):
            await upsert_person(data.host_name, meeting.host.email, data.host_phone)
    return meeting


def describe_changes(before: tuple[Any, ...], meeting: Meeting) -> list[str]:
    """What guests must hear about: a new time or a new place."""
    changed = []
    if before[:2] != (meeting.starts_at, meeting.ends_at):
        changed.append("time")
    if before[2:] != (
        meeting.street,
        meeting.directions,
        meeting.locality,
        meeting.postal_code,
        meeting.country,
    ):
        changed.append("place")
    return changed


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
    updated = await Meeting.filter(public_id=public_id, status=MeetingStatus.PENDING).update(
        status=MeetingStatus.PUBLISHED
    )
    if not updated:
        raise MeetingNotFound()
    return await Meeting.get(public_id=public_id)


async def send_fresh_manage_links(email: str, site: Settings) -> int:
    """Revoke the host's old manage links and email new ones; return how many meetings.

    The caller answers the same whatever the count, so nobody can learn from it
    whether an address hosts anything.
    """
    hosted = await Meeting.filter(
        host__email=email.strip().lower(),
        status__in=[
            MeetingStatus.DRAFT,
            MeetingStatus.PENDING,
            MeetingStatus.PUBLISHED,
            MeetingStatus.COMPLETED,
        ],
    ).select_related("host")
    if not hosted:
        return 0
    links = []
    async with in_transaction():
        for meeting in hosted:
            await revoke_tokens(TokenKind.MEETING_MANAGE, meeting=meeting)
            token = await issue_token(TokenKind.MEETING_MANAGE, meeting=meeting)
            links.append(
                {"meeting": meeting, "manage_url": manage_url(site.base_url, meeting, token)}
            )
        await mail.queue_email(
            "manage_links",
            to=hosted[0].host.email,
            context={"host": hosted[0].host, "links": links},
        )
    return len(hosted)
