"""Every page a neighbor, a host or a coordinator sees passes Deque's axe-core with no
serious or critical violation (the minor ones are printed), fits a 320 px wide phone
without sideways scrolling, and the core flows work with JavaScript switched off.

axe-core comes from npm (tests/browser/package.json, installed by
./scripts/setup --test) and is injected into each page as it is.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import (
    LIVE_SETTINGS,
    LinkReader,
    StartingMeeting,
    fill_meeting_details,
    open_public_page,
)
from tests.servers import kit_serve

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
CAMPAIGN = "winter-house-meetings"


async def new_context(browser: Browser, **options: Any) -> BrowserContext:
    # The kit's Content-Security-Policy forbids inline scripts, and add_script_tag
    # injects one: let the test's own script in, and nothing else changes.
    # Reduced motion switches off the buttons' color transitions, so axe never
    # measures a color halfway between two schemes.
    options.setdefault("viewport", {"width": 1280, "height": 900})
    return await browser.new_context(bypass_csp=True, reduced_motion="reduce", **options)


def describe(violation: dict[str, Any]) -> str:
    nodes = "".join(
        f"\n    {' '.join(node['target'])}: {node['failureSummary'].splitlines()[-1].strip()}"
        for node in violation["nodes"][:5]
    )
    return f"[{violation['impact']}] {violation['id']}: {violation['help']}{nodes}"


async def axe(page: Page, name: str, scheme: str = "light") -> list[dict[str, Any]]:
    """Run axe over the page as it is now; fail on serious or critical problems."""
    assert AXE.exists(), f"{AXE} is missing: run ./scripts/setup --test"
    await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    violations: list[dict[str, Any]] = result["violations"]
    for v in violations:
        if v["impact"] not in BLOCKING:
            print(f"axe, {name} ({scheme}): {describe(v)}")
    blocking = [describe(v) for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"{name} ({scheme}):\n" + "\n".join(blocking)
    return violations


async def axe_both_schemes(page: Page, name: str) -> None:
    """Light and dark: the stylesheet has a palette for each, and both must read well."""
    await axe(page, name, "light")
    await axe(page, name, "dark")


async def test_public_pages_pass_axe(
    live_server: str, browser: Browser, meeting_starting_soon: StartingMeeting
) -> None:
    # meeting_starting_soon is asked for here, early, so its clock runs meanwhile.
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(f"{live_server}/")
    await axe_both_schemes(page, "home")

    await page.goto(f"{live_server}/find")
    await expect(
        page.locator("#map .leaflet-marker-icon, #map .marker-cluster").first
    ).to_be_visible()
    await axe_both_schemes(page, "find")

    await page.goto(f"{live_server}/find?near=10027")
    await expect(page.locator(".meeting-list .meeting-card").first).to_be_visible()
    await axe_both_schemes(page, "find near 10027")

    await page.goto(f"{live_server}/find?near=Nowhere+at+all+42")
    await axe(page, "find, a place it doesn't know")

    await page.goto(f"{live_server}/find?near=10027")
    await page.locator(".meeting-list .meeting-card h3 a").first.click()
    await expect(page.get_by_role("heading", name="RSVP")).to_be_visible()
    await axe_both_schemes(page, "meeting page")

    await page.goto(f"{live_server}/campaigns/{CAMPAIGN}")
    await axe_both_schemes(page, "campaign page")

    await page.goto(f"{live_server}/no/such/page")
    await axe(page, "not found")
    await context.close()


async def test_rsvp_pages_pass_axe(
    live_server: str, browser: Browser, hosted_meeting: str, mail_link: LinkReader
) -> None:
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(hosted_meeting)
    public = await page.locator(".copy-row a").first.get_attribute("href")
    assert public
    await page.goto(public)
    await page.get_by_role("button", name="RSVP").click()
    await expect(page.get_by_role("heading", name=re.compile("Please fix"))).to_be_visible()
    await axe_both_schemes(page, "RSVP form with errors")

    await page.get_by_label("Your name").fill("Ada Axe")
    await page.get_by_label("Your email").fill("ada.axe@example.org")
    await page.get_by_role("button", name="RSVP").click()
    await expect(page).to_have_url(re.compile(r"/meetings/[\w-]+/thanks$"))
    await axe_both_schemes(page, "RSVP thank-you page")
    await page.goto(await mail_link("ada.axe@example.org", "You're in", "/rsvp/"))
    await expect(page.get_by_text("Confirmed for 1 person")).to_be_visible()
    await axe_both_schemes(page, "the guest's page, from the email")
    await context.close()


async def test_host_pages_pass_axe(live_server: str, browser: Browser, hosted_meeting: str) -> None:
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(f"{live_server}/host")
    await axe_both_schemes(page, "host form")
    await page.get_by_role("button", name="Publish my meeting").click()
    await expect(page.get_by_role("heading", name=re.compile("Please fix"))).to_be_visible()
    await axe_both_schemes(page, "host form with errors")

    await page.goto(hosted_meeting)
    await axe_both_schemes(page, "manage page")
    await page.goto(f"{live_server}/manage/recover")
    await axe(page, "recover manage links")
    await context.close()


async def test_coordinator_pages_pass_axe(
    live_server: str, browser: Browser, coordinator_state: str
) -> None:
    context = await new_context(browser)
    page = await context.new_page()
    await page.goto(f"{live_server}/coordinators/signin")
    await axe(page, "coordinator sign-in")
    await context.close()

    context = await new_context(browser, storage_state=coordinator_state)
    page = await context.new_page()
    await page.goto(f"{live_server}/coordinators")
    await axe_both_schemes(page, "coordinators' home")
    await page.goto(f"{live_server}/coordinators/campaigns/{CAMPAIGN}")
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await axe_both_schemes(page, "campaign dashboard")
    await page.goto(f"{live_server}/coordinators/campaigns/{CAMPAIGN}/approvals")
    await axe(page, "approvals")
    await page.goto(f"{live_server}/coordinators/campaigns/{CAMPAIGN}/edit")
    await axe(page, "campaign form")
    await context.close()


# The pages added with the site pages, the team, the audit log and moderation: each is
# walked at desktop width and at 320 px, in both color schemes.
SIZES = {"desktop": {"width": 1280, "height": 900}, "320 px": {"width": 320, "height": 640}}
SITE_PAGES = ("/about", "/privacy", "/contact")
NEWER_COORDINATOR_PAGES = (
    "/coordinators/team",
    "/coordinators/audit",
    f"/coordinators/campaigns/{CAMPAIGN}/audit",
    "/coordinators/flags",
)


async def check_page(page: Page, name: str) -> None:
    """axe in both schemes, a <title> of its own, one <h1>, and no sideways scrolling."""
    await axe_both_schemes(page, name)
    title = await page.title()
    assert title.endswith(" · House Meeting Kit") and not title.startswith("House meetings near"), (
        name,
        title,
    )
    assert await page.locator("h1").count() == 1, name
    width = page.viewport_size["width"] if page.viewport_size else 1280
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, (
        f"{name}: {scroll}px wide, widest: {await page.evaluate(WIDEST_ELEMENT)}"
    )


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "320px"])
async def test_site_pages_and_the_flag_form_pass_axe(
    live_server: str, browser: Browser, hosted_meeting: str, size: str
) -> None:
    context = await new_context(browser, viewport=SIZES[size])
    page = await context.new_page()
    for path in SITE_PAGES:
        await page.goto(f"{live_server}{path}")
        await check_page(page, f"{path} at {size}")
    # The footer reaches each of them, and the coordinators' door.
    for name, path in (("About", "/about"), ("Privacy", "/privacy"), ("Contact", "/contact")):
        await page.goto(f"{live_server}/")
        await page.locator(".site-footer").get_by_role("link", name=name, exact=True).click()
        await expect(page).to_have_url(f"{live_server}{path}")
    await page.goto(f"{live_server}/")
    await page.locator(".site-footer").get_by_role("link", name="Coordinators").click()
    await expect(page).to_have_url(re.compile(r"/coordinators/signin"))

    # The flag form, folded on a meeting page; refused without a reason; then sent.
    await open_public_page(page, hosted_meeting)
    await page.get_by_text("Report this meeting", exact=True).click()
    await expect(page.get_by_label("What's wrong?")).to_be_visible()
    await axe_both_schemes(page, f"meeting page, flag form open, at {size}")
    await page.get_by_role("button", name="Send the report").click()
    await expect(page.get_by_role("heading", name=re.compile("Please fix"))).to_be_visible()
    await check_page(page, f"flag form with errors at {size}")
    await page.get_by_label("What's wrong?").select_option("wrong")
    await page.get_by_role("button", name="Send the report").click()
    await expect(page.get_by_role("heading", name="Thanks for telling us")).to_be_visible()
    await check_page(page, f"flag sent at {size}")
    await context.close()


@pytest.mark.parametrize("size", SIZES, ids=["desktop", "320px"])
async def test_team_audit_and_flag_pages_pass_axe(
    live_server: str, browser: Browser, coordinator_state: str, size: str
) -> None:
    context = await new_context(browser, viewport=SIZES[size], storage_state=coordinator_state)
    page = await context.new_page()
    for path in NEWER_COORDINATOR_PAGES:
        await page.goto(f"{live_server}{path}")
        await expect(page).to_have_url(f"{live_server}{path}")  # signed in: not sent away
        await check_page(page, f"{path} at {size}")

    # A coordinator hosting outside the campaign's dates (the demo's ends in 60 days) is
    # warned beside the date, and ticks the box to publish it there anyway.
    day = date.today() + timedelta(days=90)
    await page.goto(f"{live_server}/host?campaign={CAMPAIGN}")
    await page.get_by_label("Title").fill(f"Late supper at {size}")
    await fill_meeting_details(page, day, "Cora Late", "cora.late@example.org")
    await page.get_by_role("button", name="Publish my meeting").click()
    box = page.get_by_label("Publish it outside the campaign's dates anyway")
    await expect(box).to_be_visible()
    await expect(page.locator("#window-warning")).to_contain_text("Winter House Meetings runs")
    await check_page(page, f"host form, warned outside the campaign, at {size}")
    await box.check()
    await page.get_by_role("button", name="Publish my meeting").click()
    await expect(page).to_have_url(re.compile(r"/manage/[\w-]+\?token="))
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Late supper at {size}")
    await context.close()


async def test_the_development_outbox_passes_axe(
    live_server: str, live_env: dict[str, str], browser: Browser, hosted_meeting: str
) -> None:
    """/dev/outbox exists only with KIT_DEBUG=1: a second server on the same data shows
    the live server's emails; the live server itself answers 404."""
    context = await new_context(browser)
    page = await context.new_page()
    assert (await page.goto(f"{live_server}/dev/outbox")).status == 404  # type: ignore[union-attr]
    data_dir, database_url = Path(live_env["KIT_DATA_DIR"]), live_env["KIT_DATABASE_URL"]
    async with kit_serve(data_dir, database_url, KIT_DEBUG="1", **LIVE_SETTINGS) as debug:
        for size, viewport in SIZES.items():
            await page.set_viewport_size(viewport)  # type: ignore[arg-type]
            await page.goto(f"{debug.base}/dev/outbox")
            await expect(page.locator("main tbody tr").first).to_be_visible()
            await check_page(page, f"/dev/outbox at {size}")
    await context.close()


