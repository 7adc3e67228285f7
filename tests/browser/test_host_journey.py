"""A host publishes a meeting, gets the manage link by email, changes the time after a
neighbor has RSVPed (the guest is told), and writes to the guests."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import LinkReader, MailReader

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HOST = "lee.host@example.org"
GUEST = "gus.guest@example.org"


async def test_publish_edit_and_message_guests(
    live_server: str, browser: Browser, read_mail: MailReader, mail_link: LinkReader
) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    day = datetime.now() + timedelta(days=11)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server}/")
    await page.get_by_role("link", name="Host a meeting").first.click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Host a meeting")
    await page.get_by_label("Title").fill("Fixing the crosswalk on Delancey")
    await page.get_by_label("Description").fill("Coffee, cake and a plan for the crossing.")
    await page.get_by_label("Starts").fill(f"{day:%Y-%m-%d}T19:00")
    await page.get_by_label("Ends").fill(f"{day:%Y-%m-%d}T21:00")
    await page.get_by_label("How many guests can you welcome?").fill("8")
    await page.get_by_label("Street address").fill("31 Delancey Street")
    await page.get_by_label("Town or city").fill("Philadelphia")
    await page.get_by_label("ZIP or postal code").fill("19104")
    await page.get_by_label("Your name").fill("Lee Host")
    await page.get_by_label("Your email").fill(HOST)
    await page.screenshot(path=str(SCREENSHOTS / "host-form.png"), full_page=True)
    await page.get_by_role("button", name="Publish my meeting").click()

    await expect(page).to_have_url(re.compile(r"/manage/[\w-]+\?token="))
    await expect(page.get_by_role("status")).to_have_text(re.compile("Almost done!"))
    await expect(page.get_by_role("heading", name="Confirm your email to publish")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "manage-awaiting.png"), full_page=True)
    # The link in the email proves the address is Lee's; "Publish" makes it public.
    await page.goto(await mail_link(HOST, "Confirm your email", "/hosts/confirm/"))
    await expect(page.get_by_label("Your name")).to_have_value("Lee Host")
    await page.get_by_role("button", name="Publish my meeting").click()
    await expect(page.get_by_role("status")).to_contain_text("Your meeting is live")
    await expect(page.locator("dt:has-text('Seats') + dd")).to_have_text("0 of 8 taken")
    # Where it was placed: a small map with the meeting's own pin and the area neighbors see.
    placed_map = page.locator("#placed-map")
    await expect(placed_map).to_be_visible()
    await expect(placed_map).to_have_attribute("data-ready", "true")
    await expect(placed_map.locator(".leaflet-marker-icon")).to_have_count(1)
    await expect(placed_map.locator("path.leaflet-interactive")).to_have_count(1)
    manage_url = page.url.split("&")[0]
    public_url = await page.locator(".copy-row a").first.get_attribute("href")
    assert public_url and re.search(r"/meetings/[\w-]+$", public_url)
    # The manage link also comes by email, for when the tab is long closed.
    emailed = await mail_link(HOST, "Your meeting is live", "/manage/")
    assert emailed.split("&")[0] == manage_url

    # A neighbor RSVPs on the public page.
    neighbor = await browser.new_context()
    guest_page = await neighbor.new_page()
    await guest_page.goto(public_url)
    await expect(guest_page.get_by_text("Near Philadelphia 19104")).to_be_visible()
    await expect(guest_page.get_by_text("31 Delancey")).to_have_count(0)
    await guest_page.get_by_label("Your name").fill("Gus Guest")
    await guest_page.get_by_label("Your email").fill(GUEST)
    await guest_page.get_by_role("button", name="RSVP").click()
    await expect(guest_page.get_by_role("heading", name="You're in!")).to_be_visible()
    await neighbor.close()

    # The host, back on the manage page from the email, sees the guest.
    await page.goto(emailed)
    guests = page.locator("table", has=page.get_by_text("Your guests"))
    await expect(guests.get_by_role("cell", name="Gus Guest", exact=True)).to_be_visible()

    # Half an hour later and a clearer title: the guest gets the new time.
    await page.get_by_label("Title").fill("Fixing the Delancey crosswalk")
    await page.get_by_label("Starts").fill(f"{day:%Y-%m-%d}T19:30")
    await page.get_by_label("Ends (required)").fill(f"{day:%Y-%m-%d}T21:30")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status")).to_have_text("Your changes are saved.")
    # The host lands back at the form they used, not at the top of a long page.
    assert page.url.endswith("#edit")
    await expect(page.get_by_role("heading", name="Change your meeting")).to_be_in_viewport()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Fixing the Delancey crosswalk")
    await expect(page.locator("dt:has-text('When') + dd")).to_contain_text("7:30 PM")
    changed = await read_mail(GUEST, "Fixing the Delancey crosswalk")
    assert "time" in str(changed["Subject"]).lower()

    await page.get_by_label("Subject").fill("Parking and cake")
    await page.get_by_label("Message", exact=True).fill(
        "Park on 32nd Street; the lot closes at 7. Bring a neighbor if you like!"
    )
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("Your message is on its way to 1 guest.")
    assert page.url.endswith("#message")
    await expect(page.get_by_role("heading", name="Message your guests")).to_be_in_viewport()
    await expect(page.get_by_role("status")).to_be_in_viewport()
    assert await page.evaluate("window.scrollY") > 0
    await page.screenshot(path=str(SCREENSHOTS / "manage.png"), full_page=True)
    message = await read_mail(GUEST, "Parking and cake")
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Park on 32nd Street; the lot closes at 7." in body.get_content()
    assert "Lee" in body.get_content()

    # The public page follows the edit.
    await page.goto(public_url)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Fixing the Delancey crosswalk")
    await context.close()
