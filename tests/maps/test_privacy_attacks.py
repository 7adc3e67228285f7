"""The attacks on a home's public pin, played through the public API as an outsider would.

The outsider sees what everyone sees: each meeting's shown point (``location``) and,
from any search point they like, the distance to the meeting (``distance_km``, to
0.1 km). From many searches they can solve for the point distances are measured to.
None of it must bring them closer to a home than the pin itself: 0.5 km at least.
"""

from __future__ import annotations

import ast
import math
import statistics
from pathlib import Path
from typing import Any

import httpx

from kit.maps.privacy import MIN_OFFSET_KM, destination, haversine_km, home_pin, place_cell
from kit.meetings.service import (
    create_meeting,
    get_managed_meeting,
    parse_meeting_input,
    repeat_input,
    update_meeting,
)
from kit.store.models import VenueKind
from tests.factories import SECRET, SITE, HouseGeocoder, local, make_meeting

Point = tuple[float, float]
HOME: Point = (40.813217, -73.949381)  # a house in Harlem
CAFE: Point = (40.805476, -73.965601)  # a café on Broadway, 1.6 km away
# How far a fit from 36 distances rounded to 0.1 km can be off (measured: under 30 m).
FIT_ERROR_KM = 0.05


# --- what the outsider can do ---------------------------------------------------------


async def shown_point(client: httpx.AsyncClient, meeting_id: str) -> Point:
    location = (await client.get(f"/api/meetings/{meeting_id}")).json()["location"]
    return location["lat"], location["lon"]


async def distances(
    client: httpx.AsyncClient, meeting_id: str, origins: list[Point]
) -> list[tuple[Point, float]]:
    """The distance to the meeting from each search point, as the search API answers."""
    seen = []
    for lat, lon in origins:
        response = await client.get(
            "/api/meetings", params={"near": f"{lat},{lon}", "radius_km": "50", "limit": "100"}
        )
        assert response.status_code == 200, response.text
        [item] = [m for m in response.json()["meetings"] if m["id"] == meeting_id]
        seen.append(((lat, lon), item["distance_km"]))
    return seen


def ring_around(centre: Point) -> list[Point]:
    """36 search points 3 to 8 km around a point, in every direction."""
    return [
        destination(*centre, km, math.radians(bearing + km * 7))
        for km in (3.0, 5.0, 8.0)
        for bearing in range(0, 360, 30)
    ]


def trilaterate(seen: list[tuple[Point, float]], guess: Point) -> Point:
    """Least squares (Gauss-Newton) for the point the distances are measured to."""
    lat, lon = guess
    for _ in range(30):
        rows = []
        for (olat, olon), km in seen:
            here = haversine_km(lat, lon, olat, olon)
            d_lat = (haversine_km(lat + 1e-6, lon, olat, olon) - here) / 1e-6
            d_lon = (haversine_km(lat, lon + 1e-6, olat, olon) - here) / 1e-6
            rows.append((d_lat, d_lon, km - here))
        a = sum(r[0] * r[0] for r in rows)
        b = sum(r[0] * r[1] for r in rows)
        d = sum(r[1] * r[1] for r in rows)
        e = sum(r[0] * r[2] for r in rows)
        f = sum(r[1] * r[2] for r in rows)
        det = a * d - b * b
        lat, lon = lat + (d * e - b * f) / det, lon + (a * f - b * e) / det
    return lat, lon


def minus(a: Point, b: Point) -> Point:
    return a[0] - b[0], a[1] - b[1]


def plus(a: Point, b: Point) -> Point:
    return a[0] + b[0], a[1] + b[1]


def east_of(point: Point, km: float) -> Point:
    return destination(*point, km, math.pi / 2)


async def home_meeting(home: Point, n: int = 0, **overrides: Any) -> str:
    created = await make_meeting(
        HouseGeocoder(*home),
        title=f"Neighbors talk schools #{n}",
        starts_at=local(3 + n, 18),
        ends_at=local(3 + n, 20),
        **overrides,
    )
    return created.meeting.public_id


# --- (a) trilateration, before and after a move ------------------------------------------


async def test_a_cafe_is_measured_to_the_point_it_shows(client: httpx.AsyncClient) -> None:
    cafe = await make_meeting(HouseGeocoder(*CAFE), kind="public", address={"street": "2920 B'way"})
    meeting_id = cafe.meeting.public_id
    shown = await shown_point(client, meeting_id)
    assert shown == CAFE  # a café's address is public: shown as it is
    solved = trilaterate(await distances(client, meeting_id, ring_around(shown)), shown)
    assert haversine_km(*solved, *CAFE) < FIT_ERROR_KM