CORE_PAGES = (
    "/",
    "/find",
    "/find?near=10027",
    "/host",
    f"/campaigns/{CAMPAIGN}",
    "/coordinators/signin",
    *SITE_PAGES,
)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_core_pages_fit_a_320px_screen(
    live_server: str, browser: Browser, hosted_meeting: str, javascript: bool
) -> None:
    context = await browser.new_context(
        java_script_enabled=javascript, viewport={"width": 320, "height": 640}
    )
    page = await context.new_page()
    await page.goto(hosted_meeting)
    public = await page.locator(".copy-row a").first.get_attribute("href")
    too_wide = {}
    for url in [f"{live_server}{path}" for path in CORE_PAGES] + [hosted_meeting, public]:
        await page.goto(str(url))
        width = await page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            widest = await page.evaluate(WIDEST_ELEMENT)
            too_wide[url] = f"{width}px, widest: {json.dumps(widest)}"
    assert not too_wide, too_wide
    await context.close()


# Which element sticks out: the deepest one whose right edge passes the viewport.
WIDEST_ELEMENT = r"""() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > document.documentElement.clientWidth + 1) {
      const cls = typeof el.className === 'string' && el.className
        ? '.' + el.className.trim().split(/\s+/).join('.') : '';
      const id = el.id ? '#' + el.id : '';
      out.push(el.tagName.toLowerCase() + id + cls + ' ' + Math.round(r.right));
    }
  }
  return out.slice(-5);
}"""


