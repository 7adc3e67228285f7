"""Passing a meeting on and putting it in a calendar, from the meeting page and the
guest's private page: plain links (no third-party script) that carry only public facts,
a Copy button that needs JavaScript while the link itself stays selectable text, and
"Add to Google Calendar" / "Outlook.com" links with the place this reader may see."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from tests.factories import make_meeting, rsvp_link

STREET, DIRECTIONS = "417 Elm St", "ring the blue door"
SHARE_TARGETS = {
    "WhatsApp": "https://wa.me/",
    "Text message": "sms:",
    "Email": "mailto:",
    "Facebook": "https://www.facebook.com/sharer/sharer.php",
    "Nextdoor": "https://nextdoor.com/sharekit/",
    "X": "https://x.com/intent/post",
}


def links(page: str) -> dict[str, str]:
    """Each link's text → its href, as a browser would read them."""
    found = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>', page)
    return {html.unescape(text): html.unescape(href) for href, text in found}


def fields_of(url: str) -> dict[str, str]:
    query = urlsplit(url).query
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def assert_public_only(url: str) -> None:
    readable = unquote(url)
    assert STREET not in readable and DIRECTIONS not in readable
    assert "/rsvp/" not in readable and "/manage" not in readable


async def rsvp(client: httpx.AsyncClient, meeting_id: str) -> None:
    body = {"name": "Ada Okafor", "email": "ada@example.org"}
    assert (await client.post(f"/api/meetings/{meeting_id}/rsvps", json=body)).status_code == 202


async def test_meeting_detail_shares_by_plain_links_with_public_facts_only(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting(title="Schools & taxes")
    page = (await client.get(f"/meetings/{created.meeting.public_id}")).text
    shared = f"http://testserver/meetings/{created.meeting.public_id}?source=share"
    found = links(page)
    for name, start in SHARE_TARGETS.items():
        assert found[name].startswith(start), (name, found[name])
        assert_public_only(found[name])
    # Each link carries the meeting's link, and the message names it and its town.
    assert fields_of(found["WhatsApp"])["text"].endswith(" " + shared)
    assert "Schools & taxes" in fields_of(found["WhatsApp"])["text"]
    assert "New York" in fields_of(found["Text message"].replace("sms:?", "sms:x?"))["body"]
    assert fields_of(found["Facebook"]) == {"u": shared}
    nextdoor = fields_of(found["Nextdoor"])
    assert nextdoor["source"] == "http://testserver" and nextdoor["body"].endswith(shared)
    x = fields_of(found["X"])
    assert x["url"] == shared and "Schools & taxes" in x["text"] and shared not in x["text"]
    assert "<script" not in page.split('id="share-title"')[1].split("</section>")[0]
    # The link is selectable text without JavaScript; the Copy button waits for kit.js.
    assert f'<input id="share-link" type="url" readonly value="{shared}">' in page
    assert f'data-copy="{shared}" hidden>Copy link</button>' in page


async def test_meeting_detail_calendar_links_show_the_town_not_the_home(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    page = (await client.get(f"/meetings/{created.meeting.public_id}")).text
    found = links(page)
    assert found["Download for Apple Calendar or Outlook (.ics)"] == (
        f"/meetings/{created.meeting.public_id}.ics"
    )
    google = fields_of(found["Add to Google Calendar"])
    assert found["Add to Google Calendar"].startswith(
        "https://calendar.google.com/calendar/render?"
    )
    assert google["action"] == "TEMPLATE" and google["text"] == created.meeting.title
    start, end = google["dates"].split("/")
    assert re.fullmatch(r"\d{8}T\d{6}Z", start) and re.fullmatch(r"\d{8}T\d{6}Z", end)
    assert google["location"].startswith("Near New York")
    outlook = fields_of(found["Outlook.com"])
    assert found["Outlook.com"].startswith("https://outlook.live.com/calendar/0/deeplink/compose?")
    assert outlook["location"] == google["location"] and outlook["subject"] == google["text"]
    for url in (found["Add to Google Calendar"], found["Outlook.com"]):
        assert_public_only(url)


async def test_a_confirmed_guests_calendar_links_carry_the_exact_address(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting(capacity=1)
    await rsvp(client, created.meeting.public_id)
    mine = links((await client.get(await rsvp_link("ada@example.org"))).text)
    google = fields_of(mine["Add to Google Calendar"])
    assert google["location"].startswith(f"{STREET}, New York")
    assert fields_of(mine["Outlook.com"])["location"] == google["location"]
    # The private page's own link never leaves for Google or Microsoft.
    assert "/rsvp/" not in unquote(mine["Add to Google Calendar"])
    assert "/rsvp/" not in unquote(mine["Outlook.com"])
    assert_public_only(mine["WhatsApp"])

    body = {"name": "Bo", "email": "bo@example.org"}
    await client.post(f"/api/meetings/{created.meeting.public_id}/rsvps", json=body)
    waiting = links((await client.get(await rsvp_link("bo@example.org"))).text)
    assert fields_of(waiting["Add to Google Calendar"])["location"].startswith("Near New York")
    assert_public_only(waiting["Outlook.com"])


async def test_a_cancelled_rsvp_offers_rsvp_again_and_no_calendar_or_share_links(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id)
    manage = await rsvp_link("ada@example.org")
    token = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get(manage)).text)
    assert token
    data = {"csrf_token": token.group(1), "confirm": "yes"}
    assert (await client.post(f"{manage}/cancel", data=data)).status_code == 200
    found = links((await client.get(manage)).text)
    assert found["RSVP again"] == f"/meetings/{created.meeting.public_id}#rsvp"
    assert "Add to Google Calendar" not in found and "Outlook.com" not in found
    assert "Download for Apple Calendar or Outlook (.ics)" not in found
    assert "WhatsApp" not in found
