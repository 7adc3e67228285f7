"""The figures coordinators and the public see are one: the dashboard and the campaign
page give the same count under the same label, each saying what it counts; "Latest
meetings" reads in date order; regions have names; the campaign page lists only the
next meetings, with "See all" and a search by place."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from kit.coordinators import dashboard
from kit.coordinators.accounts import add_coordinator
from kit.maps import countries
from kit.reports.outcomes import FIGURE_MEANS
from kit.store.models import Meeting, Report
from tests.coordinators.test_dashboard import build_world
from tests.factories import make_campaign, make_meeting
from tests.web.test_coordinator_pages import sign_in


def figure(html: str, unit: str) -> str:
    """A thermometer's text, "11 people reached", as both pages word it."""
    match = re.search(rf"<span>(\d+) {unit}</span>", html)
    assert match, f"no {unit!r} figure"
    return match.group(1)


async def test_dashboard_and_campaign_page_give_the_same_figures(
    client: httpx.AsyncClient,
) -> None:
    w = await build_world()
    # The host counted 10 people, 3 of whom signed in: "reached" is the headcount.
    await Report.filter(meeting_id=w.meetings["held"].id).update(headcount=10)
    public = (await client.get("/campaigns/winter")).text
    public_json = (await client.get("/api/campaigns/winter/outcomes")).json()
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    page = (await client.get("/coordinators/campaigns/winter")).text
    for unit, expected in (("meetings held", "2"), ("people reached", "11"), ("commitments", "4")):
        assert figure(public, unit) == figure(page, unit) == expected, unit
    assert public_json["people_reached"] == 11 and public_json["meetings_held"] == 2
    for caption in FIGURE_MEANS.values():
        text = caption.replace("'", "&#39;")
        assert text in public and text in page
    assert "People attended" not in page and "Attended (on sign-in sheets)" in page
    d = await dashboard.campaign_dashboard(w.a)
    progress = dashboard.dashboard_to_json(d)["progress"]
    assert (progress["people_reached"], progress["meetings_held"]) == (11, 2)


async def test_latest_meetings_are_in_date_order(client: httpx.AsyncClient) -> None:
    campaign = await make_campaign("winter")
    now = datetime.now(UTC)
    # Entered in an order unlike their dates.
    for title, days in (("In ten days", 10), ("Last week", -7), ("Tomorrow", 1), ("Ages ago", -90)):
        created = await make_meeting(title=title, campaign="winter")
        starts = now + timedelta(days=days)
        await Meeting.filter(id=created.meeting.id).update(
            starts_at=starts, ends_at=starts + timedelta(hours=2)
        )
    latest = await dashboard.latest_meetings(campaign.id)
    assert [m.title for m in latest] == ["In ten days", "Tomorrow", "Last week", "Ages ago"]
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    html = (await client.get("/coordinators/campaigns/winter")).text
    section = html[html.index("Latest meetings") :]
    positions = [section.index(t) for t in ("In ten days", "Tomorrow", "Last week", "Ages ago")]
    assert positions == sorted(positions)


async def test_regions_are_named(client: httpx.AsyncClient) -> None:
    w = await build_world()
    d = await dashboard.campaign_dashboard(w.a)
    labels = {r.label for r in d.regions}
    assert "New York, United States" in labels and "California, United States" in labels
    assert not any(re.fullmatch(r"[A-Z]{2}(, [A-Z]{2})?", label) for label in labels)
    assert countries.country_name("DE") == "Germany" and countries.country_name("ZZ") == "ZZ"
    region = dashboard.dashboard_to_json(d)["regions"][0]
    assert region["label"].endswith("United States") and region["country"] == "US"


async def test_the_campaign_page_lists_the_next_ten_with_see_all_and_a_search(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("winter")
    now = datetime.now(UTC)
    for n in range(12):
        created = await make_meeting(title=f"Kitchen table {n:02}", campaign="winter")
        starts = now + timedelta(days=n + 1)
        await Meeting.filter(id=created.meeting.id).update(
            starts_at=starts, ends_at=starts + timedelta(hours=2)
        )
    html = (await client.get("/campaigns/winter")).text
    listed = re.findall(r"Kitchen table (\d\d)</a>", html)
    assert listed == [f"{n:02}" for n in range(10)]  # the next ten, soonest first
    assert 'href="/find?campaign=winter">See all 12 upcoming meetings</a>' in html
    form = html[html.index('action="/find"') :]
    assert 'name="campaign" value="winter"' in form and 'name="near"' in form
