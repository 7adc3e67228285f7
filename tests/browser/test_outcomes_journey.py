"""The loop the kit exists for, in a real browser against a real server: a host files the
report of a meeting that took place → the campaign page shows the new totals and ideas →
a visitor supports an idea → the coordinator's dashboard counts it and its CSV export has
it → the guest who said they'd host gets an invitation with the host form pre-filled, and
the meeting they publish records the meeting it grew from."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from kit.ops.demo import CAMPAIGN_SLUG
from tests.browser.conftest import NEW_YORK, LinkReader, MailReader, Publisher

pytestmark = pytest.mark.browser

SHOTS = Path("test-artifacts")
IDEA = "A tool library in the church basement"
ADA = ("Ada Loop", "ada.loop@example.org")
BO = ("Bo Loop", "bo.loop@example.org")


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"outcomes-{name}.png"), full_page=True)


async def held_figure(page: Page, unit: str) -> int:
    """A thermometer's figure on the campaign page: "12 meetings held" → 12."""
    text = await page.locator(".thermometer-label span", has_text=unit).first.inner_text()
    return int(text.split()[0].replace(",", ""))


def took_place(data_dir: str, public_id: str) -> None:
    """The evening comes: move the meeting to yesterday in the server's database (the
    only step not done through the web, since a browser test can't wait for a date)."""
    ends = datetime.now(UTC) - timedelta(hours=20)
    with sqlite3.connect(Path(data_dir) / "kit.sqlite3") as db:
        changed = db.execute(
            "UPDATE meeting SET starts_at = ?, ends_at = ? WHERE public_id = ?",
            [(ends - timedelta(hours=2)).isoformat(" "), ends.isoformat(" "), public_id],
        ).rowcount
    assert changed == 1


async def rsvp(browser: Browser, meeting_url: str, name: str, email: str) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(meeting_url)
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Your email").fill(email)
    await page.get_by_role("button", name="RSVP").click()
    await expect(page.get_by_role("heading", name="You're in!")).to_be_visible()
    await context.close()


