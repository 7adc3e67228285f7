"""The preview card a shared meeting link shows (og:image): a 1200×630 PNG drawn by the
kit with the title, the day and the town, and nothing a home's street could be read from."""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image

from kit.meetings.cards import meeting_to_card
from kit.meetings.service import get_meeting
from kit.toolkit.cards import Card, render_card
from tests.factories import make_meeting


async def test_meeting_card_is_the_og_image_of_the_meeting_page(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    page = (await client.get(f"/meetings/{created.meeting.public_id}")).text
    [image] = re.findall(r'<meta property="og:image" content="([^"]+)">', page)
    assert image == f"http://testserver/meetings/{created.meeting.public_id}/card.png"
    assert '<meta name="twitter:card" content="summary_large_image">' in page

    card = await client.get(image.removeprefix("http://testserver"))
    assert card.status_code == 200 and card.headers["content-type"] == "image/png"
    assert card.headers["cache-control"].startswith("public")
    picture = Image.open(io.BytesIO(card.content))
    assert picture.format == "PNG" and picture.size == (1200, 630)


async def test_a_homes_card_says_near_the_town_and_never_the_street() -> None:
    created = await make_meeting()
    card = meeting_to_card(await get_meeting(created.meeting.public_id))
    assert card.title == "Neighbors talk schools"
    assert card.town == "Near New York 10027"
    assert re.fullmatch(r"\w{3} \w{3} \d{1,2}, \d{4} · \d{1,2}:\d{2} [AP]M", card.when)
    assert "417 Elm" not in repr(card) and "blue door" not in repr(card)
    venue = await make_meeting(kind="public", address={"street": "30 Library Way"})
    assert meeting_to_card(await get_meeting(venue.meeting.public_id)).town == "New York 10027"


async def test_no_card_for_a_meeting_that_is_not_public_yet(client: httpx.AsyncClient) -> None:
    waiting = await make_meeting(proven=False)
    card = await client.get(f"/meetings/{waiting.meeting.public_id}/card.png")
    assert card.status_code == 404


def test_cards_are_cached_by_their_words() -> None:
    card = Card("A title", "Sun Dec 13, 2026 · 6:30 PM", "Near Lyon 69002", "House Meeting Kit")
    first = render_card(card)
    assert render_card(Card(*(card.title, card.when, card.town, card.site))) is first
    assert render_card(Card("Another title", card.when, card.town, card.site)) != first
    # A title too long for the card still draws (cut to three lines), as does one long word.
    for title in ("word " * 200, "x" * 500):
        assert Image.open(io.BytesIO(render_card(Card(title, *([""] * 3))))).size == (1200, 630)
