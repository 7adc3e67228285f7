"""Where a host's meeting is placed: region and country, and a town several share."""

from __future__ import annotations

import re

import httpx

from kit.store.models import Meeting
from tests.factories import as_form, csrf_from, make_campaign, meeting_body

PORTLAND = {"street": "12 Oak St", "locality": "Portland", "postal_code": "", "country": "US"}


async def post_host_form(client: httpx.AsyncClient, path: str = "/host", **extra: str):
    token = await csrf_from(client, path)
    form = {**as_form(meeting_body(address=PORTLAND)), **extra, "csrf_token": token}
    return await client.post("/host", data=form)


async def test_a_town_several_share_is_asked_about_with_choices(
    client: httpx.AsyncClient,
) -> None:
    asked = await post_host_form(client)
    assert asked.status_code == 422
    assert (
        "There are several places called Portland. Did you mean Portland, OR, "
        "Portland, ME or Portland, TX?"
    ) in asked.text
    choices = re.findall(r'name="address\.choice" type="radio" value="([^"]+)"', asked.text)
    assert choices == ["OR|US", "ME|US", "TX|US"]
    assert 'value="12 Oak St"' in asked.text  # what was typed is kept
    assert await Meeting.all().count() == 0
    # Picking a choice (a plain radio button: no script needed) places it there.
    placed = await post_host_form(client, **{"address.choice": "ME|US"})
    assert placed.status_code == 303
    meeting = await Meeting.get()
    assert (meeting.locality, meeting.region, meeting.timezone) == (
        "Portland",
        "ME",
        "America/New_York",
    )


async def test_a_typed_state_places_the_town_without_asking(client: httpx.AsyncClient) -> None:
    placed = await post_host_form(client, **{"address.region": "Maine"})
    assert placed.status_code == 303
    meeting = await Meeting.get()
    assert (meeting.region, meeting.timezone) == ("ME", "America/New_York")


async def test_the_host_form_offers_the_campaigns_country_and_region(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("ontario", country="CA", region="ON")
    html = (await client.get("/host?campaign=ontario")).text
    assert '<option value="CA" selected>Canada</option>' in html
    assert re.search(r'name="address\.region" type="text" value="ON"', html)
    plain = (await client.get("/host")).text
    assert '<option value="US" selected>United States</option>' in plain


async def test_api_asks_which_town_and_uses_the_campaigns_region(
    client: httpx.AsyncClient,
) -> None:
    address = {"locality": "Springfield", "postal_code": ""}
    asked = await client.post("/api/meetings", json=meeting_body(address=address))
    assert asked.status_code == 422
    message = asked.json()["fields"]["address.locality"]
    assert "Did you mean Springfield, MO, Springfield, MA, Springfield, IL" in message
    await make_campaign("illinois", country="US", region="IL")
    body = meeting_body(campaign="illinois", address=address)
    created = await client.post("/api/meetings", json=body)
    assert created.status_code == 201, created.text
    meeting = await Meeting.get(public_id=created.json()["id"])
    assert (meeting.region, meeting.timezone) == ("IL", "America/Chicago")


async def test_an_address_without_a_country_is_in_the_campaigns(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("lyon", country="FR")
    address = {"street": "", "locality": "Lyon", "postal_code": "", "country": ""}
    body = meeting_body(campaign="lyon", address=address)
    created = await client.post("/api/meetings", json=body)
    assert created.status_code == 201, created.text
    meeting = await Meeting.get()
    assert (meeting.country, meeting.timezone) == ("FR", "Europe/Paris")


async def test_a_host_moving_town_is_not_kept_in_the_old_state(
    client: httpx.AsyncClient,
) -> None:
    created = (await client.post("/api/meetings", json=meeting_body())).json()
    token = created["manage_url"].split("token=")[1]
    moved = await client.patch(
        f"/api/meetings/{created['id']}",
        json={"address": {"locality": "Chicago", "postal_code": ""}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["timezone"] == "America/Chicago"


async def published_manage_page(client: httpx.AsyncClient) -> tuple[str, str, str]:
    """A published meeting in Harlem: (its public id, the manage token, a CSRF token)."""
    csrf = await csrf_from(client, "/host")
    posted = await client.post("/host", data={**as_form(meeting_body()), "csrf_token": csrf})
    assert posted.status_code == 303, posted.text
    link = posted.headers["location"]
    return link.split("/")[2].split("?")[0], link.split("token=")[1].split("&")[0], csrf


async def test_the_edit_form_asks_which_town_as_the_host_form_does(
    client: httpx.AsyncClient,
) -> None:
    public_id, secret, csrf = await published_manage_page(client)
    # The host types the new town and clears the old state, as the manage form shows it.
    moving = {
        **as_form(meeting_body(address={**PORTLAND, "region": ""})),
        "csrf_token": csrf,
        "token": secret,
    }
    asked = await client.post(f"/manage/{public_id}", data=moving)
    assert asked.status_code == 422
    assert "There are several places called Portland. Did you mean Portland, OR" in asked.text
    choices = re.findall(r'name="address\.choice" type="radio" value="([^"]+)"', asked.text)
    assert choices == ["OR|US", "ME|US", "TX|US"]
    assert (await Meeting.get()).locality == "New York"  # nothing changed yet
    # The host picks Maine with a plain radio button: the meeting moves there.
    placed = await client.post(f"/manage/{public_id}", data={**moving, "address.choice": "ME|US"})
    assert placed.status_code == 200, placed.text
    assert "Your changes are saved" in placed.text
    meeting = await Meeting.get()
    assert (meeting.locality, meeting.region, meeting.timezone) == (
        "Portland",
        "ME",
        "America/New_York",
    )


async def test_a_host_address_with_a_french_postal_code_is_placed_in_paris(
    client: httpx.AsyncClient,
) -> None:
    address = {"street": "3 rue Oberkampf", "locality": "Paris", "postal_code": "75011"}
    body = meeting_body(address={**address, "country": "FR"})
    created = await client.post("/api/meetings", json=body)
    assert created.status_code == 201, created.text
    meeting = await Meeting.get()
    assert (meeting.locality, meeting.postal_code, meeting.country, meeting.timezone) == (
        "Paris",
        "75011",
        "FR",
        "Europe/Paris",
    )
    assert abs(meeting.lat - 48.86) < 0.01 and abs(meeting.lon - 2.38) < 0.01  # the 11e


async def test_a_german_postal_code_places_the_host_form_in_berlin(
    client: httpx.AsyncClient,
) -> None:
    """The code decides, as a US ZIP does: the town field keeps what the host wrote."""
    csrf = await csrf_from(client, "/host")
    address = {"street": "Invalidenstraße 1", "locality": "Mitte", "postal_code": "10115"}
    form = {**as_form(meeting_body(address={**address, "country": "DE"})), "csrf_token": csrf}
    posted = await client.post("/host", data=form)
    assert posted.status_code == 303, posted.text
    meeting = await Meeting.get()
    assert (meeting.locality, meeting.country, meeting.timezone) == (
        "Mitte",
        "DE",
        "Europe/Berlin",
    )
    assert abs(meeting.lat - 52.52) < 0.02 and abs(meeting.lon - 13.41) < 0.02
