"""A host publishes a meeting, sets the agenda timings, and downloads the host packet."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from pypdf import PdfReader

from tests.browser.conftest import LinkReader

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def test_host_publishes_adjusts_the_agenda_and_downloads_the_packet(
    live_server: str, browser: Browser, mail_link: LinkReader
) -> None:
    context = await browser.new_context(
        accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    page = await context.new_page()
    day = datetime.now() + timedelta(days=9)
    await page.goto(f"{live_server}/host")
    await page.get_by_label("Title").fill("Porch talk about the bus")
    await page.get_by_label("Starts").fill(f"{day:%Y-%m-%d}T18:30")
    await page.get_by_label("Ends").fill(f"{day:%Y-%m-%d}T20:30")
    await page.get_by_label("Town or city").fill("New York")
    await page.get_by_label("ZIP or postal code").fill("10027")
    await page.get_by_label("Your name").fill("Robin Packet")
    await page.get_by_label("Your email").fill("robin.packet@example.org")
    await page.get_by_role("button", name="Publish my meeting").click()

    await expect(page).to_have_url(re.compile(r"/manage/[\w-]+\?token="))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Porch talk about the bus")
    # Nothing to print before the address is confirmed: its QR codes would lead nowhere.
    await expect(page.get_by_role("heading", name="Print for your meeting")).to_have_count(0)
    await page.goto(await mail_link("robin.packet@example.org", "to publish", "/hosts/confirm/"))
    await page.get_by_role("button", name="Publish my meeting").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Porch talk about the bus")
    heading = page.get_by_role("heading", name="Print for your meeting")
    printables = page.locator("section", has=heading)
    await expect(printables).to_be_visible()

    # The host gives introductions twenty minutes; the packet's clock follows.
    await page.get_by_label("Welcome and introductions").fill("20")
    await page.get_by_role("button", name="Save timings").click()
    await expect(page.get_by_text("Your agenda is saved").first).to_be_visible()
    await expect(page.get_by_label("Welcome and introductions")).to_have_value("20")
    SCREENSHOTS.mkdir(exist_ok=True)
    await printables.screenshot(path=str(SCREENSHOTS / "manage-printables.png"))

    link = page.get_by_role("link", name="Host packet (PDF)")
    assert re.search(
        r"/meetings/[\w-]+/packet\.pdf\?token=", await link.get_attribute("href") or ""
    )
    # The browser opens the packet in its PDF viewer, ready to print.
    async with page.expect_response(re.compile(r"/packet\.pdf\?token=")) as info:
        await link.click()
    response = await info.value
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert re.fullmatch(
        r'inline; filename="packet-porch-talk-about-the-bus-\d{4}-\d\d-\d\d\.pdf"',
        response.headers["content-disposition"],
    )
    # Chromium hands the viewer its own page, not the bytes: fetch them as the browser did.
    fetched = await page.request.get(response.url)
    assert fetched.ok
    data = await fetched.body()
    assert data[:5] == b"%PDF-"
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None
    assert reader.metadata.title == "Host packet: Porch talk about the bus"
    assert reader.metadata.author == "Robin"
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
    assert "Robin Packet" in text and "6:30 PM – 8:30 PM" in text
    assert re.search(r"6:50 PM Why we came: one story each", text)
    await context.close()
