"""Every PDF the kit makes prints cleanly: on every page, in Letter (a US meeting) and
A4 (a French one), no text lands on other text and none runs off the paper.

The meetings are filled the way real hosts fill them (a long title, the longest
description and note the flyer keeps, a real site address, a full sign-in sheet),
because clean layouts with short test data hide exactly what a campaign trips over.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from kit.core.settings import Settings
from kit.printables import context as printing
from kit.toolkit import printables
from tests.factories import SITE, make_campaign
from tests.pdf_layout import assert_lays_out, layout_problems
from tests.toolkit.test_printables import add_guests, hosted, pdf_reader

# A real campaign's address is longer than http://testserver.
LIVE_SITE: Settings = replace(SITE, base_url="https://housemeetings.example-campaign.org")
PLACES = {
    "letter": {"street": "417 Elm St", "locality": "New York", "postal_code": "10027"},
    "A4": {
        "street": "3 rue de la République",
        "locality": "Lyon",
        "postal_code": "69002",
        "country": "FR",
    },
}
DESCRIPTION = (
    "Our street has changed a lot in the last five years: new families, new shops, a school "
    "that is full and a bus that no longer comes. Come and talk about what we want for it, "
    "and what we could do together. Children welcome; there will be tea, coffee and cake."
)
NOTE = (
    "I have lived on this street for twelve years and I still don't know most of my neighbors. "
    "Let's change that. The door is the blue one with the bicycle; ring twice, the bell is "
    "quiet. If you need a lift, say so when you RSVP and someone on the street will come and "
    "get you. Bring a friend, a question, or just yourself."
)
ASKS = [
    {"key": f"ask{n}", "label": label}
    for n, label in enumerate(
        ["Host a meeting", "Volunteer", "Come to the next action", "Donate monthly"]
        + ["Call the council", "Knock on doors"]
    )
]


@pytest.fixture(autouse=True)
def fresh_pdf_cache() -> Iterator[None]:
    printing.PDF_CACHE.clear()
    yield
    printing.PDF_CACHE.clear()


async def full_meeting(paper: str, **overrides: Any) -> tuple[Any, str]:
    campaign = await make_campaign(f"full-{paper.lower()}", name="Winter House Meetings", asks=ASKS)
    meeting, token = await hosted(
        title="Neighbors talk schools, buses and the future of Elm Street",
        description=DESCRIPTION,
        host_note=NOTE,
        campaign=campaign.slug,
        **{"address": PLACES[paper], **overrides},
    )
    await add_guests(
        meeting, [(f"Guest Number{n} Longname", f"g{n}@example.org", None, 1) for n in range(5)]
    )
    return meeting, token


@pytest.mark.parametrize("paper", ["letter", "A4"])
async def test_the_flyer_lays_out_cleanly(db: str, paper: str) -> None:
    meeting, _ = await full_meeting(paper)
    flyer = await printing.get_flyer(meeting, site=LIVE_SITE)
    assert printables.page_size(meeting.country) == paper
    assert_lays_out(flyer.data)
    assert len(pdf_reader(flyer.data).pages) == 1
    # And a sparse one: no description or note, a short title.
    sparse, _ = await hosted(title="Tea", description="", address=PLACES[paper])
    assert_lays_out((await printing.get_flyer(sparse, site=LIVE_SITE)).data)


@pytest.mark.parametrize("paper", ["letter", "A4"])
async def test_a_public_places_flyer_and_packet_lay_out_cleanly(db: str, paper: str) -> None:
    venue = "Countee Cullen Branch of the New York Public Library, community room"
    meeting, token = await full_meeting(
        paper, kind="public", address={**PLACES[paper], "venue": venue}
    )
    flyer = (await printing.get_flyer(meeting, site=LIVE_SITE)).data
    assert_lays_out(flyer)
    assert len(pdf_reader(flyer).pages) == 1
    assert_lays_out((await printing.get_packet(meeting, token, site=LIVE_SITE)).data)


@pytest.mark.parametrize("paper", ["letter", "A4"])
async def test_every_page_of_the_packet_lays_out_cleanly(db: str, paper: str) -> None:
    meeting, token = await full_meeting(paper, capacity=30)
    assert_lays_out((await printing.get_packet(meeting, token, site=LIVE_SITE)).data)


@pytest.mark.parametrize("paper", ["letter", "A4"])
async def test_the_guides_lay_out_cleanly(db: str, paper: str) -> None:
    meeting, _ = await full_meeting(paper)
    assert_lays_out((await printing.get_meeting_guide(meeting)).data)
    assert_lays_out((await printing.get_campaign_guide(f"full-{paper.lower()}")).data)


def test_the_check_sees_text_over_text_and_text_off_the_page() -> None:
    clean = printables.html_to_pdf("<p>One line.</p><p>Another line.</p>")
    assert layout_problems(clean) == []
    stacked = printables.html_to_pdf(
        '<p style="position: absolute; top: 0">Printed here</p>'
        '<p style="position: absolute; top: 1mm">Printed here too</p>'
    )
    assert [p.split(":")[0] for p in layout_problems(stacked)] == ["overlap"]
    off = printables.html_to_pdf(
        '<p style="margin-left: 180mm; white-space: nowrap">This sentence runs off the page</p>'
    )
    assert [p.split(":")[0] for p in layout_problems(off)] == ["runs off the page"]