# Last in the file: the report opens when meeting_starting_soon starts.
async def test_report_form_passes_axe(
    browser: Browser, meeting_starting_soon: StartingMeeting
) -> None:
    context = await new_context(browser)
    page = await context.new_page()
    await meeting_starting_soon.wait_until_started()
    await page.goto(meeting_starting_soon.manage_url)
    await page.get_by_role("link", name="File your report").click()
    await expect(page.get_by_role("heading", name="Who came")).to_be_visible()
    await axe_both_schemes(page, "report form")
    # A headcount of minus one is refused, and the form says why.
    await page.get_by_label(re.compile("How many people came")).fill("-1")
    await page.get_by_role("button", name="File the report").click()
    await expect(page.get_by_role("heading", name=re.compile("Please fix"))).to_be_visible()
    await axe_both_schemes(page, "report form with errors")
    await context.close()


# Each card's number and name, then its ticks; the numbers in the printed sheet's order.
REPORT_CARDS = r"""() => [...document.querySelectorAll('.report-sheet tbody tr')].map(tr => {
  const box = tr.getBoundingClientRect();
  const ticks = [...tr.querySelectorAll('.tick')].map(td => {
    const label = td.querySelector('label').getBoundingClientRect();
    return {width: label.width, height: label.height};
  });
  return {top: box.top, left: box.left, right: box.right,
          num: tr.querySelector('.num').innerText.replace('#', ''), ticks};
})"""


