"""Keyboard only: a neighbor RSVPs and a host publishes a meeting with Tab, Shift+Tab,
Enter, Space and typing, never the mouse, and can always see where the focus is."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import LIVE_SETTINGS, open_public_page
from tests.servers import kit_serve

pytestmark = pytest.mark.browser

# What the focused element looks like: its id, name and text, and whether the
# stylesheet draws a focus indicator (an outline or a box shadow) around it.
FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  const shadow = style.boxShadow && style.boxShadow !== 'none';
  // Tab also stops on the calendar button inside a date field; the field is then
  // the active element without matching :focus, and Chromium rings the button itself.
  const picker = /^(date|time|datetime-local)$/.test(el.type) && !el.matches(':focus');
  const box = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '',
    text: (el.innerText || el.value || '').trim().slice(0, 60),
    visible: Boolean(outline || shadow || picker),
    onscreen: box.bottom > 0 && box.top < innerHeight && box.width > 0,
  };
}"""


async def focused(page: Page) -> dict[str, object]:
    return dict(await page.evaluate(FOCUSED))


async def tab_to(page: Page, element_id: str, *, backwards: bool = False, most: int = 60) -> None:
    """Press Tab (or Shift+Tab) until the element with this id has the focus; every
    stop on the way must show a focus indicator."""
    for _ in range(most):
        await page.keyboard.press("Shift+Tab" if backwards else "Tab")
        now = await focused(page)
        if now["tag"] != "body":
            assert now["visible"], f"no visible focus on {now}"
        if now["id"] == element_id:
            # The page scrolls smoothly to the focused field: give it a moment.
            for _ in range(20):
                if (await focused(page))["onscreen"]:
                    return
                await page.wait_for_timeout(50)
            pytest.fail(f"#{element_id} has the focus but stays off screen")
    pytest.fail(f"{most} presses of Tab never reached #{element_id}")


async def tab_to_button(page: Page, text: str, *, most: int = 60) -> None:
    for _ in range(most):
        await page.keyboard.press("Tab")
        now = await focused(page)
        if now["tag"] != "body":
            assert now["visible"], f"no visible focus on {now}"
        if now["tag"] in ("button", "a") and now["text"] == text:
            return
    pytest.fail(f"{most} presses of Tab never reached {text!r}; last: {now}")


async def test_skip_link_leads_to_the_content(live_server: str, browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 1024, "height": 768})
    await page.goto(f"{live_server}/find")
    await page.keyboard.press("Tab")
    first = await focused(page)
    assert first["text"] == "Skip to content"
    assert first["visible"] and first["onscreen"], first
    await page.keyboard.press("Enter")
    assert (await focused(page))["id"] == "main"
    # The next Tab continues inside the page, past the site's header and menu.
    await page.keyboard.press("Tab")
    assert (await focused(page))["id"] == "field-near"
    await page.close()


async def test_rsvp_with_the_keyboard(
    live_server: str, browser: Browser, hosted_meeting: str
) -> None:
    page = await browser.new_page(viewport={"width": 1024, "height": 768})
    await open_public_page(page, hosted_meeting)

    # Straight to the button first: the form says what is missing and takes the
    # focus to its summary, whose link leads back to the field.
    await tab_to_button(page, "RSVP")
    await page.keyboard.press("Enter")
    summary = page.get_by_role("alert")
    await expect(summary).to_be_focused()
    await expect(summary).to_contain_text("name")
    await page.keyboard.press("Tab")
    assert "name" in str((await focused(page))["text"]).lower()
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Your name")).to_be_focused()

    await page.keyboard.type("Kim Keys")
    await tab_to(page, "field-email")
    await page.keyboard.type("kim.keys@example.org")
    # One step back and forward again: Shift+Tab works as well.
    await tab_to(page, "field-name", backwards=True)
    await expect(page.get_by_label("Your name")).to_have_value("Kim Keys")
    await tab_to(page, "field-guests")
    await page.keyboard.press("ArrowDown")  # "Me + 1"
    await tab_to(page, "field-consent")
    await page.keyboard.press("Space")
    await expect(page.locator("#field-consent")).to_be_checked()
    await tab_to_button(page, "RSVP")
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("heading", level=1)).to_have_text("You're in!")
    await expect(page.get_by_text("kim.keys@example.org")).to_be_visible()
    await page.close()