async def test_trilaterating_a_cafe_then_subtracting_after_a_move_home_finds_nothing(
    client: httpx.AsyncClient,
) -> None:
    """Before: a café shown at its door but measured to a hidden point, keyed by the meeting.
    Solving the distances gave the offset; after the host moved the meeting home, the new
    pin minus that offset was the house."""
    cafe = await make_meeting(HouseGeocoder(*CAFE), kind="public", address={"street": "2920 B'way"})
    meeting_id = cafe.meeting.public_id
    shown_cafe = await shown_point(client, meeting_id)
    solved_cafe = trilaterate(await distances(client, meeting_id, ring_around(shown_cafe)), CAFE)
    learnt_offset = minus(solved_cafe, shown_cafe)

    meeting = await get_managed_meeting(meeting_id, cafe.manage_token)
    changes = {"kind": "home", "address": {"street": "417 Elm St", "directions": "blue door"}}
    await update_meeting(meeting, changes, geocoder=HouseGeocoder(*HOME), site=SITE)

    pin = await shown_point(client, meeting_id)
    solved_pin = trilaterate(await distances(client, meeting_id, ring_around(pin)), pin)
    assert haversine_km(*solved_pin, *pin) < FIT_ERROR_KM  # measured to the pin, no more
    guess = minus(pin, learnt_offset)
    assert haversine_km(*guess, *HOME) >= MIN_OFFSET_KM - FIT_ERROR_KM
    assert haversine_km(*pin, *HOME) >= MIN_OFFSET_KM


async def test_a_guest_of_the_old_home_cant_find_the_new_one(client: httpx.AsyncClient) -> None:
    """A confirmed guest knows the old home's address; with the offset kept across a move,
    old pin minus old home plus new pin was the new home. Ten hosts move; the guesses
    are as far off as pins drawn at random are, never near the houses."""
    misses = []
    for n in range(10):
        old_home = east_of(HOME, 0.3 * n)
        new_home = destination(*old_home, 2.0 + 0.2 * n, math.radians(40 * n))
        created = await make_meeting(
            HouseGeocoder(*old_home),
            title=f"Talk {n}",
            starts_at=local(3 + n, 18),
            ends_at=local(3 + n, 20),
        )
        meeting_id = created.meeting.public_id
        old_pin = await shown_point(client, meeting_id)
        meeting = await get_managed_meeting(meeting_id, created.manage_token)
        changes = {"address": {"street": f"{n + 1} Oak St"}}
        await update_meeting(meeting, changes, geocoder=HouseGeocoder(*new_home), site=SITE)
        new_pin = await shown_point(client, meeting_id)
        guess = minus(new_pin, minus(old_pin, old_home))
        misses.append(haversine_km(*guess, *new_home))
    assert statistics.median(misses) > MIN_OFFSET_KM, misses


async def test_a_change_of_kind_alone_moves_the_public_point(client: httpx.AsyncClient) -> None:
    """A café that turns out to be the host's home stops being shown at its door."""
    created = await make_meeting(HouseGeocoder(*HOME), kind="public")
    meeting_id = created.meeting.public_id
    assert await shown_point(client, meeting_id) == HOME
    meeting = await get_managed_meeting(meeting_id, created.manage_token)
    await update_meeting(meeting, {"kind": "home"}, geocoder=HouseGeocoder(*HOME), site=SITE)
    assert haversine_km(*await shown_point(client, meeting_id), *HOME) >= MIN_OFFSET_KM
    meeting = await get_managed_meeting(meeting_id, created.manage_token)
    await update_meeting(meeting, {"kind": "public"}, geocoder=HouseGeocoder(*HOME), site=SITE)
    assert await shown_point(client, meeting_id) == HOME


# --- (b) averaging the meetings of one home -----------------------------------------------


async def test_forty_meetings_at_one_home_show_one_pin_at_least_half_a_km_away(
    client: httpx.AsyncClient,
) -> None:
    """Before: each meeting had its own offset, and the mean of forty pins fell within
    about 100 m of the house. Now there is one pin, so the mean is that pin."""
    ids = {await home_meeting(HOME, n) for n in range(40)}
    response = await client.get(
        "/api/meetings", params={"near": f"{HOME[0]},{HOME[1]}", "limit": "100"}
    )
    found = [m for m in response.json()["meetings"] if m["id"] in ids]
    assert len(found) == 40
    pins = {(m["location"]["lat"], m["location"]["lon"]) for m in found}
    assert len(pins) == 1, f"{len(pins)} different pins for one home"
    assert len({m["distance_km"] for m in found}) == 1
    mean = (statistics.fmean(p[0] for p in pins), statistics.fmean(p[1] for p in pins))
    assert haversine_km(*mean, *HOME) >= MIN_OFFSET_KM

    [(lat, lon)] = pins
    features = (
        await client.get("/api/meetings.geojson", params={"bbox": "-74.1,40.7,-73.8,40.9"})
    ).json()["features"]
    assert len(features) == 40
    assert {tuple(f["geometry"]["coordinates"]) for f in features} == {(lon, lat)}