async def test_report_form_is_one_card_per_attendee_on_a_phone(
    browser: Browser, meeting_starting_soon: StartingMeeting
) -> None:
    context = await new_context(browser, viewport={"width": 375, "height": 800})
    page = await context.new_page()
    await meeting_starting_soon.wait_until_started()
    await page.goto(meeting_starting_soon.manage_url)
    await page.get_by_role("link", name="File your report").click()
    await expect(page.get_by_role("heading", name="Who came")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    cards = await page.evaluate(REPORT_CARDS)
    assert len(cards) >= 5
    # One card a row, stacked down the page in the sheet's order, none wider than the phone.
    assert [int(c["num"]) for c in cards] == list(range(1, len(cards) + 1))
    assert all(a["top"] < b["top"] for a, b in zip(cards, cards[1:], strict=False))
    assert all(c["left"] >= 0 and c["right"] <= 375 for c in cards)
    # Every tick is a big target: its whole label, at least 44 px each way.
    ticks = [t for c in cards for t in c["ticks"]]
    assert ticks and all(t["height"] >= 44 and t["width"] >= 44 for t in ticks), ticks
    # The labels the table keeps in its head are on each card, and tapping one ticks it.
    first = page.locator(".report-sheet tbody tr").first
    volunteer = first.locator(".sheet-label", has_text="Volunteer")
    await expect(volunteer).to_be_visible()
    await expect(first.locator(".sheet-label", has_text="Name")).to_be_visible()
    await volunteer.click()
    await expect(page.get_by_label("Row 1: Volunteer")).to_be_checked()
    # The headcount says whom it counts, and so does its hint.
    await expect(page.get_by_label("How many people came, including you?")).to_be_visible()
    await expect(page.get_by_text("added above, and you")).to_be_visible()
    await axe(page, "report form at 375 px")
    await context.close()


async def test_rsvp_host_and_report_work_without_javascript(
    live_server: str,
    browser: Browser,
    meeting_starting_soon: StartingMeeting,
    mail_link: LinkReader,
) -> None:
    context = await browser.new_context(
        java_script_enabled=False, viewport={"width": 375, "height": 800}
    )
    page = await context.new_page()

    # Host: the form, an error, then published.
    await page.goto(f"{live_server}/host")
    await page.get_by_label("Title").fill("No-script supper")
    await page.get_by_role("button", name="Publish my meeting").click()
    await expect(page.get_by_role("heading", name=re.compile("Please fix"))).to_be_visible()
    await expect(page.get_by_label("Title")).to_have_value("No-script supper")
    day = date.today() + timedelta(days=10)
    await fill_meeting_details(page, day, "Noor Script", "noor.noscript@example.org")
    await page.get_by_role("button", name="Publish my meeting").click()
    await expect(page).to_have_url(re.compile(r"/manage/[\w-]+\?token="))
    await expect(page.get_by_role("heading", level=1)).to_have_text("No-script supper")
    # The address is confirmed from the email, with a plain form too.
    await page.goto(await mail_link("noor.noscript@example.org", "to publish", "/hosts/confirm/"))
    await page.get_by_role("button", name="Publish my meeting").click()
    await expect(page.get_by_role("status")).to_contain_text("your email is confirmed")

    # RSVP: the guest finds it by ZIP and signs up.
    await page.goto(f"{live_server}/find?near=94612")
    await page.get_by_role("link", name="No-script supper").click()
    await page.get_by_label("Your name").fill("Sam Plain")
    await page.get_by_label("Your email").fill("sam.plain@example.org")
    await page.get_by_role("button", name="RSVP").click()
    await expect(page.get_by_role("heading", name="You're in!")).to_be_visible()

    # Report: the host of a meeting that has started files who came.
    await meeting_starting_soon.wait_until_started()
    await page.goto(meeting_starting_soon.manage_url)
    await page.get_by_role("link", name="File your report").click()
    await page.get_by_label(re.compile("How many people came")).fill("7")
    await page.get_by_role("button", name="File the report").click()
    await expect(page.get_by_text("Your report is saved")).to_be_visible()
    await context.close()
