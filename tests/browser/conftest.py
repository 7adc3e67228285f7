"""A real `kit serve` (uvicorn) with demo data, and Debian's chromium driven by Playwright.

Browser tests fail, never skip, when chromium is missing: ./scripts/setup --test
installs it. The server writes its email to .eml files in its outbox folder, which
`read_mail` reads the way a person opens their inbox.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.servers import free_port, kit_env, kit_output, kit_serve

CHROMIUM = os.environ.get("KIT_TEST_CHROMIUM", "/usr/bin/chromium")
NEW_YORK = ZoneInfo("America/New_York")


# No tile server here: the page must work without tiles. Every journey comes from
# 127.0.0.1 to one server: the limits are for floods, not for a test suite publishing
# a dozen meetings in a minute.
LIVE_SETTINGS = {
    "KIT_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png",
    "KIT_RATE_LIMIT_RSVP": "500/minute",
    "KIT_RATE_LIMIT_HOST": "500/hour",
}


@pytest.fixture(scope="session")
def live_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the live server, for `kit` commands run beside it."""
    data_dir = tmp_path_factory.mktemp("live")
    database_url = f"sqlite://{data_dir / 'kit.sqlite3'}"
    return kit_env(data_dir, database_url, port=free_port(), **LIVE_SETTINGS)


@pytest.fixture(scope="session")
async def live_server(live_env: dict[str, str]) -> AsyncIterator[str]:
    kit_output(live_env, "demo", "--meetings", "80", timeout=300)
    data_dir, database_url = Path(live_env["KIT_DATA_DIR"]), live_env["KIT_DATABASE_URL"]
    port = int(live_env["KIT_BASE_URL"].rsplit(":", 1)[1])
    async with kit_serve(data_dir, database_url, port=port, **LIVE_SETTINGS) as server:
        yield server.base


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run ./scripts/setup --test"
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        await browser.close()


MailReader = Callable[..., Awaitable[EmailMessage]]
LinkReader = Callable[..., Awaitable[str]]
Publisher = Callable[..., Awaitable[str]]


def mail_reader(outbox: Path) -> MailReader:
    async def read(to: str, subject_contains: str = "", timeout: float = 20) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while True:
            found = []
            for path in outbox.glob("*.eml") if outbox.exists() else []:
                msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                assert isinstance(msg, EmailMessage)
                if to in str(msg["To"]) and subject_contains in str(msg["Subject"]):
                    found.append((path.stat().st_mtime, msg))
            if found:
                return max(found, key=lambda item: item[0])[1]
            if time.monotonic() > deadline:
                pytest.fail(f"no email to {to} about {subject_contains!r} in {outbox}")
            await asyncio.sleep(0.25)

    return read


def link_in(msg: EmailMessage, pattern: str) -> str:
    """The first URL in the email's text part matching ``pattern`` (a regex)."""
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None, "the email has no text part"
    text = str(body.get_content())
    found = re.search(rf"https?://[^\s<>]*{pattern}[^\s<>]*", text)
    assert found, f"no link matching {pattern!r} in:\n{text}"
    return found.group(0).rstrip(".,)")


@pytest.fixture(scope="session")
def read_mail(live_env: dict[str, str]) -> MailReader:
    """``await read_mail(to, subject_contains)``: the newest such email the live server
    has delivered to its outbox folder, waiting up to 20 s for it (the server's
    delivery loop polls every few seconds)."""
    return mail_reader(Path(live_env["KIT_DATA_DIR"]) / "outbox")


@pytest.fixture(scope="session")
def mail_link(read_mail: MailReader) -> LinkReader:
    """``await mail_link(to, subject_contains, pattern)``: a link from that email."""

    async def find(to: str, subject_contains: str, pattern: str) -> str:
        return link_in(await read_mail(to, subject_contains), pattern)

    return find


async def fill_meeting_details(page: Page, day: date, host_name: str, email_address: str) -> None:
    """The host form's date (6 to 8 PM on ``day``), an Oakland ZIP and the host."""
    await page.get_by_label("Starts").fill(f"{day}T18:00")
    await page.get_by_label("Ends").fill(f"{day}T20:00")
    await page.get_by_label("Town or city").fill("Oakland")
    await page.get_by_label("ZIP or postal code").fill("94612")
    await page.get_by_label("Your name").fill(host_name)
    await page.get_by_label("Your email").fill(email_address)


async def open_public_page(page: Page, manage_url: str) -> str:
    """Open a meeting's public page from its manage page's link, as a host shares it."""
    await page.goto(manage_url)
    public = await page.locator(".copy-row a").first.get_attribute("href")
    assert public, "no public link on the manage page"
    await page.goto(public)
    return public