async def test_hosting_again_at_the_same_home_keeps_the_pin(client: httpx.AsyncClient) -> None:
    """ "Host another meeting like this": the same address, geocoded again, the same pin."""
    first = await make_meeting(HouseGeocoder(*HOME))
    meeting = await get_managed_meeting(first.meeting.public_id, first.manage_token)
    form = {**repeat_input(meeting), "starts_at": local(20, 18), "ends_at": local(20, 20)}
    again = await create_meeting(
        parse_meeting_input(form),
        geocoder=HouseGeocoder(*HOME),
        site=SITE,
        proven_emails={meeting.host.email},
    )
    pin = await shown_point(client, first.meeting.public_id)
    assert await shown_point(client, again.meeting.public_id) == pin
    assert haversine_km(*pin, *HOME) >= MIN_OFFSET_KM


# --- (c) neighbours, (d) the same home geocoded twice ---------------------------------------


def offset_km(pin: Point, home: Point) -> Point:
    """The pin's displacement from the home, in km east and north."""
    north = (pin[0] - home[0]) * math.pi / 180 * 6371.0088
    east = (pin[1] - home[1]) * math.pi / 180 * 6371.0088 * math.cos(math.radians(home[0]))
    return east, north


def km_between(a: Point, b: Point) -> float:
    return math.dist(a, b)


async def test_two_homes_30_m_apart_get_unrelated_pins(client: httpx.AsyncClient) -> None:
    """A host who knows their own pin's offset can't subtract it from the neighbor's pin."""
    neighbor = east_of(HOME, 0.03)
    mine = await shown_point(client, await home_meeting(HOME, 1))
    theirs = await shown_point(client, await home_meeting(neighbor, 2))
    guess = minus(theirs, minus(mine, HOME))
    assert haversine_km(*guess, *neighbor) > 0.1
    assert haversine_km(*theirs, *neighbor) >= MIN_OFFSET_KM


def test_homes_30_m_apart_never_share_a_cell_and_their_pins_are_unrelated() -> None:
    pairs = []
    for n in range(60):
        home = destination(*HOME, 0.1 * n, math.radians(17 * n))
        neighbor = destination(*home, 0.03, math.radians(6 * n))
        pairs.append((home, neighbor))
    assert all(place_cell(*a) != place_cell(*b) for a, b in pairs)
    differences = [
        km_between(offset_km(home_pin(*a, key=SECRET), a), offset_km(home_pin(*b, key=SECRET), b))
        for a, b in pairs
    ]
    # Independent pins 0.5-1.5 km out differ by about 1.3 km; one offset shared would be 0.
    assert statistics.median(differences) > 0.8


async def test_the_same_home_geocoded_with_float_noise_keeps_its_pin(
    client: httpx.AsyncClient,
) -> None:
    # This home lies more than a metre inside its cell, so any noise below that keeps
    # its pin (a point within a metre of a cell's edge could cross it).
    metre = 1e-5
    around = [plus(HOME, (dlat, dlon)) for dlat in (-metre, metre) for dlon in (-metre, metre)]
    assert {home_pin(*p, key=SECRET) for p in around} == {home_pin(*HOME, key=SECRET)}

    noisy = [
        HOME,
        plus(HOME, (1e-9, -1e-9)),
        plus(HOME, (-3e-10, 4e-10)),
        (float(f"{HOME[0]:.7f}"), float(f"{HOME[1]:.7f}")),
        (HOME[0] + 2e-7, HOME[1] - 1e-7),  # a centimetre or two: another provider's rounding
    ]
    pins = {await shown_point(client, await home_meeting(p, n)) for n, p in enumerate(noisy)}
    assert len(pins) == 1


def test_the_privacy_leaf_imports_only_the_standard_library() -> None:
    from kit.maps import privacy

    tree = ast.parse(Path(privacy.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported == {"__future__", "hashlib", "hmac", "math"}
    assert privacy.PUBLIC_VENUE == VenueKind.PUBLIC  # its copy of the kit's name
