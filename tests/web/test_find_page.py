"""The find page speaks the neighbor's units and offers a wider search.

Distances read as people near the searched place say them (miles in the US, km in
France), and a search that finds nothing offers the next radius instead of a dead
end; the links work without JavaScript.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from kit.maps.distance import MILES
from kit.maps.privacy import haversine_km
from tests.factories import GEOCODER, HouseGeocoder, local, make_campaign, make_meeting

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


def titles(html: str) -> list[str]:
    return re.findall(r'<h3><a href="/meetings/[^"]+">([^<]+)</a></h3>', html)


async def test_the_filters_are_form_controls_kept_across_radius_links_and_paging(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("spring", name="Spring Talks", is_public=True)
    await make_campaign("secret", name="Staff only", is_public=False)
    await make_meeting(title="Soon", starts_at=local(3), ends_at=local(3, 20), campaign="spring")
    await make_meeting(title="Later", starts_at=local(20), ends_at=local(20, 20))
    full = await make_meeting(title="Full", capacity=1, starts_at=local(4), ends_at=local(4, 20))
    body = {"name": "Ada", "email": "ada@example.org"}
    await client.post(f"/api/meetings/{full.meeting.public_id}/rsvps", json=body)

    last_day = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%d")
    params = {"near": "10027", "to": last_day, "has_space": "1"}
    page = (await client.get("/find", params=params)).text
    assert titles(page) == ["Soon"]
    # The controls show what is applied, so the next search keeps it.
    assert f'name="to" type="date" value="{last_day}"' in page
    assert re.search(
        r'id="field-has_space" name="has_space" type="checkbox" value="1"\s*checked', page
    )
    # Only public campaigns are offered.
    assert '<option value="spring">Spring Talks</option>' in page and "Staff only" not in page
    for label, href in radius_links(page).items():
        assert f"to={last_day}" in href and "has_space=1" in href, label
        assert titles((await client.get(href)).text) == ["Soon"]

    page = (await client.get("/find", params={"near": "10027", "campaign": "spring"})).text
    assert titles(page) == ["Soon"]
    assert '<option value="spring" selected>Spring Talks</option>' in page
    # A calendar subscription keeps the campaign (dates and seats would go stale in it).
    [feed] = re.findall(r'href="(webcal://[^"]+)"', page)
    feed = feed.replace("&amp;", "&")
    assert feed.endswith("&campaign=spring") and "has_space" not in feed
    ics = (await client.get(feed.removeprefix("webcal://testserver"))).text
    assert "SUMMARY:Soon" in ics and "SUMMARY:Later" not in ics

    # "More meetings" keeps the filters too: here one meeting a page, soonest dates only.
    first = await client.get("/find", params={"near": "10027", "has_space": "1", "limit": "1"})
    [more] = re.findall(r'href="([^"]+)">More meetings</a>', first.text)
    more = more.replace("&amp;", "&")
    assert "has_space=1" in more and "cursor=" in more
    assert "Full" not in titles((await client.get(more)).text)

    # A radius picked from the links stays when the filters change.
    wide = (await client.get("/find", params={"near": "10027", "radius_km": "48.2803"})).text
    assert '<input type="hidden" name="radius_km" value="48.2803">' in wide


async def test_a_bad_filter_date_is_a_field_error_that_keeps_what_was_typed(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/find", params={"near": "10027", "from": "next tuesday"})
    assert page.status_code == 400
    assert "is not a date like" in page.text
    assert 'name="from" type="date" value="next tuesday"' in page.text


async def test_the_map_fits_the_results_public_points_and_pins_the_searched_place(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting(HouseGeocoder(40.81234, -73.95678))
    page = (await client.get("/find", params={"near": "10027"})).text
    [bounds] = re.findall(r'data-bounds="([^"]+)"', page)
    south, west, north, east = (float(n) for n in bounds.split(","))
    meeting = created.meeting
    assert south <= meeting.approx_lat <= north and west <= meeting.approx_lon <= east
    # The box is drawn around the home's public pin, never its own point.
    assert str(meeting.lat) not in bounds and str(meeting.lon) not in bounds
    assert 'data-place="' in page
    empty = (await client.get("/find", params={"near": "Lyon, France"})).text
    assert "data-bounds" not in empty


def more_link(html: str) -> str | None:
    links = re.findall(r'href="([^"]+)">More meetings</a>', html)
    return links[0].replace("&amp;", "&") if links else None


async def test_soonest_first_is_a_form_control_kept_across_radius_links_and_paging(
    client: httpx.AsyncClient,
) -> None:
    for title, day in (("Late", 12), ("Soon", 2), ("Middle", 6)):
        await make_meeting(title=title, starts_at=local(day), ends_at=local(day, 20))

    page = (await client.get("/find", params={"near": "10027", "sort": "date"})).text
    assert titles(page) == ["Soon", "Middle", "Late"]
    assert '<label for="field-sort">Sort</label>' in page
    assert '<option value="date" selected>Soonest first</option>' in page
    assert len(re.findall(r"about \d+(\.\d)? mi away", page)) == 3  # distances still shown
    for label, href in radius_links(page).items():
        assert "sort=date" in href, label
        assert titles((await client.get(href)).text) == ["Soon", "Middle", "Late"]

    first = (await client.get("/find", params={"near": "10027", "sort": "date", "limit": "2"})).text
    assert titles(first) == ["Soon", "Middle"]
    more = more_link(first)
    assert more and "sort=date" in more and "cursor=" in more
    assert titles((await client.get(more)).text) == ["Late"]

    nearest = (await client.get("/find", params={"near": "10027"})).text
    assert '<option value="distance" selected>Nearest first</option>' not in nearest
    assert '<option value="distance">Nearest first</option>' in nearest  # the default


async def test_an_unknown_sort_is_a_field_error(client: httpx.AsyncClient) -> None:
    page = await client.get("/find", params={"near": "10027", "sort": "random"})
    assert page.status_code == 400
    assert "Sort by “distance” (nearest first) or “date” (soonest first)." in page.text


async def test_a_campaign_without_a_place_lists_its_meetings_soonest_first_by_town(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("spring", name="Spring Talks", is_public=True)
    await make_campaign("autumn", name="Autumn Talks", is_public=True)
    await make_meeting(
        title="In Lyon",
        campaign="spring",
        starts_at=local(5),
        ends_at=local(5, 20),
        address={**LYON, "country": "FR"},
    )
    await make_meeting(
        title="In Harlem", campaign="spring", starts_at=local(2), ends_at=local(2, 20)
    )
    await make_meeting(
        title="Autumn's", campaign="autumn", starts_at=local(1), ends_at=local(1, 20)
    )
    await make_meeting(title="Unlisted", campaign="spring", visibility="unlisted")
    await make_meeting(title="Awaiting", campaign="spring", proven=False)

    answer = await client.get("/find", params={"campaign": "spring"})
    assert answer.status_code == 200
    page = answer.text
    assert results_heading(page) == "2 upcoming meetings of Spring Talks, soonest first"
    assert titles(page) == ["In Harlem", "In Lyon"]
    # Each with its town, never a home's street; no distance without a place.
    for town in ("New York 10027", "Lyon 69001"):
        assert re.search(rf"{town} ·\s+12 seats left", page), town
    assert "417 Elm St" not in page and "République" not in page and " away" not in page
    # The search near a place stays on top, for this campaign.
    assert page.index('name="near"') < page.index('id="results-title"')
    assert '<option value="spring" selected>Spring Talks</option>' in page

    first = (await client.get("/find", params={"campaign": "spring", "limit": "1"})).text
    assert titles(first) == ["In Harlem"]
    more = more_link(first)
    assert more and "campaign=spring" in more and "near=" not in more
    assert titles((await client.get(more)).text) == ["In Lyon"]

    empty = (
        await client.get(
            "/find", params={"campaign": "autumn", "has_space": "1", "from": local(3)[:10]}
        )
    ).text
    assert results_heading(empty) == "0 upcoming meetings of Autumn Talks, soonest first"
    assert "No upcoming meetings of Autumn Talks match these filters." in empty
    unknown = await client.get("/find", params={"campaign": "nope"})
    assert unknown.status_code == 400 and "There is no campaign called “nope”." in unknown.text


async def test_the_campaign_pages_see_all_link_lists_every_upcoming_meeting(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("spring", name="Spring Talks", is_public=True)
    for n in range(12):  # more than the campaign page lists
        day = 2 + n
        await make_meeting(
            title=f"Talk {n}", campaign="spring", starts_at=local(day), ends_at=local(day, 20)
        )
    campaign_page = (await client.get("/campaigns/spring")).text
    [see_all] = re.findall(r'<a href="([^"]+)">See all 12 upcoming meetings</a>', campaign_page)
    listing = (await client.get(see_all.replace("&amp;", "&"))).text
    assert titles(listing) == [f"Talk {n}" for n in range(12)]