async def test_a_report_comes_back_online_and_grows_the_network(
    live_server: str,
    live_env: dict[str, str],
    browser: Browser,
    read_mail: MailReader,
    mail_link: LinkReader,
    coordinator_state: str,
    publish: Publisher,
) -> None:
    base = live_server
    campaign_url = f"{base}/campaigns/{CAMPAIGN_SLUG}"
    host = await browser.new_context()
    page = await host.new_page()

    # Before: the campaign's figures as a visitor sees them.
    await page.goto(campaign_url)
    held_before = await held_figure(page, "meetings held")
    commitments_before = await held_figure(page, "commitments")
    await expect(page.get_by_text(IDEA)).to_have_count(0)

    # A host publishes a meeting for the campaign; two neighbors RSVP.
    manage_url = await publish(
        title="Loop test living room",
        email_address="hana.loop@example.org",
        host_name="Hana Host",
        campaign=CAMPAIGN_SLUG,
        starts=datetime.now(NEW_YORK) + timedelta(days=3),
    )
    public_id = re.search(r"/manage/([\w-]+)\?", manage_url).group(1)  # type: ignore[union-attr]
    for name, email in (ADA, BO):
        await rsvp(browser, f"{base}/meetings/{public_id}", name, email)
    took_place(live_env["KIT_DATA_DIR"], public_id)

    # The host files the report from the manage page's link, typed off the sign-in sheet.
    await page.goto(manage_url)
    await page.get_by_role("link", name="File your report").click()
    await page.get_by_label(f"{ADA[0]} came").check()
    await page.get_by_label(f"{ADA[0]}: Host a meeting").check()
    await page.get_by_label(f"{BO[0]} came").check()
    await page.get_by_label(f"{BO[0]}: Volunteer").check()
    await page.get_by_label("Ideas raised").fill(f"{IDEA}\nA block party in June")
    await page.get_by_label("A story or quote to share (optional)").fill(
        "We found out three of us grew up on the same street."
    )
    await page.get_by_label("The person who told it agreed that it may be shared").check()
    await shot(page, "1-report-form")
    await page.get_by_role("button", name="File the report").click()
    await expect(page.get_by_text(re.compile("thank", re.I)).first).to_be_visible()
    await host.close()

    # The campaign page shows the new totals, the story and the idea.
    visitor = await browser.new_context()
    page = await visitor.new_page()
    await page.goto(campaign_url)
    assert await held_figure(page, "meetings held") == held_before + 1
    assert await held_figure(page, "commitments") == commitments_before + 2
    await expect(page.get_by_text("three of us grew up on the same street")).to_be_visible()
    idea = page.locator("li", has_text=IDEA)
    await expect(idea).to_contain_text("0 supporters")

    # A visitor supports the idea, once.
    await idea.get_by_role("button", name="Support").click()
    idea = page.locator("li", has_text=IDEA)
    await expect(idea).to_contain_text("1 supporter")
    await expect(idea.get_by_text("You support this idea")).to_be_visible()
    await shot(page, "2-campaign-page")
    await visitor.close()

    # The coordinator's dashboard counts it, and the ideas export has it.
    coordinator = await browser.new_context(storage_state=coordinator_state)
    page = await coordinator.new_page()
    await page.goto(f"{base}/coordinators/campaigns/{CAMPAIGN_SLUG}")
    row = page.locator("tr", has_text=IDEA)
    await expect(row).to_contain_text("1")
    await shot(page, "3-dashboard")
    ideas_csv = await coordinator.request.get(
        f"{base}/coordinators/campaigns/{CAMPAIGN_SLUG}/export/ideas.csv"
    )
    assert ideas_csv.ok
    [exported] = [
        r
        for r in csv.DictReader(io.StringIO((await ideas_csv.body()).decode("utf-8-sig")))
        if r["text"] == IDEA
    ]
    assert (exported["supporters"], exported["meeting"]) == ("1", public_id)
    meetings_csv = await coordinator.request.get(
        f"{base}/coordinators/campaigns/{CAMPAIGN_SLUG}/export/meetings.csv"
    )
    [ours] = [
        r
        for r in csv.DictReader(io.StringIO((await meetings_csv.body()).decode("utf-8-sig")))
        if r["id"] == public_id
    ]
    assert (ours["status"], ours["reported"]) == ("completed", "yes")

    # Ada, who said she'd host, gets an invitation with the host form filled in for her.
    invitation = await read_mail(ADA[1], "will you host a meeting of your own?")
    assert "Hana" in str(invitation["From"])
    link = await mail_link(ADA[1], "will you host a meeting of your own?", r"/host\?")
    newcomer = await browser.new_context()
    page = await newcomer.new_page()
    await page.goto(link)
    await expect(page.get_by_label("Your name")).to_have_value(ADA[0])
    await expect(page.get_by_label("Your email")).to_have_value(ADA[1])
    await expect(page.get_by_label("Town or city")).to_have_value("New York")
    await expect(page.get_by_label("Campaign (optional)")).to_have_value(CAMPAIGN_SLUG)
    await shot(page, "4-invitation-form")
    later = (datetime.now(NEW_YORK) + timedelta(days=17)).replace(hour=19, minute=0)
    await page.get_by_label("Title").fill("Ada's kitchen table")
    await page.get_by_label("Starts").fill(f"{later:%Y-%m-%dT%H:%M}")
    await page.get_by_label("Ends").fill(f"{later + timedelta(hours=2):%Y-%m-%dT%H:%M}")
    await page.get_by_label("Street address").fill("3 Hamilton Place")
    await page.get_by_label("ZIP or postal code").fill("10031")
    await page.get_by_role("button", name="Publish my meeting").click()
    await page.wait_for_url(re.compile(r"/manage/[\w-]+\?token="))
    await newcomer.close()

    # The dashboard's meetings export records what Ada's meeting grew from.
    meetings_csv = await coordinator.request.get(
        f"{base}/coordinators/campaigns/{CAMPAIGN_SLUG}/export/meetings.csv"
    )
    [adas] = [
        r
        for r in csv.DictReader(io.StringIO(await meetings_csv.text()))
        if r["title"] == "Ada's kitchen table"
    ]
    assert adas["grew_from"] == public_id and adas["host_email"] == ADA[1]
    await coordinator.close()
