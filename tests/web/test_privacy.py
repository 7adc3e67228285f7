"""No public page, API answer, map feature or feed reveals a home's street, its
directions, its exact point, or the host's email, phone or last name."""

from __future__ import annotations

import io

import httpx
import pytest
from pypdf import PdfReader
from starlette.routing import Route

from kit.store.models import Meeting
from kit.web.routes import ROUTES
from tests.factories import HouseGeocoder, make_campaign, make_meeting

SECRETS = {
    "street": "417 Elm St",
    "directions": "knock twice at the green gate",
    "email": "quinn.private@example.org",
    "phone": "212 555 0100",
    "last name": "Doe-Secretsson",
}
# Routes that need the host's or a guest's secret; checked for refusal elsewhere.
# Coordinators' pages and API need a signed-in coordinator: tests/test_authorization.py.
PRIVATE_PREFIXES = (
    "/manage",
    "/rsvp/",
    "/unsubscribe/",
    "/feeds/",
    "/ideas/confirm/",
    "/hosts/confirm/",
    "/dev/",  # the development outbox: only with KIT_DEBUG=1 (tests/web/test_dev.py)
    "/coordinators",
    "/api/coordinators",
)
PRIVATE_PATHS = {
    "/meetings/{id}/packet.pdf",  # the host's packet: tests/web/test_printables.py
    "/meetings/{id}/thanks",  # only for the RSVP form's sender: tests/test_identity.py
}
CAMPAIGN = "spring"
QUERY = {
    "/find": "?near=10027",
    "/api/meetings": "?near=10027&radius_km=50",
    "/api/meetings.geojson": "?bbox=-75,40,-73,41.5",
    "/meetings.ics": "?near=10027",
}


def readable_text(response: httpx.Response) -> str:
    """What a person could read: PDFs are compressed, so extract their text first."""
    if response.headers.get("content-type", "").startswith("application/pdf"):
        reader = PdfReader(io.BytesIO(response.content))
        metadata = " ".join(str(v) for v in (reader.metadata or {}).values())
        return metadata + "\n".join(page.extract_text() for page in reader.pages)
    return response.text


def public_get_paths(meeting_id: str) -> list[str]:
    paths = []
    for route in ROUTES:
        if not isinstance(route, Route) or "GET" not in (route.methods or set()):
            continue
        if route.path.startswith(PRIVATE_PREFIXES) or route.path in PRIVATE_PATHS:
            continue
        path = route.path.replace("{id}", meeting_id).replace("{slug}", CAMPAIGN)
        paths.append(path + QUERY.get(route.path, ""))
    return paths


async def test_no_public_route_reveals_private_details(client: httpx.AsyncClient) -> None:
    await make_campaign(CAMPAIGN)
    home = await make_meeting(
        HouseGeocoder(40.813217, -73.949381),
        campaign=CAMPAIGN,
        address={"street": SECRETS["street"], "directions": SECRETS["directions"]},
        host={
            "name": f"Quinn {SECRETS['last name']}",
            "email": SECRETS["email"],
            "phone": "+1 " + SECRETS["phone"],
        },
    )
    meeting = await Meeting.get(id=home.meeting.id)
    exact = (f"{meeting.lat:.4f}", f"{meeting.lon:.4f}")
    paths = public_get_paths(meeting.public_id)
    assert any("/api/meetings?" in p for p in paths) and any(".geojson" in p for p in paths)
    for path in paths:
        response = await client.get(path, follow_redirects=True)  # /m/{id}: the flyer's link
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        text = readable_text(response)
        for what, secret in SECRETS.items():
            assert secret.lower() not in text.lower(), f"{path} reveals the {what}"
        assert not (exact[0] in text and exact[1] in text), f"{path} reveals the exact point"
        assert str(meeting.lat) not in text and str(meeting.lon) not in text, path


async def test_approximate_point_is_half_to_one_and_a_half_km_away_and_stable(
    client: httpx.AsyncClient,
) -> None:
    from kit.maps.privacy import haversine_km

    created = await make_meeting()
    meeting = await Meeting.get(id=created.meeting.id)
    offset = haversine_km(meeting.lat, meeting.lon, meeting.approx_lat, meeting.approx_lon)
    assert 0.5 <= offset <= 1.5
    answers = {(await client.get(f"/api/meetings/{meeting.public_id}")).text for _ in range(5)}
    assert len(answers) == 1


async def test_public_place_shows_its_address(client: httpx.AsyncClient) -> None:
    created = await make_meeting(kind="public", address={"street": "455 Main St Library"})
    body = (await client.get(f"/api/meetings/{created.meeting.public_id}")).json()
    assert body["location"]["approximate"] is False
    assert body["location"]["street"] == "455 Main St Library"
    assert "quinn@example.org" not in str(body)


HOME = (40.813217, -73.949381)
SEARCH = (40.80, -73.95)


async def test_every_public_route_shows_a_home_at_one_and_the_same_pin(
    client: httpx.AsyncClient,
) -> None:
    """A second displaced point anywhere (search, map, page, calendar) would be a
    second sample to average; distances are measured to this same pin."""
    from icalendar import Calendar

    from kit.maps.privacy import MIN_OFFSET_KM, haversine_km

    created = await make_meeting(HouseGeocoder(*HOME))
    meeting_id = created.meeting.public_id
    location = (await client.get(f"/api/meetings/{meeting_id}")).json()["location"]
    pin = (location["lat"], location["lon"])
    assert location["approximate"] is True
    assert haversine_km(*pin, *HOME) >= MIN_OFFSET_KM

    near = {"near": f"{SEARCH[0]},{SEARCH[1]}"}
    [found] = (await client.get("/api/meetings", params=near)).json()["meetings"]
    assert (found["location"]["lat"], found["location"]["lon"]) == pin
    assert found["distance_km"] == round(haversine_km(*SEARCH, *pin), 1)
    box = {"bbox": "-74.1,40.7,-73.8,40.9"}
    [feature] = (await client.get("/api/meetings.geojson", params=box)).json()["features"]
    assert feature["geometry"]["coordinates"] == [pin[1], pin[0]]
    page = (await client.get(f"/meetings/{meeting_id}")).text
    assert f'data-lat="{pin[0]}" data-lon="{pin[1]}"' in page
    ics = (await client.get(f"/meetings/{meeting_id}.ics")).content
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert (event["GEO"].latitude, event["GEO"].longitude) == pytest.approx(pin, abs=1e-6)


async def test_a_public_venue_is_shown_and_measured_at_its_door(client: httpx.AsyncClient) -> None:
    """Its address is public; a distance to any other point would leak that point."""
    from kit.maps.privacy import haversine_km

    created = await make_meeting(HouseGeocoder(*HOME), kind="public")
    location = (await client.get(f"/api/meetings/{created.meeting.public_id}")).json()["location"]
    assert (location["lat"], location["lon"]) == HOME
    assert location["approximate"] is False
    near = {"near": f"{SEARCH[0]},{SEARCH[1]}"}
    [found] = (await client.get("/api/meetings", params=near)).json()["meetings"]
    assert found["distance_km"] == round(haversine_km(*SEARCH, *HOME), 1)
