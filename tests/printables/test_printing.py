"""A meeting becomes the plain data its printouts are laid out from (kit.printables.context): the
clock in the meeting's own zone, and the privacy rule, the exact address for the host's
packet only. The layout itself is tested in tests/toolkit/test_printables.py."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from kit.meetings.service import cancel_meeting
from kit.printables import context as printing
from kit.toolkit.printables import Place, PrintableCampaign
from tests.factories import SITE, make_campaign
from tests.toolkit.test_printables import hosted


async def test_a_meeting_prints_in_its_own_zone_with_its_hosts_first_name(db: str) -> None:
    await make_campaign("transit", name="Transit Now", description="Buses.")
    meeting, _ = await hosted(campaign="transit", host_note="Bring a friend")
    printable = printing.meeting_to_printable(meeting)
    zone = ZoneInfo("America/New_York")
    assert printable.starts_at == meeting.starts_at and printable.starts_at.tzinfo == zone
    assert printable.starts_at.strftime("%-I:%M %p %Z") == "6:30 PM EST"
    assert printable.ends_at.strftime("%-I:%M %p") == "8:30 PM"
    assert (printable.title, printable.country, printable.capacity) == (
        "Neighbors talk schools",
        "US",
        12,
    )
    assert printable.host_first_name == "Quinn"  # never the full name, email or phone
    assert printable.is_home and not printable.cancelled
    assert printable.host_note == "Bring a friend"
    assert printable.campaign == PrintableCampaign("Transit Now", "transit", "Buses.")
    await cancel_meeting(meeting, site=SITE)
    assert printing.meeting_to_printable(meeting).cancelled


async def test_a_homes_street_and_directions_go_to_the_packet_only(db: str) -> None:
    meeting, _ = await hosted()
    assert printing.exact_place(meeting) == Place(
        locality="New York",
        region=meeting.region,
        postal_code="10027",
        street="417 Elm St",
        directions="ring the blue door",
    )
    assert printing.public_place(meeting) == Place(
        locality="New York", region=meeting.region, postal_code="10027"
    )
    meeting.venue_name = "Quinn's place"  # a home never prints a venue name, even a stale one
    assert printing.exact_place(meeting).venue == ""


async def test_a_public_place_is_named_everywhere_its_directions_in_the_packet(db: str) -> None:
    place = {"venue": "Harlem Library", "street": "9 W 124th St", "directions": "2nd floor"}
    meeting, _ = await hosted(kind="public", address=place)
    exact, public = printing.exact_place(meeting), printing.public_place(meeting)
    assert (exact.venue, exact.street, exact.directions) == (
        "Harlem Library",
        "9 W 124th St",
        "2nd floor",
    )
    assert (public.venue, public.street, public.directions) == (
        "Harlem Library",
        "9 W 124th St",
        "",
    )
    assert not printing.meeting_to_printable(meeting).is_home


async def test_the_flyer_and_guide_built_from_a_home_never_carry_its_street(db: str) -> None:
    meeting, token = await hosted()
    packet = await printing.packet_document(meeting, token, site=SITE)
    assert "417 Elm St" in packet.html and "ring the blue door" in packet.html
    assert "Quinn Doe" in packet.html  # the host's full name, on their own packet
    for document in (
        printing.flyer_document(meeting, site=SITE),
        printing.meeting_guide_document(meeting),
    ):
        assert "Elm St" not in document.html and "blue door" not in document.html
        assert "Quinn Doe" not in document.html and "Quinn" in document.html
