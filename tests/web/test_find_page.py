"""The find page speaks the neighbor's units and offers a wider search.

Distances read as people near the searched place say them (miles in the US, km in
France), and a search that finds nothing offers the next radius instead of a dead
end; the links work without JavaScript.
"""

from __future__ import annotations

import re

import httpx

from kit.maps.distance import MILES
from kit.maps.nearby import haversine_km
from tests.factories import GEOCODER, make_meeting

LYON = {"street": "3 rue de la République", "locality": "Lyon", "postal_code": "69001"}


def results_heading(html: str) -> str:
    match = re.search(r'<h2 id="results-title">(.*?)</h2>', html, re.S)
    assert match, "no results heading"
    return " ".join(match.group(1).split())


def radius_links(html: str) -> dict[str, str]:
    nav = re.search(r'<nav class="radius-choices[^"]*"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, "no radius choices"
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav.group(1))
    return {label: href.replace("&amp;", "&") for href, label in links}


async def test_a_us_search_counts_in_miles(client: httpx.AsyncClient) -> None:
    await make_meeting()  # in Manhattan, 10027

    page = (await client.get("/find", params={"near": "10027"})).text

    assert results_heading(page).startswith("1 meeting within 15 mi of ")
    assert re.search(r"about \d+(\.\d)? mi away", page)
    assert " km" not in results_heading(page)
    assert '<strong aria-current="true">15 mi</strong>' in page
    assert list(radius_links(page)) == ["5 mi", "30 mi", "60 mi", "150 mi"]


async def test_a_search_from_my_location_counts_in_the_local_unit(
    client: httpx.AsyncClient,
) -> None:
    await make_meeting()
    page = (await client.get("/find", params={"near": "40.81,-73.95"})).text  # in Harlem
    assert results_heading(page) == "1 meeting within 15 mi of Harlem, NY"


async def test_a_french_search_counts_in_kilometres(client: httpx.AsyncClient) -> None:
    await make_meeting(address={**LYON, "country": "FR"})

    page = (await client.get("/find", params={"near": "Lyon, France"})).text

    assert results_heading(page).startswith("1 meeting within 25 km of Lyon")
    assert re.search(r"about \d+(\.\d)? km away", page)
    assert list(radius_links(page)) == ["10 km", "50 km", "100 km", "250 km"]


async def test_nothing_nearby_leads_step_by_step_to_the_nearest_meeting(
    client: httpx.AsyncClient,
) -> None:
    meeting = (await make_meeting()).meeting  # Manhattan, about 49 miles from Princeton

    page = (await client.get("/find", params={"near": "Princeton, NJ"})).text
    assert results_heading(page) == "0 meetings within 15 mi of Princeton, NJ"
    radii = []
    while "meeting-card" not in page:
        wider = re.search(r'<a href="([^"]+)">Look within (\d+) mi</a>', page)
        assert wider, "a search that finds nothing offers a wider one"
        radii.append(int(wider.group(2)))
        page = (await client.get(wider.group(1).replace("&amp;", "&"))).text
    assert radii == [30, 60]
    assert results_heading(page) == "1 meeting within 60 mi of Princeton, NJ"
    princeton = await GEOCODER.search("Princeton, NJ")
    assert princeton is not None
    # Measured to the meeting's public point, which is up to 1.5 km from the house.
    km = round(
        haversine_km(princeton.lat, princeton.lon, meeting.approx_lat, meeting.approx_lon), 1
    )
    assert f"about {MILES.show(km)} away" in page
    assert '<strong aria-current="true">60 mi</strong>' in page


async def test_the_widest_search_offers_hosting_instead(client: httpx.AsyncClient) -> None:
    page = (await client.get("/find", params={"near": "10027", "radius_km": "241.402"})).text
    assert results_heading(page) == "0 meetings within 150 mi of 10027 New York, NY"
    assert "Look within" not in page
    assert "Why not be the first?" in page and "Host a meeting in New York" in page
