"""What `kit demo` tells the operator to try: the links it prints work."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlsplit

import httpx

from kit.coordinators import dashboard
from kit.core.settings import Settings
from kit.ops import demo
from kit.store.models import Campaign, Meeting


async def test_the_printed_links_open_a_search_and_a_manage_page(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    await demo.load_demo(settings, meetings=3, past=0)
    tour = await demo.demo_tour(settings)
    text = tour.describe()
    assert tour.manage_url and tour.manage_url in text
    manage = urlsplit(tour.manage_url)
    page = await client.get(f"{manage.path}?{manage.query}")
    assert page.status_code == 200 and "Cancel this meeting" in page.text
    near = f"/find?near={demo.TRY_NEAR}"
    assert f"{settings.base_url}{near}" in text
    found = await client.get(near)
    assert found.status_code == 200 and "/meetings/" in found.text
    assert "Emails the kit sends: the .eml files in KIT_DATA_DIR/outbox" in text
    debug_text = dataclasses.replace(tour, debug=True).describe()
    assert f"Emails the kit sends: {settings.base_url}/dev/outbox" in debug_text


async def test_no_upcoming_demo_meeting_means_no_link(settings: Settings, db: str) -> None:
    tour = await demo.demo_tour(settings)
    assert tour.manage_url is None and "no upcoming demo meeting" in tour.describe()


async def test_the_demo_looks_real_streets_titles_and_meetings_that_grew(
    settings: Settings, db: str
) -> None:
    await demo.load_demo(settings, meetings=30, past=8)
    rows = await Meeting.filter(campaign__slug=demo.CAMPAIGN_SLUG).order_by("id")
    by_country = {m.country: m.street for m in rows}
    assert by_country["FR"].split(" ", 1)[1].startswith(("Rue", "Avenue"))
    assert re.fullmatch(r"\w+(straße|weg) \d+", by_country["DE"])
    assert re.fullmatch(r"\d+ \w+ (St|Ave|Rd|Lane|Ct|Way)", by_country["US"])
    assert len({m.title for m in rows}) > len(demo.TOPICS)  # not one title per topic
    assert any(" — " in m.title for m in rows) and any("'s" in m.title for m in rows)
    grown = [m for m in rows if m.grew_from_id is not None]  # type: ignore[attr-defined]
    assert grown
    campaign = await Campaign.get(slug=demo.CAMPAIGN_SLUG)
    figures = await dashboard.campaign_dashboard(campaign)
    assert figures.funnel.new_hosts >= 1
    assert any(g >= 1 for g, _ in figures.growth.by_generation)
