"""The host is shown where their meeting was placed: town, region, clock and a map
link, at the public point only (a home's pin, never the house)."""

from __future__ import annotations

import re

import httpx

from kit.meetings.service import describe_placement
from kit.store.models import OutboxMessage
from kit.web.templating import make_templates
from tests.factories import SITE, HouseGeocoder, make_meeting

HOUSE = (43.65912, -70.25681)  # a house in Portland, Maine
PORTLAND_ME = {"street": "12 Oak St", "locality": "Portland", "postal_code": "04101"}


def render_placed(placement: object) -> str:
    env = make_templates().env
    return env.get_template("meetings/_placed.html").render(placement=placement)


async def test_the_placed_partial_shows_town_clock_and_the_public_pin(db: str) -> None:
    created = await make_meeting(HouseGeocoder(*HOUSE), address=PORTLAND_ME)
    meeting = created.meeting
    placement = describe_placement(meeting)
    assert (placement.label, placement.timezone) == ("Portland, ME, US", "America/New_York")
    html = render_placed(placement)
    assert "Portland, ME, US (04101)" in html
    assert "Eastern Time: your meeting" in html  # the name people say, not the IANA id
    assert f"mlat={meeting.approx_lat:.5f}&amp;mlon={meeting.approx_lon:.5f}" in html
    assert "the pin neighbors see" in html
    assert 'href="#field-address-locality">Wrong place? Fix the address below' in html
    for exact in (f"{HOUSE[0]:.3f}", f"{HOUSE[1]:.3f}", "12 Oak St"):
        assert exact not in html


async def test_the_hosts_emails_say_where_the_meeting_was_placed(db: str) -> None:
    await make_meeting(HouseGeocoder(*HOUSE), address=PORTLAND_ME)
    await make_meeting(HouseGeocoder(*HOUSE), proven=False, address=PORTLAND_ME)
    for kind in ("meeting_created", "host_confirm"):
        email = await OutboxMessage.get(kind=kind)
        assert "Placed in Portland, ME, US, on Eastern Time." in email.payload["body_text"]
        assert "https://www.openstreetmap.org/?mlat=" in email.payload["body_text"]
        assert "Placed in <strong>Portland, ME, US</strong>" in email.payload["body_html"]
        assert f"{HOUSE[0]:.4f}" not in email.payload["body_text"] + email.payload["body_html"]


async def test_the_manage_page_draws_a_small_map_of_the_meetings_own_point(
    client: httpx.AsyncClient,
) -> None:
    """The host sees their meeting's exact pin (they typed the address) and, for a home,
    the area neighbors see; the kit's own Leaflet and tile setting, no other script."""
    created = await make_meeting(HouseGeocoder(*HOUSE), address=PORTLAND_ME)
    meeting = created.meeting
    page = await client.get(f"/manage/{meeting.public_id}?token={created.manage_token}")
    assert page.status_code == 200
    panel = page.text[page.text.index('id="placed-title"') : page.text.index("Wrong place?")]
    tag = re.search(r'<div id="placed-map"[^>]*>', panel)
    assert tag is not None and " hidden" in tag.group(0)  # shown by placed.js; no JS: the link
    data = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(0)))
    assert (float(data["lat"]), float(data["lon"])) == HOUSE
    assert (float(data["public-lat"]), float(data["public-lon"])) == (
        meeting.approx_lat,
        meeting.approx_lon,
    )
    assert data["approximate"] == "true"
    assert data["tiles"] == SITE.tile_url
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', panel)
    assert scripts == ["/static/leaflet/leaflet.js", "/static/js/placed.js"]
    assert "Open in OpenStreetMap" in panel
    served = await client.get("/static/js/placed.js")
    assert served.status_code == 200 and "placed-map" in served.text
