"""Time zones read as people say them ("Eastern Time"); the IANA id stays in machine-readable
places (data attributes, JSON, .ics)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import httpx
import pytest

from kit.core.rendering import zone_name
from kit.meetings.service import get_managed_meeting
from kit.printables import context as printing
from tests.factories import SITE, emailed_link, make_meeting, rsvp_link
from tests.toolkit.test_printables import pdf_text

PARIS = {"street": "3 rue de la Paix", "locality": "Lyon", "postal_code": "69002", "country": "FR"}


@pytest.mark.parametrize(
    ("zone", "name"),
    [
        ("America/New_York", "Eastern Time"),
        ("America/Los_Angeles", "Pacific Time"),
        ("Europe/Paris", "Central European Time"),
        ("Asia/Tokyo", "Japan Time"),
        ("UTC", "UTC"),
        ("Pacific/Honolulu", "Hawaii Time"),
        ("Nowhere/Some_Place", "Nowhere/Some Place"),  # unknown: shown as it is, readable
    ],
)
def test_zone_name_is_what_people_say(zone: str, name: str) -> None:
    assert zone_name(zone) == name


async def test_meeting_pages_name_the_zone_and_keep_the_id_for_machines(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    public_id = created.meeting.public_id
    detail = (await client.get(f"/meetings/{public_id}")).text
    assert "(Eastern Time)" in detail
    assert 'data-zone="America/New_York"' in detail  # meeting.js compares the viewer's zone
    assert "America/New York time" not in detail
    manage = (await client.get(f"/manage/{public_id}?token={created.manage_token}")).text
    assert "(Eastern Time)" in manage and "(America/New_York)" not in manage
    api = (await client.get(f"/api/meetings/{public_id}")).json()
    assert "America/New_York" in str(api)

    rsvp = await client.post(
        f"/api/meetings/{public_id}/rsvps", json={"name": "Ada Okafor", "email": "ada@example.org"}
    )
    assert rsvp.status_code == 202
    guest_page = (await client.get(await rsvp_link("ada@example.org"))).text
    assert "(Eastern Time)" in guest_page and "America/New York" not in guest_page


async def test_a_new_hosts_confirmation_page_names_the_zone(client: httpx.AsyncClient) -> None:
    await make_meeting(proven=False, address=PARIS)
    page = await client.get(await emailed_link("quinn@example.org", "/hosts/confirm/"))
    assert "(Central European Time)" in page.text and "Europe/Paris" not in page.text


async def test_the_packet_names_its_zone_by_the_abbreviation_its_times_use(db: str) -> None:
    created = await make_meeting()
    meeting = await get_managed_meeting(created.meeting.public_id, created.manage_token)
    text = pdf_text((await printing.get_packet(meeting, created.manage_token, site=SITE)).data)
    abbreviation = meeting.starts_at.astimezone(ZoneInfo(meeting.timezone))
    # The heading prints in capitals.
    assert f"TIME ZONE {abbreviation.tzname()}: every time in this packet" in text
    assert "America/New_York" not in text