async def publish_meeting(
    browser: Browser,
    base: str,
    read_mail: MailReader,
    *,
    title: str,
    email_address: str,
    starts: datetime | None = None,
    host_name: str = "Robin Example",
    campaign: str | None = None,
) -> str:
    """Publish a meeting in New York through the /host form, as a host would (by
    default nine days ahead at 6:30 PM, for two hours), from the campaign's "Host a
    meeting" link when ``campaign`` is given, then confirm the address from the link in
    the email, in a fresh browser context each time; its manage URL."""
    context = await browser.new_context()
    page = await context.new_page()
    if starts is None:
        starts = (datetime.now(NEW_YORK) + timedelta(days=9)).replace(hour=18, minute=30)
    starts = starts.astimezone(NEW_YORK)
    ends = starts + timedelta(hours=2)
    await page.goto(f"{base}/host?campaign={campaign}" if campaign else f"{base}/host")
    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Starts").fill(f"{starts:%Y-%m-%dT%H:%M}")
    await page.get_by_label("Ends").fill(f"{ends:%Y-%m-%dT%H:%M}")
    await page.get_by_label("Street address").fill("12 Hamilton Terrace")
    await page.get_by_label("Town or city").fill("New York")
    await page.get_by_label("ZIP or postal code").fill("10027")
    await page.get_by_label("Your name").fill(host_name)
    await page.get_by_label("Your email").fill(email_address)
    await page.get_by_role("button", name="Publish my meeting").click()
    await page.wait_for_url(re.compile(r"/manage/[\w-]+\?token="))
    confirmation = await read_mail(email_address, f"to publish {title}")
    await page.goto(link_in(confirmation, "/hosts/confirm/"))
    await page.get_by_role("button", name="Publish my meeting").click()
    await page.wait_for_url(re.compile(r"/manage/[\w-]+\?token=[\w-]+&confirmed=1$"))
    url = page.url.removesuffix("&confirmed=1")
    await context.close()
    return url


@pytest.fixture(scope="session")
def publish(live_server: str, browser: Browser, read_mail: MailReader) -> Publisher:
    """``await publish(title=..., email_address=...)``: publish a meeting through the
    /host form in a fresh browser context, confirmed from the email; its manage URL."""

    async def run(**kwargs: Any) -> str:
        return await publish_meeting(browser, live_server, read_mail, **kwargs)

    return run


@pytest.fixture(scope="session")
async def hosted_meeting(publish: Publisher) -> str:
    """The manage URL of a meeting published through the form (shared: don't cancel it)."""
    return await publish(title="Tenants on Hamilton Terrace", email_address="h@example.org")


@dataclass(frozen=True)
class StartingMeeting:
    manage_url: str
    starts: datetime

    async def wait_until_started(self) -> None:
        """Reports open when the meeting starts."""
        await asyncio.sleep(max(0.0, (self.starts - datetime.now(UTC)).total_seconds() + 1))


@pytest.fixture(scope="session")
async def meeting_starting_soon(publish: Publisher) -> StartingMeeting:
    """A meeting that starts 15 to 75 seconds after it is published (the form takes
    whole minutes, and only times ahead), so its host can file a report: request it
    early in a file, and wait for it late."""
    starts = (datetime.now(UTC) + timedelta(seconds=75)).replace(second=0, microsecond=0)
    manage_url = await publish(
        title="Porch meeting tonight", email_address="soon@example.org", starts=starts
    )
    return StartingMeeting(manage_url, starts)


@pytest.fixture(scope="session")
async def coordinator_state(
    live_server: str, live_env: dict[str, str], browser: Browser, mail_link: LinkReader
) -> str:
    """Playwright storage state (a JSON file) of an admin coordinator who signed in
    with the emailed link, after `kit coordinator add`."""
    address = "cora.coordinator@example.org"
    kit_output(live_env, "coordinator", "add", address, "--admin", "--name", "Cora")
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{live_server}/coordinators/signin")
    await page.get_by_label("Your email").first.fill(address)
    await page.get_by_role("button", name="Email me a sign-in link").click()
    await page.get_by_text("a sign-in link is on its way").wait_for()
    await page.goto(await mail_link(address, "", "/coordinators/signin/"))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/coordinators(?!/signin)"))
    path = Path(live_env["KIT_DATA_DIR"]) / "coordinator-state.json"
    await context.storage_state(path=str(path))
    await context.close()
    return str(path)
