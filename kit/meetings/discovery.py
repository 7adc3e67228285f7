"""Use cases for neighbors looking for a meeting: search near a place, or in a map's box.

Query parameters arrive as text from the API and from the /find page alike;
every problem is reported per parameter with a 400, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kit.core.errors import ValidationError
from kit.maps import cursors
from kit.maps.countries import country_name
from kit.maps.distance import DistanceUnit, unit_for
from kit.maps.gazetteer import US_ZIP_COUNTRIES, parse_zip
from kit.maps.geocoding import parse_coordinates, point_place
from kit.maps.places import Geocoder, Place
from kit.maps.timezones import valid_coordinates
from kit.meetings import map_clusters, search
from kit.store.models import Campaign, Meeting


class InvalidQuery(ValidationError):
    """A search parameter that can't be used; the fields say which and why."""

    status_code = 400

    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__(fields, "Please check the search: " + " ".join(fields.values()))


@dataclass(frozen=True)
class Suggestion:
    """ "Did you mean 75011 Paris, France?": the same code read in another country."""

    near: str
    country: str
    label: str  # "75011 Paris, France"
    hinted: bool  # the visitor's language or region points there: offer it prominently

    def to_json(self) -> dict[str, str]:
        return {"near": self.near, "country": self.country, "label": self.label}


@dataclass(frozen=True)
class SearchResult:
    place: Place
    radius_km: float
    items: list[tuple[Meeting, float]]
    next_cursor: str | None
    unit: DistanceUnit  # what people at the place count distances in
    did_you_mean: tuple[Suggestion, ...] = ()


async def resolve_place(
    near: str, geocoder: Geocoder, country: str = "", hint_countries: Sequence[str] = ()
) -> tuple[Place, tuple[Suggestion, ...]]:
    """The place searched near, and the other countries a bare code may mean.

    ``country`` (an explicit ``country=``, or the campaign's) says where a bare postal
    code is: "75011" is a Paris code in France, not Texas. Without one it is a US ZIP,
    and the countries abroad that have the code are suggested (``hint_countries``, from
    the visitor's language, first).
    """
    near = " ".join(near.split())
    if not near:
        raise InvalidQuery({"near": "Enter a ZIP code, a town (e.g. “Oakland, CA”) or lat,lon."})
    if len(near) > 120:
        raise InvalidQuery({"near": "That place name is too long."})
    if country and country not in US_ZIP_COUNTRIES and parse_zip(near):
        return await _foreign_postcode(parse_zip(near) or near, country, geocoder), ()
    if not country and parse_zip(near):
        return await _us_zip_or_abroad(parse_zip(near) or near, geocoder, hint_countries)
    place = await geocoder.search(near)
    if place is None:
        raise InvalidQuery(
            {
                "near": f"We couldn't find “{near}”. Try a ZIP code, or a town with its "
                "state or country, like “Lyon, France”."
            }
        )
    return place, ()


async def _foreign_postcode(code: str, country: str, geocoder: Geocoder) -> Place:
    place = await geocoder.search(f"{code}, {country}")
    if place is None or place.country != country:
        raise InvalidQuery(
            {
                "near": f"We don't know the postal code {code} in {country_name(country)}. "
                "Check it, or try the town's name instead, like “Paris, France”."
            }
        )
    return place


# At most this many other countries are offered for a code read abroad by population.
OTHER_COUNTRIES_SHOWN = 3


def did_you_mean(
    near: str,
    place: Place,
    geocoder: Geocoder,
    hint_countries: Sequence[str] = (),
    *,
    unhinted: bool = False,
) -> tuple[Suggestion, ...]:
    """Other countries where a bare code is a postal code too.

    The countries the visitor's language or region names (``hint_countries``, in the
    visitor's order) are offered, marked ``hinted``. Nothing else is offered for a code
    read as a US ZIP: nearly every ZIP is also a code somewhere (10027 is in Poland and
    Spain), and "nothing suggests another country" means it is the ZIP. ``unhinted``
    (the code is no US ZIP and was read abroad by population) offers up to three others.
    """
    code = parse_zip(near)
    places_with = getattr(geocoder, "places_with_postcode", None)
    if code is None or places_with is None:
        return ()
    abroad = [p for p in places_with(code) if p.country != place.country]
    hinted = [p for c in hint_countries for p in abroad if p.country == c]
    if hinted:
        return tuple(_suggestion(code, p, True) for p in dict.fromkeys(hinted))
    if not unhinted:
        return ()
    return tuple(_suggestion(code, p, False) for p in abroad[:OTHER_COUNTRIES_SHOWN])


