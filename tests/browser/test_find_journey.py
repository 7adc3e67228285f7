"""A neighbor finds a meeting by ZIP code, on the list and on the map, and opens it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def test_find_a_meeting_by_zip_and_open_it(live_server: str, browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{live_server}/")
    await page.get_by_label("ZIP code or town").first.fill("10027")
    await page.get_by_role("button", name="Find", exact=True).click()

    await expect(page).to_have_url(re.compile(r"/find\?near=10027"))
    results = page.locator(".meeting-list .meeting-card")
    await expect(results.first).to_be_visible()
    assert await results.count() >= 1
    # Markers are drawn from the GeoJSON of the visible area, even with no tiles.
    await expect(page.locator("#map")).to_have_attribute("data-markers", re.compile(r"^[1-9]"))
    await expect(page.locator("#map .leaflet-marker-icon").first).to_be_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "find.png"), full_page=True)

    title = (await results.first.locator("h3 a").inner_text()).strip()
    await results.first.locator("h3 a").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(title)
    await expect(page.get_by_text("The exact address goes to confirmed guests")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "meeting.png"), full_page=True)
    await page.close()


async def test_find_works_at_320px_without_javascript(live_server: str, browser: Browser) -> None:
    context = await browser.new_context(
        java_script_enabled=False, viewport={"width": 320, "height": 800}
    )
    page = await context.new_page()
    await page.goto(f"{live_server}/find?near=Lyon%2C+France")
    await expect(page.locator(".meeting-list .meeting-card").first).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320
    await context.close()


async def test_find_on_a_phone_lists_first_marks_the_place_and_explains_a_refused_location(
    live_server: str, browser: Browser
) -> None:
    # No geolocation permission granted: the browser refuses, as a person tapping "Block".
    context = await browser.new_context(viewport={"width": 375, "height": 800})
    page = await context.new_page()
    await page.goto(f"{live_server}/find?near=10027")
    results = page.locator(".meeting-list")
    await expect(results).to_be_visible()
    list_box, map_box = await results.bounding_box(), await page.locator("#map").bounding_box()
    assert list_box and map_box and list_box["y"] < map_box["y"]  # the list comes first
    assert map_box["height"] <= 0.35 * 800  # and the map is shorter than on a desktop
    # The searched place has its own pin beside the meeting markers.
    await expect(page.locator("#map path.leaflet-interactive")).to_have_count(1)

    await page.get_by_role("button", name="Use my location").click()
    await expect(page.locator("#location-message")).to_have_text(
        re.compile("didn't share your location|couldn't find your location")
    )
    await expect(page.get_by_label("ZIP code or town")).to_be_focused()
    await context.close()
