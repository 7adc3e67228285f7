"""The team page: admins and coordinators invite coordinators by email, change their
role and campaigns and remove them (their sessions end), each change in the audit log."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from kit.coordinators.accounts import add_coordinator
from kit.core.settings import Settings
from kit.store.models import AuditEntry, Coordinator, CoordinatorRole, OutboxMessage
from kit.web.app import create_app
from tests.factories import make_campaign
from tests.web.test_coordinator_pages import (
    csrf_of,
    new_client,
    open_with_cookie,
    post_form,
    session_of,
    sign_in,
)

TEAM = "/coordinators/team"


@pytest.fixture
def app(settings: Settings, db: str) -> Starlette:
    return create_app(settings, manage_db=False)


@pytest.fixture
async def campaigns(db: str) -> None:
    await make_campaign("winter", name="Winter House Meetings")
    await make_campaign("spring", name="Spring Listening")


async def invitation_link(email: str) -> str:
    mail = await OutboxMessage.get(kind="coordinator_invite", recipient=email)
    match = re.search(r"http://\S+/coordinators/signin/[\w-]+", mail.payload["body_text"])
    assert match, mail.payload["body_text"]
    return match.group(0).removeprefix("http://127.0.0.1:8000").removeprefix("http://testserver")


async def test_a_coordinator_invites_a_viewer_who_signs_in_from_the_email(
    client: httpx.AsyncClient, app: Starlette, campaigns: None
) -> None:
    await add_coordinator("cara@example.org", name="Cara Diaz", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    invited = await post_form(
        client, TEAM, TEAM, email=" Vi@Example.org", name="Vi Tran", role="viewer",
        campaign="winter",
    )  # fmt: skip
    assert invited.status_code == 303
    assert "vi@example.org is invited" in (await client.get(TEAM)).text
    mail = await OutboxMessage.get(kind="coordinator_invite")
    assert mail.recipient == "vi@example.org" and mail.payload["reply_to"] == "cara@example.org"
    assert (
        "Winter House Meetings" in mail.payload["subject"] and "viewer" in mail.payload["body_text"]
    )
    vi = await Coordinator.get(email="vi@example.org")
    assert vi.role is CoordinatorRole.VIEWER
    async with new_client(app, "198.51.100.7") as browser:
        link = await invitation_link("vi@example.org")
        button = await browser.get(link)
        assert button.status_code == 200
        signed_in = await browser.post(link, data={"csrf_token": csrf_of(button.text)})
        assert signed_in.status_code == 303
        assert (await browser.get("/coordinators/campaigns/winter")).status_code == 200
        assert (await browser.get("/coordinators/campaigns/winter/edit")).status_code == 403
        assert (await browser.get(TEAM)).status_code == 403  # viewers manage nobody
    [entry] = await AuditEntry.filter(action="coordinator.invite")
    assert (entry.actor_label, entry.detail) == ("cara@example.org", "vi@example.org as viewer")


async def test_an_invitation_needs_a_campaign_of_ones_own_and_good_input(
    client: httpx.AsyncClient, campaigns: None
) -> None:
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    theirs = await post_form(client, TEAM, TEAM, email="x@example.org", campaign="spring")
    assert theirs.status_code == 403
    bad = await post_form(client, TEAM, TEAM, email="not-an-email", role="owner", campaign="winter")
    assert bad.status_code == 422
    assert 'href="#field-email"' in bad.text and 'href="#field-role"' in bad.text
    assert 'value="not-an-email"' in bad.text  # what was typed stays
    none = await post_form(client, TEAM, TEAM, email="x@example.org", campaign="")
    assert none.status_code == 422 and "Choose a campaign." in none.text
    assert not await OutboxMessage.filter(kind="coordinator_invite").exists()
    assert await Coordinator.filter(email="x@example.org").count() == 0


async def test_role_and_campaigns_change_and_removal_ends_the_sessions(
    client: httpx.AsyncClient, app: Starlette, campaigns: None
) -> None:
    await add_coordinator("boss@example.org", is_admin=True)
    mo, _ = await add_coordinator(
        "mo@example.org", campaign_slug="winter", role=CoordinatorRole.VIEWER
    )
    await sign_in(client, "boss@example.org")
    changed = await post_form(client, TEAM, f"{TEAM}/{mo.id}", role="moderator", campaigns="spring")
    assert changed.status_code == 303
    stored = await Coordinator.get(id=mo.id)
    assert stored.role is CoordinatorRole.MODERATOR
    assert [c.slug for c in await stored.campaigns.all()] == ["spring"]
    actions = await AuditEntry.all().order_by("id").values_list("action", flat=True)
    assert actions == ["coordinator.role", "coordinator.remove", "coordinator.add"]
    empty = await post_form(client, TEAM, f"{TEAM}/{mo.id}", role="viewer")
    assert empty.status_code == 422 and "Keep at least one campaign" in empty.text
    async with new_client(app, "198.51.100.8") as mos_browser:
        await sign_in(mos_browser, "mo@example.org")
        cookie = session_of(mos_browser)
        assert await open_with_cookie(app, cookie, "/coordinators/campaigns/spring") == 200
        removed = await post_form(client, TEAM, f"{TEAM}/{mo.id}/remove")
        assert removed.status_code == 303
        assert await open_with_cookie(app, cookie, "/coordinators/campaigns/spring") == 303
    assert not await Coordinator.filter(email="mo@example.org").exists()
    last = await AuditEntry.all().order_by("-id").first()
    assert last and (last.action, last.detail) == ("coordinator.remove", "mo@example.org")


async def test_a_coordinator_manages_only_people_wholly_within_their_campaigns(
    client: httpx.AsyncClient, campaigns: None
) -> None:
    cara, _ = await add_coordinator("cara@example.org", campaign_slug="winter")
    both, _ = await add_coordinator("both@example.org", campaign_slug="winter")
    await add_coordinator("both@example.org", campaign_slug="spring")
    only, _ = await add_coordinator("only@example.org", campaign_slug="winter")
    await add_coordinator("zed@example.org", campaign_slug="spring")
    await sign_in(client, "cara@example.org")
    page = (await client.get(TEAM)).text
    assert "only@example.org" in page and "both@example.org" in page
    assert "zed@example.org" not in page  # shares no campaign with Cara
    for target in (both, cara):  # someone also in spring; herself
        response = await post_form(
            client, TEAM, f"{TEAM}/{target.id}", role="viewer", campaigns="winter"
        )
        assert response.status_code == 403
        assert (await Coordinator.get(id=target.id)).role is CoordinatorRole.COORDINATOR
    demoted = await post_form(client, TEAM, f"{TEAM}/{only.id}", role="viewer", campaigns="winter")
    assert demoted.status_code == 303
    taken_over = await post_form(
        client, TEAM, TEAM, email="both@example.org", role="viewer", campaign="winter"
    )
    assert taken_over.status_code == 409 and "ask an admin" in taken_over.text
    for junk in ("x", "99999999999999999999", str(10**6)):
        assert (await post_form(client, TEAM, f"{TEAM}/{junk}/remove")).status_code == 404
