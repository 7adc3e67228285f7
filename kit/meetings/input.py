"""What a host types about a meeting, checked: the JSON body and the host form alike.

Both arrive as dotted names ("address.street"), so error keys match form inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from kit.core import validation as v
from kit.core.errors import ValidationError
from kit.core.rendering import wall_clock
from kit.maps.places import AddressQuery
from kit.store.models import Campaign, Meeting, VenueKind, Visibility

MAX_CAPACITY = 500  # seats, guests included
MAX_DURATION = timedelta(hours=12)
# How far ahead a meeting can be planned: two years, a leap day included. It also keeps
# every stored time far from the calendar's end, where converting it to a place's clock
# would overflow (year 9999 in UTC is year 10000 in Paris).
MAX_AHEAD = timedelta(days=731)
TITLE_MAX = 140
_PLACE_KEYS = {"locality", "postal_code", "country"}
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
    waitlist: bool = True  # when full, keep a waitlist (or close RSVPs)
    approve_guests: bool = False  # the host says yes to each guest before the address goes out
    grew_from: str = ""  # public id of the meeting whose host invited this one's
    # "first"/"second": which of a wall time the clocks show twice (the hour a fall-back
    # repeats) the host means; asked for only then (kit.core.validation.in_zone).
    starts_at_fold: str = ""
    ends_at_fold: str = ""
    venue_name: str = ""  # "Harlem Library": public places only, shown with the address


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
        # Empty means "the campaign's country, else the US" (kit.meetings.service fills it in).
        country=v.text(data, "address.country", p, label="The country", max_length=2).upper(),
        region=v.text(data, "address.region", p, label="The state or region", max_length=120),
    )
    address = _with_chosen_town(address, v.text(data, "address.choice", p, label="", max_length=20))
    if not address.locality and not address.postal_code:
        p["address.locality"] = "Please enter the town or city, or a ZIP/postal code."
    kind = VenueKind(
        v.choice(data, "kind", p, label="The venue", options=("home", "public"), default="home")
    )
    if kind is VenueKind.PUBLIC and not address.street:
        p["address.street"] = "Please enter the address of the public place."
    venue_name = v.text(data, "address.venue", p, label="The name of the place", max_length=120)
    result = MeetingInput(
        title=title,
        description=description,
        starts_at=starts_at or datetime.min,
        ends_at=ends_at or datetime.min,
        address=address,
        directions=v.text(data, "address.directions", p, label="Directions", max_length=500),
        kind=kind,
        capacity=v.integer(
            data, "capacity", p, label="Capacity", default=15, minimum=1, maximum=MAX_CAPACITY
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
        # Absent (an API client that doesn't care) means yes; the form sends its box.
        waitlist=v.boolean(data, "waitlist") if "waitlist" in data else True,
        approve_guests=v.boolean(data, "approve_guests"),
        grew_from=v.text(data, "grew_from", p, label="The meeting this grew from", max_length=16),
        starts_at_fold=v.fold(data, "starts_at_fold", p),
        ends_at_fold=v.fold(data, "ends_at_fold", p),
        # A home has no public name: whatever was typed ("the Smiths'") is not kept.
        venue_name=venue_name if kind is VenueKind.PUBLIC else "",
    )
    if p:
        raise ValidationError(p)
    return result


def _with_chosen_town(address: AddressQuery, choice: str) -> AddressQuery:
    """The "Did you mean…?" radio the host picked ("OR|US") fills region and country."""
    region, _, country = choice.partition("|")
    if not (region and len(country) == 2) or address.region:
        return address
    return replace(address, region=region, country=country.upper())


def check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> v.Problems:
    problems: v.Problems = {}
    if starts_at <= now:
        problems["starts_at"] = "The start time is in the past. Pick a time that's still ahead."
    elif starts_at > now + MAX_AHEAD:
        problems["starts_at"] = (
            "The start time is more than two years ahead. Pick a time within the next two years."
        )
    if ends_at <= starts_at:
        problems["ends_at"] = "The meeting must end after it starts."
    elif ends_at - starts_at > MAX_DURATION:
        problems["ends_at"] = "A house meeting can last at most 12 hours."
    return problems


def check_campaign_window(campaign: Campaign | None, starts_at: datetime, tz: str) -> v.Problems:
    """A campaign's meetings happen between its first and last day, read on the place's
    clock (a meeting at 23:30 on the last day in Honolulu is still in the campaign)."""
    if campaign is None or (campaign.starts_on is None and campaign.ends_on is None):
        return {}
    day = wall_clock(starts_at, tz).date()
    first, last = campaign.starts_on, campaign.ends_on
    if (first is None or first <= day) and (last is None or day <= last):
        return {}
    return {"starts_at": _window_message(campaign.name, first, last)}


def _window_message(name: str, first: date | None, last: date | None) -> str:
    if first and last:
        span = f"runs from {_day(first)} to {_day(last)}"
    elif first:
        span = f"starts on {_day(first)}"
    else:
        span = f"ends on {_day(last)}"  # type: ignore[arg-type]
    return f"{name} {span}. Pick a date within the campaign."


def _day(value: date) -> str:
    return value.strftime("%B %-d, %Y")


def meeting_as_input(meeting: Meeting) -> dict[str, Any]:
    """The meeting's current values, shaped like the JSON body and the host form."""
    start = wall_clock(meeting.starts_at, meeting.timezone)
    end = wall_clock(meeting.ends_at, meeting.timezone)
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "title": meeting.title,
        "description": meeting.description,
        "starts_at": start.strftime(fmt),
        "ends_at": end.strftime(fmt),
        "starts_at_fold": v.fold_of(start),
        "ends_at_fold": v.fold_of(end),
        "address": {
            "street": meeting.street,
            "locality": meeting.locality,
            "postal_code": meeting.postal_code,
            "country": meeting.country,
            "region": meeting.region,
            "directions": meeting.directions,
            "venue": meeting.venue_name,
        },
        "kind": str(meeting.kind),
        "capacity": meeting.capacity,
        "visibility": str(meeting.visibility),
        "campaign": meeting.campaign.slug if meeting.campaign else "",
        "rsvp_goal": meeting.rsvp_goal,
        "host_note": meeting.host_note,
        "reply_to_host": meeting.reply_to_host,
        "waitlist": meeting.waitlist_enabled,
        "approve_guests": meeting.approve_guests,
        "host": {
            "name": meeting.host.name,
            "email": meeting.host.email,
            "phone": meeting.host.phone or "",
        },
    }


def repeat_input(meeting: Meeting) -> dict[str, Any]:
    """The host form for another meeting like this one: the same place, topic, settings
    and host, with the date left for the host to choose."""
    blank = {"starts_at": "", "ends_at": "", "starts_at_fold": "", "ends_at_fold": ""}
    return {**meeting_as_input(meeting), **blank}


def merge_changes(current: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = merge_changes(merged[key], value)
        else:
            merged[key] = value
    address = changes.get("address")
    if isinstance(address, Mapping) and "region" not in address and address.keys() & _PLACE_KEYS:
        # A new town, ZIP or country is read afresh, not inside the old one's state.
        merged["address"] = {**merged["address"], "region": ""}
    for name in ("starts_at", "ends_at"):
        if name in changes and f"{name}_fold" not in changes:
            # A new time doesn't inherit the old one's "first"/"second": if it is
            # ambiguous too, the host is asked again rather than guessed for.
            merged.pop(f"{name}_fold", None)
    return merged