def _suggestion(code: str, place: Place, hinted: bool) -> Suggestion:
    label = f"{code} {place.locality}, {country_name(place.country)}"
    return Suggestion(near=code, country=place.country, label=label, hinted=hinted)


async def _us_zip_or_abroad(
    near: str, geocoder: Geocoder, hint_countries: Sequence[str]
) -> tuple[Place, tuple[Suggestion, ...]]:
    """A bare code with no country given: a US ZIP (with the other countries that have
    it offered), or, when no US ZIP has it, the hinted or most populous place abroad."""
    place = await geocoder.search(near)
    if place is not None:
        return place, did_you_mean(near, place, geocoder, hint_countries)
    places_with = getattr(geocoder, "places_with_postcode", None)
    abroad = places_with(near) if places_with else []
    abroad.sort(key=lambda p: p.country not in hint_countries)  # stable: population after
    if not abroad:
        raise InvalidQuery({"near": f"We couldn't find the ZIP or postal code “{near}”."})
    first = abroad[0]
    return first, did_you_mean(near, first, geocoder, hint_countries, unhinted=True)


def bare_point(near: str) -> Place | None:
    """A valid "lat,lon" as the geocoder would place it, minus the nearest town's name,
    region and country (a lookup on the event loop)."""
    point = parse_coordinates(" ".join(near.split()))
    return point_place(*point) if point is not None and valid_coordinates(*point) else None


def search_country(params: Mapping[str, str], campaign: Campaign | None) -> str:
    """Where a bare postal code is read: ``country=`` if given, else the campaign's."""
    country = params.get("country", "").strip().upper()
    if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise InvalidQuery({"country": "The country is a two-letter code, like US or FR."})
    return country or (campaign.country if campaign else "")


async def campaign_for(slug: str | None) -> Campaign | None:
    if not slug:
        return None
    campaign = await Campaign.get_or_none(slug=slug[:64]).only("id", "country")
    if campaign is None:
        raise InvalidQuery({"campaign": f"There is no campaign called “{slug[:64]}”."})
    return campaign


async def campaign_id_for(slug: str | None) -> int | None:
    if not slug:
        return None
    campaign = await Campaign.get_or_none(slug=slug[:64]).only("id")
    if campaign is None:
        raise InvalidQuery({"campaign": f"There is no campaign called “{slug[:64]}”."})
    return campaign.id


# Search dates this far from today are typos (year 1, 9999): no meeting is planned more
# than two years ahead, and converting such a day to UTC, or adding the day after it,
# would overflow.
SEARCH_YEARS = 10


