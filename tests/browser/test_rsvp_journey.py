"""A neighbor finds a meeting near Chicago's 60614, RSVPs for two, gets the confirmation
and its email, then changes and cancels the RSVP from the link in that email."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import LinkReader, MailReader

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def seats_left(page: Page) -> int:
    text = await page.locator("dt:has-text('Seats left') + dd").inner_text()
    found = re.match(r"(\d+) of \d+", text.strip())
    assert found, text
    return int(found.group(1))


async def test_find_rsvp_change_and_cancel_from_the_email(
    live_server: str, browser: Browser, read_mail: MailReader, mail_link: LinkReader
) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server}/find")
    await page.get_by_label("ZIP code or town").fill("60614")
    await page.get_by_role("button", name="Search").click()
    open_card = page.locator(".meeting-list .meeting-card:not(.is-full)").first
    await expect(open_card).to_be_visible()
    title = (await open_card.locator("h3 a").inner_text()).strip()
    await open_card.locator("h3 a").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    before = await seats_left(page)
    assert before >= 2
    home = (await page.locator("dt:has-text('Where') + dd").inner_text()).startswith("Near ")

    await page.get_by_label("Your name").fill("Dana Rivera")
    await page.get_by_label("Your email").fill("dana.rivera@example.org")
    await page.get_by_label("Bringing anyone?").select_option(label="Me + 1")
    await page.get_by_label(re.compile(r"A note to \w+")).fill("I'll bring lemonade.")
    await page.get_by_role("button", name="RSVP").click()

    # The answer to the form says what anyone could know: the link to the RSVP, and the
    # address, go to the mailbox.
    await expect(page).to_have_url(re.compile(r"/meetings/[\w-]+/thanks$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("You're in!")
    await expect(page.get_by_role("status")).to_contain_text("dana.rivera@example.org")
    where = await page.locator("dt:has-text('Where') + dd").inner_text()
    assert where.startswith("Near ") == home  # a home's street goes by email only
    await page.get_by_role("link", name="Back to the meeting page").click()
    assert await seats_left(page) == before - 2
    await context.close()

    # Later, from the email, on another device.
    mail = await read_mail("dana.rivera@example.org", "You're in")
    assert title in str(mail["Subject"])
    assert any(part.get_content_type() == "text/calendar" for part in mail.walk())
    guest_link = await mail_link("dana.rivera@example.org", "You're in", "/rsvp/")
    phone = await browser.new_context(viewport={"width": 375, "height": 800})
    page = await phone.new_page()
    await page.goto(guest_link)
    await expect(page.get_by_text("Confirmed for 2 people")).to_be_visible()
    # Confirmed guests see the street on the page their email leads to.
    where = await page.locator("dt:has-text('Where') + dd").inner_text()
    assert not where.startswith("Near ")
    await page.screenshot(path=str(SCREENSHOTS / "rsvp-confirmed.png"), full_page=True)
    await page.get_by_label("Bringing anyone?").select_option(label="Just me")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Confirmed for 1 person")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "rsvp-manage.png"), full_page=True)

    # Cancelling asks once: the first click only shows the question.
    await page.get_by_role("link", name="Cancel my RSVP").click()
    await expect(page.get_by_text("Cancel your RSVP?")).to_be_visible()
    await expect(page.locator("dt:has-text('Status') + dd")).to_have_text("Confirmed for 1 person")
    await page.get_by_role("button", name="Yes, cancel my RSVP").click()
    await expect(page.get_by_role("status")).to_have_text(re.compile("Your RSVP is cancelled"))
    await expect(page.locator("dt:has-text('Status') + dd")).to_have_text("Cancelled")
    await expect(page.get_by_role("link", name="Cancel my RSVP")).to_have_count(0)
    await expect(page.get_by_role("link", name="Add to Google Calendar")).to_have_count(0)
    cancelled = await read_mail("dana.rivera@example.org", "RSVP cancelled")
    assert title in str(cancelled["Subject"])
    await page.get_by_role("link", name="RSVP again").click()
    assert await seats_left(page) == before
    await phone.close()
