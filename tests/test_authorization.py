"""Who sees what, walked as a matrix over the real app:

- a coordinator of campaign A sees nothing personal from campaign B, and can't act on it;
- an admin sees every campaign;
- a host's link opens only their own meeting's people (guest list, packet);
- the public sees aggregates only;
- signed out: HTML pages send you to sign in, the API answers 401.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from kit.coordinators.accounts import add_coordinator
from kit.coordinators.api_tokens import create_api_token
from kit.core.settings import Settings
from kit.store.models import (
    Campaign,
    Coordinator,
    CoordinatorRole,
    Idea,
    IdeaStatus,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Person,
)
from kit.web.app import create_app
from tests.coordinators.test_dashboard import World, build_world
from tests.factories import make_campaign, make_meeting
from tests.web.test_coordinator_pages import csrf_of, new_client, sign_in

# What campaign B's people are called in build_world(): none may reach A's coordinator.
B_PERSONAL = ("Zed Secret", "zed@b.example", "hb1@b.example", "hb2@b.example", "Spring secret")
A_PERSONAL = ("Ada Okafor", "ada@a.example", "h1@a.example", "417 Elm St", "+1 212 555 0199")


@pytest.fixture
def app(settings: Settings, db: str) -> Starlette:
    return create_app(settings, manage_db=False)


@pytest.fixture
async def world(db: str) -> World:
    w = await build_world()
    await add_coordinator("cara@a.example", campaign_slug="winter")  # coordinates A only
    await add_coordinator("boss@example.org", is_admin=True)
    return w


@pytest.fixture
async def cara(app: Starlette, world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(app) as client:
        await sign_in(client, "cara@a.example")
        yield client


def b_pages(w: World) -> list[str]:
    held, pending = w.meetings["b_held"].public_id, w.meetings["b_pending"].public_id
    return [
        "/coordinators/campaigns/spring",
        "/coordinators/campaigns/spring/edit",
        "/coordinators/campaigns/spring/approvals",
        "/coordinators/campaigns/spring/export/meetings.csv",
        "/coordinators/campaigns/spring/export/attendees.csv",
        "/coordinators/campaigns/spring/export/commitments.csv",
        "/coordinators/campaigns/spring/export/ideas.csv",
        f"/coordinators/meetings/{held}",
        f"/coordinators/meetings/{pending}",
    ]


def assert_nothing_personal(response: httpx.Response, names: tuple[str, ...]) -> None:
    for name in names:
        assert name not in response.text, f"{name!r} leaked at {response.url}"


async def test_coordinator_of_a_cannot_open_anything_of_b(
    cara: httpx.AsyncClient, world: World
) -> None:
    for path in b_pages(world):
        response = await cara.get(path)
        assert response.status_code == 403, path
        assert_nothing_personal(response, B_PERSONAL)
    for path in ("/coordinators/campaigns/winter", "/coordinators/campaigns/winter/approvals"):
        assert (await cara.get(path)).status_code == 200
    assert (await cara.get("/coordinators/campaigns/no-such-campaign")).status_code == 404
    assert (await cara.get("/coordinators/meetings/no-such-meeting")).status_code == 404
    home = await cara.get("/coordinators")
    assert "Winter House Meetings" in home.text and "Spring Listening" not in home.text


async def test_coordinator_of_a_cannot_act_on_b(cara: httpx.AsyncClient, world: World) -> None:
    token = csrf_of((await cara.get("/coordinators")).text)
    held, pending = world.meetings["b_held"], world.meetings["b_pending"]
    idea = await Idea.get(campaign_id=world.b.id)
    await Person.filter(id=pending.host_id).update(trusted=True)  # type: ignore[attr-defined]
    posts = {
        f"/coordinators/meetings/{pending.public_id}/approve": {},
        f"/coordinators/meetings/{held.public_id}/hide": {"reason": "Because."},
        f"/coordinators/meetings/{held.public_id}/unhide": {},
        f"/coordinators/meetings/{held.public_id}/contact": {"subject": "Hi", "message": "Yo"},
        f"/coordinators/meetings/{held.public_id}/trust": {},
        f"/coordinators/meetings/{pending.public_id}/untrust": {},
        f"/coordinators/ideas/{idea.public_id}/status": {"status": "declined", "note": "No."},
        "/coordinators/campaigns/spring/edit": {"name": "Taken over", "slug": "spring"},
    }
    for path, fields in posts.items():
        response = await cara.post(path, data={"csrf_token": token, **fields})
        assert response.status_code == 403, path
        assert_nothing_personal(response, B_PERSONAL)
    assert (await Meeting.get(id=pending.id)).status is MeetingStatus.PENDING
    assert (await Meeting.get(id=held.id)).status is MeetingStatus.COMPLETED
    assert (await Idea.get(id=idea.id)).status is IdeaStatus.NEW
    assert (await Campaign.get(id=world.b.id)).name == "Spring Listening"
    # Neither vouched for nor dropped by a coordinator of another campaign.
    assert not (await Person.get(id=held.host_id)).trusted  # type: ignore[attr-defined]
    assert (await Person.get(id=pending.host_id)).trusted  # type: ignore[attr-defined]
    coordinator_mail = [
        "meeting_approved", "meeting_hidden", "meeting_unhidden", "coordinator_message"
    ]  # fmt: skip
    assert not await OutboxMessage.filter(kind__in=coordinator_mail).exists()


async def test_meetings_outside_any_campaign_are_for_admins(
    app: Starlette, cara: httpx.AsyncClient, world: World
) -> None:
    lone = await make_meeting(title="No campaign", host={"email": "solo@example.org"})
    path = f"/coordinators/meetings/{lone.meeting.public_id}"
    assert (await cara.get(path)).status_code == 403
    async with new_client(app) as boss:
        await sign_in(boss, "boss@example.org")
        assert (await boss.get(path)).status_code == 200


async def test_admin_sees_every_campaign(app: Starlette, world: World) -> None:
    async with new_client(app) as boss:
        await sign_in(boss, "boss@example.org")
        for path in b_pages(world):
            assert (await boss.get(path)).status_code == 200, path
        attendees = await boss.get("/coordinators/campaigns/spring/export/attendees.csv")
        assert "zed@b.example" in attendees.text  # Zed agreed to be contacted


async def test_api_token_reaches_only_its_coordinators_campaigns(
    app: Starlette, world: World
) -> None:
    account, _ = await add_coordinator("cara@a.example")
    token = await create_api_token(account)
    async with new_client(app) as client:
        auth = {"Authorization": f"Bearer {token}"}
        mine = await client.get("/api/coordinators/campaigns/winter/dashboard", headers=auth)
        assert mine.status_code == 200
        assert_nothing_personal(mine, A_PERSONAL + B_PERSONAL)
        theirs = await client.get("/api/coordinators/campaigns/spring/dashboard", headers=auth)
        assert theirs.status_code == 403
        assert theirs.json()["error"] and "Spring" not in theirs.text
        missing = await client.get("/api/coordinators/campaigns/nope/dashboard", headers=auth)
        assert missing.status_code == 404


async def test_signed_out_visitors_are_sent_to_sign_in(
    client: httpx.AsyncClient, world: World
) -> None:
    for path in ["/coordinators", "/coordinators/account", *b_pages(world)]:
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/coordinators/signin?next=")
    token = csrf_of((await client.get("/coordinators/signin")).text)
    pending = world.meetings["pending"]
    response = await client.post(
        f"/coordinators/meetings/{pending.public_id}/approve", data={"csrf_token": token}
    )
    assert response.status_code == 303
    assert (await Meeting.get(id=pending.id)).status is MeetingStatus.PENDING


async def test_api_without_a_valid_token_answers_401(cara: httpx.AsyncClient, world: World) -> None:
    url = "/api/coordinators/campaigns/winter/dashboard"
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
        response = await cara.get(url, headers=headers)  # a signed-in cookie is not enough
        assert response.status_code == 401
        assert response.json()["error"]
        assert_nothing_personal(response, A_PERSONAL)


async def test_a_hosts_link_opens_only_their_own_meeting(client: httpx.AsyncClient) -> None:
    x = await make_meeting(title="X", host={"email": "x@example.org"})
    y = await make_meeting(title="Y", host={"email": "y@example.org"})
    await client.post(
        f"/api/meetings/{y.meeting.public_id}/rsvps",
        json={"name": "Yolanda Guest", "email": "yolanda@example.org"},
    )
    own = await client.get(f"/manage/{y.meeting.public_id}/guests.csv?token={y.manage_token}")
    assert own.status_code == 200 and "yolanda@example.org" in own.text
    for path in (
        f"/manage/{y.meeting.public_id}/guests.csv?token={x.manage_token}",
        f"/manage/{y.meeting.public_id}?token={x.manage_token}",
        f"/meetings/{y.meeting.public_id}/packet.pdf?token={x.manage_token}",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "yolanda" not in response.text.lower()
    response = await client.get(
        f"/manage/{y.meeting.public_id}/guests.csv",
        headers={"Authorization": f"Bearer {x.manage_token}"},
    )
    assert response.status_code == 404


async def test_the_public_sees_aggregates_only(client: httpx.AsyncClient, world: World) -> None:
    held = world.meetings["held"].public_id
    for path in ("/", "/api/campaigns", f"/meetings/{held}", f"/api/meetings/{held}", "/find"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert_nothing_personal(response, ("Ada Okafor", "ada@a.example", "h1@a.example"))
        assert_nothing_personal(response, B_PERSONAL)
    hidden = world.meetings["hidden"].public_id
    assert (await client.get(f"/meetings/{hidden}")).status_code == 404
    assert (await client.get(f"/api/meetings/{hidden}")).status_code == 404


async def test_public_campaign_outcomes_are_aggregates(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get("/api/campaigns/winter/outcomes")
    assert response.status_code == 200
    assert_nothing_personal(response, A_PERSONAL + B_PERSONAL)


async def test_a_private_campaign_stays_private_to_others(
    app: Starlette, cara: httpx.AsyncClient
) -> None:
    await make_campaign("quiet", name="Quiet Campaign", is_public=False)
    assert (await cara.get("/coordinators/campaigns/quiet")).status_code == 403
    async with new_client(app) as public:
        listed = await public.get("/api/campaigns")
        assert "quiet" not in listed.text


# --- Roles inside one's own campaign: viewer < moderator < coordinator ------------------------


def a_pages(w: World, need: str) -> list[str]:
    """Campaign A's pages, by what they need: ``view`` (figures), ``moderate`` (the queue
    and meeting pages, with hosts' contacts) or ``coordinate`` (editing, contact exports)."""
    held, pending = w.meetings["held"].public_id, w.meetings["pending"].public_id
    return {
        "view": [
            "/coordinators/campaigns/winter",
            "/coordinators/campaigns/winter/export/ideas.csv",
        ],
        "moderate": [
            "/coordinators/campaigns/winter/approvals",
            f"/coordinators/meetings/{held}",
            f"/coordinators/meetings/{pending}",
        ],
        "coordinate": [
            "/coordinators/campaigns/winter/edit",
            "/coordinators/campaigns/winter/export/meetings.csv",
            "/coordinators/campaigns/winter/export/attendees.csv",
            "/coordinators/campaigns/winter/export/commitments.csv",
        ],
    }[need]


