"""Keyboard only: a neighbor RSVPs and a host publishes a meeting with Tab, Shift+Tab,
Enter, Space and typing, never the mouse, and can always see where the focus is."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect

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
    await page.goto(hosted_meeting)
    public = await page.locator(".copy-row a").first.get_attribute("href")
    assert public
    await page.goto(public)

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