async def test_publish_a_meeting_with_the_keyboard(live_server: str, browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 1024, "height": 768})
    await page.goto(f"{live_server}/host")
    day = datetime.now() + timedelta(days=12)

    await tab_to(page, "field-title")
    await page.keyboard.type("Keyboard supper club")
    # A date and time field takes its parts in the browser's order (month, day, year,
    # then hour, minute, AM/PM); two digits fill a part and move on, Tab leaves the
    # year (it could take six digits).
    for field, hour in (("field-starts_at", "06"), ("field-ends_at", "08")):
        await tab_to(page, field)
        await page.keyboard.type(f"{day:%m%d%Y}")
        await page.keyboard.press("Tab")
        await page.keyboard.type(f"{hour}30P")
    await expect(page.get_by_label("Starts")).to_have_value(f"{day:%Y-%m-%d}T18:30")
    await expect(page.get_by_label("Ends")).to_have_value(f"{day:%Y-%m-%d}T20:30")
    await tab_to(page, "field-kind")
    await page.keyboard.press("ArrowDown")  # a public place
    await expect(page.get_by_label("A public place", exact=False)).to_be_checked()
    await tab_to(page, "field-address-street")
    await page.keyboard.type("Public Library, 9 Main Street")
    await tab_to(page, "field-address-locality")
    await page.keyboard.type("Ann Arbor")
    await tab_to(page, "field-address-postal_code")
    await page.keyboard.type("48104")
    await tab_to(page, "field-host-name")
    await page.keyboard.type("Kai Keys")
    await tab_to(page, "field-host-email")
    await page.keyboard.type("kai.keys@example.org")
    await tab_to(page, "field-reply_to_host")
    await page.keyboard.press("Space")
    await tab_to_button(page, "Publish my meeting")
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard supper club")
    await expect(page.get_by_text(f"{day:%a %b} {day.day}, {day:%Y} · 6:30 PM")).to_be_visible()
    await page.close()


# Where the focus is: in the footer, and on which link.
IN_FOOTER = "() => Boolean(document.activeElement.closest('.site-footer'))"


async def tab_through_to_the_footer(page: Page, most: int = 150) -> int:
    """Tab from the top of the page to the footer's last link ("Coordinators"): every
    stop on the way shows a focus indicator and is scrolled into view. Returns the
    number of stops."""
    for stops in range(1, most + 1):
        await page.keyboard.press("Tab")
        now = await focused(page)
        assert now["tag"] != "body", f"the focus fell out of the page after {stops} stops"
        assert now["visible"], f"no visible focus on {now}"
        if await page.evaluate(IN_FOOTER) and now["text"] == "Coordinators":
            return stops
    pytest.fail(f"{most} presses of Tab never reached the footer's last link")


async def test_the_footer_leads_to_the_site_pages_by_keyboard(
    live_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1024, "height": 768})
    for name, path in (("About", "/about"), ("Privacy", "/privacy"), ("Contact", "/contact")):
        await page.goto(f"{live_server}/")
        await tab_to_button(page, name)
        assert await page.evaluate(IN_FOOTER), f"{name} is not the footer's link"
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{live_server}{path}")
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await tab_through_to_the_footer(page)
    await page.close()


async def test_report_a_meeting_with_the_keyboard(
    live_server: str, browser: Browser, hosted_meeting: str
) -> None:
    page = await browser.new_page(viewport={"width": 1024, "height": 768})
    await open_public_page(page, hosted_meeting)
    # The folded "Report this meeting" opens with Enter; its fields follow in order.
    for _ in range(120):
        await page.keyboard.press("Tab")
        if (await focused(page))["text"] == "Report this meeting":
            break
    assert (await focused(page))["visible"]
    await page.keyboard.press("Enter")
    await tab_to(page, "field-flag-reason")
    await page.keyboard.press("ArrowDown")  # "Spam or advertising"
    await expect(page.get_by_label("What's wrong?")).to_have_value("spam")
    await tab_to(page, "field-flag-note")
    await page.keyboard.type("Sent by keyboard.")
    await tab_to_button(page, "Send the report")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thanks for telling us")
    await tab_through_to_the_footer(page)
    await page.close()


async def test_team_audit_and_flag_pages_by_keyboard(
    live_server: str, browser: Browser, coordinator_state: str
) -> None:
    context = await browser.new_context(
        viewport={"width": 1024, "height": 768}, storage_state=coordinator_state
    )
    page = await context.new_page()
    for path in ("/coordinators/team", "/coordinators/audit", "/coordinators/flags"):
        await page.goto(f"{live_server}{path}")
        await expect(page).to_have_url(f"{live_server}{path}")
        await tab_through_to_the_footer(page)
    # The invitation form is reached and its first field typed into from the keyboard.
    await page.goto(f"{live_server}/coordinators/team")
    await tab_to(page, "field-email")
    await page.keyboard.type("kit.keys@example.org")
    await tab_to(page, "field-role")
    await tab_to_button(page, "Send the invitation")
    await context.close()


async def test_the_development_outbox_by_keyboard(
    live_env: dict[str, str], browser: Browser, hosted_meeting: str
) -> None:
    """/dev/outbox (KIT_DEBUG=1 only: a second server on the live server's data): each
    email's link in the table, then its text and its sandboxed HTML, by Tab alone."""
    data_dir, database_url = Path(live_env["KIT_DATA_DIR"]), live_env["KIT_DATABASE_URL"]
    page = await browser.new_page(viewport={"width": 1024, "height": 768})
    async with kit_serve(data_dir, database_url, KIT_DEBUG="1", **LIVE_SETTINGS) as debug:
        await page.goto(f"{debug.base}/dev/outbox")
        first = page.locator("main tbody tr a").first
        subject = await first.inner_text()
        await tab_to_button(page, subject)
        await page.keyboard.press("Enter")
        assert page.url.endswith(str(await first.get_attribute("href")))
        await tab_through_to_the_footer(page, most=400)
    await page.close()