@contextlib.asynccontextmanager
async def signed_in_as(
    app: Starlette, email: str, role: CoordinatorRole
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as a new ``role`` of campaign A."""
    await add_coordinator(email, campaign_slug="winter", role=role)
    async with new_client(app) as client:
        await sign_in(client, email)
        yield client


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (CoordinatorRole.VIEWER, {"view"}),
        (CoordinatorRole.MODERATOR, {"view", "moderate"}),
        (CoordinatorRole.COORDINATOR, {"view", "moderate", "coordinate"}),
    ],
)
async def test_each_role_opens_only_its_pages(
    app: Starlette, world: World, role: CoordinatorRole, allowed: set[str]
) -> None:
    async with signed_in_as(app, f"{role.value}@a.example", role) as client:
        for need in ("view", "moderate", "coordinate"):
            for path in a_pages(world, need):
                response = await client.get(path)
                assert response.status_code == (200 if need in allowed else 403), (role, path)
                if need not in allowed:
                    assert_nothing_personal(response, A_PERSONAL)
        for path in b_pages(world):
            assert (await client.get(path)).status_code == 403, (role, path)


async def test_a_viewer_sees_figures_and_no_one_personal(app: Starlette, world: World) -> None:
    async with signed_in_as(app, "vi@a.example", CoordinatorRole.VIEWER) as viewer:
        page = await viewer.get("/coordinators/campaigns/winter")
        assert page.status_code == 200 and "Funnel" in page.text
        assert_nothing_personal(page, ("h3@a.example", "Oakland Host", "H3 Host"))
        for action in ("/edit", "/approvals", "/coordinators/meetings/", "/status"):
            assert action not in page.text, action  # no link or form it can't use
        api_token = await create_api_token(await Coordinator.get(email="vi@a.example"))
        api = await viewer.get(
            "/api/coordinators/campaigns/winter/dashboard",
            headers={"Authorization": f"Bearer {api_token}"},
        )
        assert api.status_code == 200 and api.json()["funnel"]["planned"] > 0


async def moderator_and_viewer_posts(w: World) -> dict[str, tuple[dict[str, str], set[str]]]:
    """Each action on campaign A, its fields and the roles (besides coordinator) allowed."""
    held, pending = w.meetings["held"], w.meetings["pending"]
    idea = await Idea.get(campaign_id=w.a.id, text="Bus stop benches")
    message = {"subject": "Hi", "message": "Yo"}
    return {
        f"/coordinators/meetings/{held.public_id}/contact": (message, set()),
        f"/coordinators/meetings/{held.public_id}/trust": ({}, set()),
        f"/coordinators/ideas/{idea.public_id}/status": ({"status": "declined"}, set()),
        "/coordinators/campaigns/winter/edit": ({"name": "Taken over", "slug": "winter"}, set()),
        f"/coordinators/meetings/{held.public_id}/hide": ({"reason": "Off topic."}, {"moderator"}),
        f"/coordinators/meetings/{pending.public_id}/approve": ({}, {"moderator"}),
    }  # fmt: skip


@pytest.mark.parametrize("role", [CoordinatorRole.VIEWER, CoordinatorRole.MODERATOR])
async def test_viewers_and_moderators_act_only_within_their_role(
    app: Starlette, world: World, role: CoordinatorRole
) -> None:
    async with signed_in_as(app, f"{role.value}@a.example", role) as client:
        token = csrf_of((await client.get("/coordinators")).text)
        for path, (fields, allowed) in (await moderator_and_viewer_posts(world)).items():
            response = await client.post(path, data={"csrf_token": token, **fields})
            expected = 303 if role.value in allowed else 403
            assert response.status_code == expected, (role, path, response.text[:300])
    moderated = role is CoordinatorRole.MODERATOR
    held, pending = world.meetings["held"], world.meetings["pending"]
    assert (await Meeting.get(id=held.id)).status is (
        MeetingStatus.HIDDEN if moderated else MeetingStatus.COMPLETED
    )
    assert (await Meeting.get(id=pending.id)).status is (
        MeetingStatus.PUBLISHED if moderated else MeetingStatus.PENDING
    )
    assert (await Campaign.get(id=world.a.id)).name != "Taken over"
    assert not (await Person.get(id=held.host_id)).trusted  # type: ignore[attr-defined]
    assert not await OutboxMessage.filter(kind="coordinator_message").exists()