def parse_day(value: str | None, name: str, tz: str, today: date) -> datetime | None:
    """A YYYY-MM-DD date as the start of that day on the searched place's clocks."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidQuery({name: f"“{value[:20]}” is not a date like 2026-12-05."}) from None
    if abs(day.year - today.year) > SEARCH_YEARS:
        far = f"“{value[:20]}” is too far from today. Pick a date within {SEARCH_YEARS} years."
        raise InvalidQuery({name: far})
    return datetime.combine(day, time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)


async def search_meetings(
    params: Mapping[str, str],
    geocoder: Geocoder,
    *,
    now: datetime | None = None,
    local_radius: bool = False,
    hint_countries: Sequence[str] = (),
    labelled: bool = True,
) -> SearchResult:
    """Upcoming meetings near ``params["near"]``, nearest first (``sort=date``: soonest).

    ``hint_countries`` (from the visitor's language) orders the "Did you mean…?"
    suggestions; a bare code that is a US ZIP stays one. Without ``radius_km``
    the radius is 25 km, or with ``local_radius`` (the find
    page) the place's own round figure: 15 miles in the US, 25 km in France.
    ``labelled=False`` (the JSON API, which shows neither the place's name nor its
    distance unit) takes a "lat,lon" as it is, without looking up the town nearest it.
    """
    campaign = await campaign_for(params.get("campaign"))
    country = search_country(params, campaign)
    near = params.get("near", "")
    bare = None if labelled else bare_point(near)
    suggestions: tuple[Suggestion, ...]
    if bare is not None:
        place, suggestions = bare, ()
    else:
        place, suggestions = await resolve_place(near, geocoder, country, hint_countries)
    unit = unit_for(place.country)
    radius_text = params.get("radius_km")
    if local_radius and not (radius_text or "").strip():
        radius_text = str(unit.to_km(unit.default_radius))
    try:
        radius = search.parse_radius(radius_text)
        sort = search.parse_sort(params.get("sort"))
    except ValidationError as exc:
        raise InvalidQuery(exc.fields) from None
    query = cursors.NearbyQuery(
        lat=place.lat,
        lon=place.lon,
        radius_km=radius,
        sort=sort,
        campaign_id=campaign.id if campaign else None,
        **shared_filters(params, place.timezone, now),
    )
    try:
        page = await search.find_nearby(query)
    except ValidationError as exc:
        raise InvalidQuery(exc.fields) from None
    return SearchResult(place, radius, page.items, page.next_cursor, unit, suggestions)


def shared_filters(params: Mapping[str, str], tz: str, now: datetime | None) -> dict[str, Any]:
    """The fields of ``cursors.Filters`` both searches read alike, campaign aside."""
    try:
        limit = search.parse_limit(params.get("limit"))
    except ValidationError as exc:
        raise InvalidQuery(exc.fields) from None
    starts_from, starts_before = date_window(params, tz, now)
    return {
        "starts_from": starts_from,
        "starts_before": starts_before,
        "has_space": params.get("has_space", "").lower() in {"1", "true", "yes", "on"},
        "limit": limit,
        "cursor": params.get("cursor") or None,
        "now": now,
    }


def date_window(
    params: Mapping[str, str], tz: str, now: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """``from`` and ``to`` as UTC bounds: from the start of the first day, to the start
    of the day after the last one ("to" names the last day included)."""
    today = (now or datetime.now(UTC)).date()
    starts_from = parse_day(params.get("from"), "from", tz, today)
    to_day = parse_day(params.get("to"), "to", tz, today)
    if starts_from and to_day and to_day < starts_from:
        raise InvalidQuery({"to": "The end date is before the start date."})
    return starts_from, to_day + timedelta(days=1) if to_day else None


# --- a campaign's meetings, without a place ------------------------------------------


@dataclass(frozen=True)
class CampaignListing:
    campaign: Campaign
    items: list[Meeting]
    next_cursor: str | None


def lists_campaign(params: Mapping[str, str]) -> bool:
    """A campaign without a place: its meetings everywhere, rather than a search."""
    return not params.get("near", "").strip() and bool(params.get("campaign", "").strip())


async def listed_campaign(slug: str) -> Campaign:
    # Only a public campaign: the listing names it, and a private one has no public page.
    campaign = await Campaign.get_or_none(slug=slug[:64], is_public=True)
    if campaign is None:
        raise InvalidQuery({"campaign": f"There is no campaign called “{slug[:64]}”."})
    return campaign


async def list_campaign_meetings(
    params: Mapping[str, str], *, now: datetime | None = None
) -> CampaignListing:
    """A campaign's upcoming public meetings, soonest first, wherever they are.

    There is no place, so no distance to sort by: ``sort`` is checked but always reads
    as the date. ``from``/``to`` are days in UTC, no place giving a clock to read them on.
    """
    campaign = await listed_campaign(params.get("campaign", "").strip())
    try:
        search.parse_sort(params.get("sort"))
    except ValidationError as exc:
        raise InvalidQuery(exc.fields) from None
    query = cursors.UpcomingQuery(campaign_id=campaign.id, **shared_filters(params, "UTC", now))
    try:
        page = await search.list_upcoming(query)
    except ValidationError as exc:
        raise InvalidQuery(exc.fields) from None
    return CampaignListing(campaign, page.items, page.next_cursor)


async def meetings_in_view(params: Mapping[str, str]) -> map_clusters.MapView:
    """The map's points, or clusters, for the visible box (``bbox=west,south,east,north``,
    ``zoom=0..20``: derived from the box when left out)."""
    try:
        box = search.parse_bbox(params.get("bbox", ""))
    except ValidationError as exc:
        raise InvalidQuery(exc.fields) from None
    zoom = parse_zoom(params.get("zoom"))
    campaign_id = await campaign_id_for(params.get("campaign"))
    return await map_clusters.map_view(box, zoom=zoom, campaign_id=campaign_id)


def parse_zoom(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or int(text) > map_clusters.MAX_ZOOM:
        top = map_clusters.MAX_ZOOM
        raise InvalidQuery({"zoom": f"The zoom is a whole number from 0 to {top}."})
    return int(text)
