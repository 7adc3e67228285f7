"""Coordinators' pages through the real app: sign in by email link or password, campaigns,
the dashboard, approvals, hiding and writing to hosts, exports, tokens and the JSON API."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from kit.coordinators import signin
from kit.coordinators.accounts import add_coordinator
from kit.core.settings import Settings
from kit.outbox.delivery import deliver_due
from kit.outbox.email import EmailSender
from kit.store.models import (
    AccessToken,
    Campaign,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Person,
    TokenKind,
)
from kit.toolkit.mail import Transport
from kit.web import coordinators as pages
from kit.web.app import create_app
from tests.coordinators.test_dashboard import build_world
from tests.factories import make_campaign, make_meeting
from tests.smtp import SmtpServer

NEW_CAMPAIGN = "/coordinators/campaigns/new"


@pytest.fixture
def app(settings: Settings, db: str) -> Starlette:
    return create_app(settings, manage_db=False)


def new_client(app: Starlette, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """A browser of its own, connecting from ``ip``."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def open_with_cookie(app: Starlette, cookie: str, path: str = "/coordinators") -> int:
    """Open ``path`` in another browser that was given a copy of a session cookie."""
    async with new_client(app, "198.51.100.99") as thief:
        response = await thief.get(path, headers={"Cookie": f"kit_session={cookie}"})
    return response.status_code


def session_of(client: httpx.AsyncClient) -> str:
    cookie = client.cookies.get("kit_session")
    assert cookie, "not signed in"
    return cookie


@pytest.fixture
async def other_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(app) as c:
        yield c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def post_form(
    client: httpx.AsyncClient, page: str, target: str, /, **fields: str
) -> httpx.Response:
    """Open ``page`` as a browser would, then post its CSRF token and ``fields`` to ``target``."""
    token = csrf_of((await client.get(page)).text)
    return await client.post(target, data={"csrf_token": token, **fields})


async def signin_link_for(email: str) -> str:
    mail = (
        await OutboxMessage.filter(kind="coordinator_signin", recipient=email)
        .order_by("-id")
        .first()
    )
    assert mail is not None, f"no sign-in email to {email}"
    match = re.search(r"http://testserver(/coordinators/signin/\S+)", mail.payload["body_text"])
    assert match
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, email: str, next_path: str = "") -> httpx.Response:
    """The whole email-link journey: ask, open the link, press Sign in."""
    query = f"?next={next_path}" if next_path else ""
    asked = await post_form(
        client,
        f"/coordinators/signin{query}",
        "/coordinators/signin",
        email=email,
        method="link",
        next=next_path,
    )
    assert asked.status_code == 200 and "on its way" in asked.text
    link = await signin_link_for(email)
    page = await client.get(link)
    assert page.status_code == 200, page.text
    path, _, query = link.partition("?")
    next_value = re.search(r'name="next" value="([^"]*)"', page.text)
    return await client.post(
        path,
        data={"csrf_token": csrf_of(page.text), "next": next_value.group(1) if next_value else ""},
    )


async def test_signed_out_pages_send_you_to_sign_in_and_back(client: httpx.AsyncClient) -> None:
    await make_campaign("winter")
    await add_coordinator("cara@example.org", campaign_slug="winter")
    response = await client.get("/coordinators/campaigns/winter")
    assert response.status_code == 303
    assert (
        response.headers["location"] == "/coordinators/signin?next=/coordinators/campaigns/winter"
    )
    signed_in = await sign_in(client, "cara@example.org", "/coordinators/campaigns/winter")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/coordinators/campaigns/winter"
    dashboard = await client.get("/coordinators/campaigns/winter")
    assert dashboard.status_code == 200
    assert dashboard.headers["cache-control"] == "private, no-store"


async def test_signin_answers_the_same_for_unknown_addresses(client: httpx.AsyncClient) -> None:
    await add_coordinator("cara@example.org")
    known = await post_form(
        client, "/coordinators/signin", "/coordinators/signin", email="cara@example.org"
    )
    unknown = await post_form(
        client, "/coordinators/signin", "/coordinators/signin", email="nobody@example.org"
    )
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("cara@", "X@") == unknown.text.replace("nobody@", "X@")
    assert await OutboxMessage.filter(recipient="nobody@example.org").count() == 0


async def test_signin_link_works_once_and_expires(client: httpx.AsyncClient) -> None:
    await add_coordinator("cara@example.org")
    assert (await sign_in(client, "cara@example.org")).status_code == 303
    link = await signin_link_for("cara@example.org")
    again = await client.get(link)
    assert again.status_code == 404 and "expired or was already used" in again.text
    await post_form(client, "/coordinators", "/coordinators/signin", email="cara@example.org")
    fresh = await signin_link_for("cara@example.org")
    await AccessToken.filter(kind=TokenKind.COORDINATOR_LOGIN, revoked_at=None).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert (await client.get(fresh)).status_code == 404


async def test_signin_email_arrives_with_a_working_link(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    await add_coordinator("cara@example.org", name="Cara Diaz")
    await post_form(
        client, "/coordinators/signin", "/coordinators/signin", email="cara@example.org"
    )
    await deliver_due(
        [EmailSender(Transport(smtp_server.url, tmp_path), settings.mail_from)],
        lease=timedelta(seconds=30),
    )
    [msg] = [m for m in smtp_server.messages if m["To"] == "cara@example.org"]
    text = msg.get_body(("plain",)).get_content()
    assert "Hi Cara" in text and "15 minutes" in text
    assert "/coordinators/signin/" in msg.get_body(("html",)).get_content()


async def test_next_never_leaves_the_coordinator_pages(client: httpx.AsyncClient) -> None:
    await add_coordinator("cara@example.org")
    response = await sign_in(client, "cara@example.org", "//evil.example/x")
    assert response.headers["location"] == "/coordinators"


async def test_sign_out_needs_csrf_and_clears_the_session(client: httpx.AsyncClient) -> None:
    await add_coordinator("cara@example.org")
    await sign_in(client, "cara@example.org")
    forged = await client.post("/coordinators/signout", data={"csrf_token": "nope"})
    assert forged.status_code == 403
    assert (await client.get("/coordinators")).status_code == 200
    out = await post_form(client, "/coordinators", "/coordinators/signout")
    assert out.status_code == 303
    assert (await client.get("/coordinators")).status_code == 303


async def test_signing_out_ends_every_copy_of_the_session(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    await add_coordinator("cara@example.org")
    await sign_in(client, "cara@example.org")
    page = await client.get("/coordinators")
    assert "Sign out everywhere" in page.text
    copied = session_of(client)
    assert await open_with_cookie(app, copied) == 200
    async with new_client(app) as laptop:  # the same person, signed in on another device
        await sign_in(laptop, "cara@example.org")
        out = await post_form(client, "/coordinators", "/coordinators/signout")
        assert out.status_code == 303
        notice = await client.get(out.headers["location"])
        assert "signed out everywhere" in notice.text
        assert await open_with_cookie(app, copied) == 303
        assert (await laptop.get("/coordinators")).status_code == 303
    # Signing in again starts a new session; the old copy stays dead.
    await sign_in(client, "cara@example.org")
    assert (await client.get("/coordinators")).status_code == 200
    assert await open_with_cookie(app, copied) == 303


async def test_changing_the_password_signs_out_every_other_session(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    await add_coordinator("cara@example.org")
    await sign_in(client, "cara@example.org")
    phrase = "correct horse battery staple"
    before = session_of(client)
    saved = await post_form(
        client, "/coordinators/account", "/coordinators/account",
        action="set_password", password=phrase, password_confirm=phrase,
    )  # fmt: skip
    assert saved.status_code == 303
    account = await client.get("/coordinators/account")  # the one who changed it stays in
    assert account.status_code == 200 and "Every other device" in account.text
    assert await open_with_cookie(app, before) == 303
    before = session_of(client)
    removed = await post_form(
        client, "/coordinators/account", "/coordinators/account", action="remove_password"
    )
    assert removed.status_code == 303
    assert (await client.get("/coordinators/account")).status_code == 200
    assert await open_with_cookie(app, before) == 303


async def test_password_guessing_is_limited_per_account_across_many_addresses(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    await add_coordinator("cara@example.org")
    await sign_in(client, "cara@example.org")
    phrase = "correct horse battery staple"
    await post_form(
        client, "/coordinators/account", "/coordinators/account",
        action="set_password", password=phrase, password_confirm=phrase,
    )  # fmt: skip

    async def attempt(password: str, ip: str) -> httpx.Response:
        async with new_client(app, ip) as browser:
            return await post_form(
                browser, "/coordinators/signin", "/coordinators/signin",
                method="password", email="cara@example.org", password=password,
            )  # fmt: skip

    # Four guesses from each of many addresses: each stays under its own limit (5).
    for n in range(signin.ACCOUNT_PASSWORD_FAILURES.hits):
        assert (await attempt(f"guess {n}", f"203.0.113.{n // 4}")).status_code == 422
    locked = await attempt(phrase, "192.0.2.77")  # the right password, from a new address
    assert locked.status_code == 429
    assert "email link" in locked.text and int(locked.headers["retry-after"]) > 0
    # The email link still signs in, from anywhere.
    async with new_client(app, "192.0.2.78") as browser:
        assert (await sign_in(browser, "cara@example.org")).status_code == 303
        assert (await browser.get("/coordinators")).status_code == 200


async def test_password_sign_in_and_its_limit(client: httpx.AsyncClient, app: Starlette) -> None:
    await add_coordinator("cara@example.org")
    await sign_in(client, "cara@example.org")
    short = await post_form(
        client, "/coordinators/account", "/coordinators/account",
        action="set_password", password="short", password_confirm="short",
    )  # fmt: skip
    assert short.status_code == 422
    phrase = "correct horse battery staple"
    saved = await post_form(
        client, "/coordinators/account", "/coordinators/account",
        action="set_password", password=phrase, password_confirm=phrase,
    )  # fmt: skip
    assert saved.status_code == 303

    async def attempt(password: str) -> httpx.Response:
        async with new_client(app) as browser:  # a browser that isn't signed in
            return await post_form(
                browser, "/coordinators/signin", "/coordinators/signin",
                method="password", email="cara@example.org", password=password,
            )  # fmt: skip

    assert (await attempt("wrong password")).status_code == 422
    good = await attempt(phrase)
    assert good.status_code == 303 and good.headers["location"] == "/coordinators"
    for _ in range(4):
        assert (await attempt("wrong again")).status_code == 422
    limited = await attempt("wrong once more")
    assert limited.status_code == 429
    assert (await attempt(phrase)).status_code == 429  # locked out, even with the right one


async def test_api_tokens_are_shown_once_and_can_be_revoked(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    w = await build_world()
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    created = await post_form(
        client, "/coordinators/account", "/coordinators/account", action="create_token"
    )
    token = re.search(r'<p class="secret-link">([^<]+)</p>', created.text).group(1)
    assert token not in (await client.get("/coordinators/account")).text
    url = f"/api/coordinators/campaigns/{w.a.slug}/dashboard"
    answer = await other_client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json()["funnel"]["planned"] == 6
    [row] = await AccessToken.filter(kind=TokenKind.COORDINATOR_API)
    revoked = await post_form(
        client, "/coordinators/account", "/coordinators/account",
        action="revoke_token", token_id=str(row.id),
    )  # fmt: skip
    assert revoked.status_code == 303
    after = await other_client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    assert after.headers["www-authenticate"].startswith("Bearer")


async def test_admin_creates_and_edits_a_campaign(client: httpx.AsyncClient) -> None:
    await add_coordinator("admin@example.org", is_admin=True)
    await sign_in(client, "admin@example.org")
    bad = await post_form(
        client, "/coordinators/campaigns/new", "/coordinators/campaigns/new",
        slug="Bad Slug!", name="", agenda="Welcome | ten", asks="\n".join(
            f"ask{i} | Ask {i}" for i in range(11)
        ), starts_on="2026-12-10", ends_on="2026-12-01",
    )  # fmt: skip
    assert bad.status_code == 422
    for field in ("field-slug", "field-name", "field-agenda", "field-asks", "field-ends_on"):
        assert f'href="#{field}"' in bad.text
    created = await post_form(
        client, "/coordinators/campaigns/new", "/coordinators/campaigns/new",
        slug="winter-2026", name="Winter 2026", starts_on="2026-12-01", ends_on="2027-02-28",
        guide_markdown="# Our guide\n\n<script>alert(1)</script> Be *kind*.",
        agenda="Welcome and introductions | 10\nStories | 30",
        asks="host | Host a meeting\nVolunteer for the phone bank",
        **{"goals.meetings": "300", "goals.people": "3000"}, is_public="1",
    )  # fmt: skip
    assert created.status_code == 303
    campaign = await Campaign.get(slug="winter-2026")
    assert campaign.agenda == [
        {"title": "Welcome and introductions", "minutes": 10},
        {"title": "Stories", "minutes": 30},
    ]
    assert campaign.asks[1] == {
        "key": "volunteer-for-the-phone-bank",
        "label": "Volunteer for the phone bank",
    }
    assert campaign.goals == {"meetings": 300, "people": 3000}
    assert campaign.is_public and not campaign.requires_approval
    edit = await client.get("/coordinators/campaigns/winter-2026/edit")
    assert "Stories | 30" in edit.text
    assert "<script>alert" not in edit.text and "<em>kind</em>" in edit.text
    saved = await post_form(
        client, "/coordinators/campaigns/winter-2026/edit",
        "/coordinators/campaigns/winter-2026/edit",
        slug="renamed", name="Winter 2026, renamed", requires_approval="1",
        agenda="Welcome | 15",
    )  # fmt: skip
    assert saved.status_code == 303
    campaign = await Campaign.get(id=campaign.id)
    assert (campaign.slug, campaign.name) == ("winter-2026", "Winter 2026, renamed")
    assert campaign.requires_approval and not campaign.is_public
    assert campaign.agenda == [{"title": "Welcome", "minutes": 15}]


async def test_only_admins_start_campaigns(client: httpx.AsyncClient) -> None:
    await make_campaign("winter")
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    assert (await client.get("/coordinators/campaigns/new")).status_code == 403


async def test_dashboard_shows_tables_charts_and_past_due(client: httpx.AsyncClient) -> None:
    w = await build_world()
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    page = await client.get("/coordinators/campaigns/winter")
    html = page.text
    assert page.status_code == 200
    assert html.count('role="img"') == 4
    assert " style=" not in html and "<script>" not in html
    assert "Third living room" in html and "h3@a.example" in html  # past due, with its host
    assert "Generation 2" in html and "2 generations deep" in html
    assert "Brooklyn" in html and "-W" in html
    assert "Spring" not in html and "zed@b.example" not in html
    assert w.meetings["overdue"].public_id in html
    assert html.index("A tenants&#39; union") < html.index("Bus stop benches")  # most supported


async def test_approval_publishes_and_tells_the_host(client: httpx.AsyncClient) -> None:
    await make_campaign("winter", requires_approval=True)
    created = await make_meeting(campaign="winter")
    assert created.meeting.status is MeetingStatus.PENDING
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    queue = await client.get("/coordinators/campaigns/winter/approvals")
    assert "Neighbors talk schools" in queue.text and "quinn@example.org" in queue.text
    approved = await client.post(
        f"/coordinators/meetings/{created.meeting.public_id}/approve",
        data={
            "csrf_token": csrf_of(queue.text),
            "back": "/coordinators/campaigns/winter/approvals",
        },
    )
    assert approved.status_code == 303
    assert approved.headers["location"] == "/coordinators/campaigns/winter/approvals"
    after = await client.get(approved.headers["location"])
    assert "is live" in after.text and "Nothing is waiting" in after.text
    assert (await Meeting.get(id=created.meeting.id)).status is MeetingStatus.PUBLISHED
    [mail] = await OutboxMessage.filter(kind="meeting_approved")
    assert mail.recipient == "quinn@example.org" and "is live" in mail.payload["subject"]
    twice = await client.post(
        f"/coordinators/meetings/{created.meeting.public_id}/approve",
        data={"csrf_token": csrf_of(after.text)},
    )
    assert twice.status_code == 409


async def test_hiding_takes_a_meeting_off_public_pages_and_tells_the_host(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await make_campaign("winter")
    created = await make_meeting(campaign="winter")
    public_id = created.meeting.public_id
    assert (await other_client.get(f"/meetings/{public_id}")).status_code == 200
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    page = f"/coordinators/meetings/{public_id}"
    empty = await post_form(client, page, f"{page}/hide", reason=" ")
    assert empty.status_code == 422 and 'href="#field-reason"' in empty.text
    hidden = await post_form(client, page, f"{page}/hide", reason="Not a house meeting: an ad.")
    assert hidden.status_code == 303
    meeting = await Meeting.get(id=created.meeting.id)
    assert (meeting.status, meeting.hidden_reason) == (
        MeetingStatus.HIDDEN,
        "Not a house meeting: an ad.",
    )
    assert (await other_client.get(f"/meetings/{public_id}")).status_code == 404
    assert (await other_client.get(f"/api/meetings/{public_id}")).status_code == 404
    [mail] = await OutboxMessage.filter(kind="meeting_hidden")
    assert mail.recipient == "quinn@example.org" and mail.payload["reply_to"] == "cara@example.org"
    assert "Not a house meeting: an ad." in mail.payload["body_text"]
    assert (await post_form(client, page, f"{page}/hide", reason="Again")).status_code == 409


async def test_a_hidden_meeting_can_be_shown_again(
    client: httpx.AsyncClient, other_client: httpx.AsyncClient
) -> None:
    await make_campaign("winter")
    created = await make_meeting(campaign="winter")
    public_id = created.meeting.public_id
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    page = f"/coordinators/meetings/{public_id}"
    assert (await post_form(client, page, f"{page}/hide", reason="Wrong town?")).status_code == 303
    hidden_page = await client.get(page)
    assert "Show the meeting again" in hidden_page.text
    shown = await post_form(client, page, f"{page}/unhide")
    assert shown.status_code == 303
    meeting = await Meeting.get(id=created.meeting.id)
    assert (meeting.status, meeting.hidden_reason) == (MeetingStatus.PUBLISHED, "")
    assert (await other_client.get(f"/meetings/{public_id}")).status_code == 200
    [mail] = await OutboxMessage.filter(kind="meeting_unhidden")
    assert mail.recipient == "quinn@example.org" and mail.payload["reply_to"] == "cara@example.org"
    assert f"/meetings/{public_id}" in mail.payload["body_text"]
    # A second click (another tab) finds it already shown.
    assert (await post_form(client, page, f"{page}/unhide")).status_code == 409


async def test_a_held_meeting_shown_again_is_still_held(client: httpx.AsyncClient) -> None:
    await make_campaign("winter")
    created = await make_meeting(campaign="winter")
    await Meeting.filter(id=created.meeting.id).update(
        status=MeetingStatus.HIDDEN, completed_at=datetime.now(UTC), hidden_reason="Spam?"
    )
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    page = f"/coordinators/meetings/{created.meeting.public_id}"
    assert (await post_form(client, page, f"{page}/unhide")).status_code == 303
    assert (await Meeting.get(id=created.meeting.id)).status is MeetingStatus.COMPLETED


async def test_a_coordinator_marks_a_host_as_trusted_and_back(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("winter")
    created = await make_meeting(campaign="winter")
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    page = f"/coordinators/meetings/{created.meeting.public_id}"
    before = await client.get(page)
    assert "Not yet trusted" in before.text and "Trust this host" in before.text
    forged = await client.post(f"{page}/trust", data={"csrf_token": "nope"})
    assert forged.status_code == 403
    assert not (await Person.get(email="quinn@example.org")).trusted
    trusted = await post_form(client, page, f"{page}/trust")
    assert trusted.status_code == 303 and trusted.headers["location"] == page
    after = await client.get(page)
    assert "Quinn Doe is now a trusted host" in after.text
    assert "Trusted host" in after.text and "Stop trusting this host" in after.text
    assert (await Person.get(email="quinn@example.org")).trusted
    untrusted = await post_form(client, page, f"{page}/untrust")
    assert untrusted.status_code == 303
    assert "Not yet trusted" in (await client.get(page)).text
    assert not (await Person.get(email="quinn@example.org")).trusted


async def test_contacting_a_host_goes_through_the_outbox(client: httpx.AsyncClient) -> None:
    await make_campaign("winter")
    created = await make_meeting(campaign="winter")
    await add_coordinator("cara@example.org", name="Cara Diaz", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    page = f"/coordinators/meetings/{created.meeting.public_id}"
    for n in range(5):
        sent = await post_form(
            client, page, f"{page}/contact", subject=f"Packets {n}", message="Got your packets?"
        )
        assert sent.status_code == 303
    [first, *_] = await OutboxMessage.filter(kind="coordinator_message").order_by("id")
    assert (
        first.recipient == "quinn@example.org" and first.payload["reply_to"] == "cara@example.org"
    )
    assert first.payload["sender_name"] == "Cara Diaz via House Meeting Kit"
    assert (
        first.payload["subject"] == "Packets 0"
        and "Got your packets?" in first.payload["body_text"]
    )
    limited = await post_form(client, page, f"{page}/contact", subject="Again", message="Hello?")
    assert limited.status_code == 429


async def test_csv_exports_guard_formulas_and_show_consent(client: httpx.AsyncClient) -> None:
    await build_world()
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    response = await client.get("/coordinators/campaigns/winter/export/attendees.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="winter-attendees.csv"' in response.headers["content-disposition"]
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert '\'=HYPERLINK("http://evil.example")' in rows
    assert rows["Ada Okafor"]["phone"] == "'+1 212 555 0199"  # every column is guarded
    assert rows["Ada Okafor"]["consent"] == "yes" and rows["Ada Okafor"]["email"]
    assert rows["Bo Lind"]["consent"] == "no" and not rows["Bo Lind"]["email"]
    for kind, count in (("meetings", 8), ("commitments", 4), ("ideas", 2)):
        export = await client.get(f"/coordinators/campaigns/winter/export/{kind}.csv")
        assert len(list(csv.DictReader(io.StringIO(export.text)))) == count, kind
    assert (await client.get("/coordinators/campaigns/winter/export/people.csv")).status_code == 404


async def test_idea_status_changes_with_a_note(client: httpx.AsyncClient) -> None:
    from kit.store.models import Idea, IdeaStatus

    w = await build_world()
    idea = await Idea.get(campaign_id=w.a.id, text="A tenants' union")
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    changed = await post_form(
        client, "/coordinators/campaigns/winter", f"/coordinators/ideas/{idea.public_id}/status",
        status="adopted", note="We'll bring it to the council.",
        back="/coordinators/campaigns/winter",
    )  # fmt: skip
    assert changed.status_code == 303
    idea = await Idea.get(id=idea.id)
    assert (idea.status, idea.status_note) == (IdeaStatus.ADOPTED, "We'll bring it to the council.")


async def test_openapi_lists_the_coordinator_api(client: httpx.AsyncClient) -> None:
    from openapi_spec_validator import validate

    spec = (await client.get("/openapi.json")).json()
    validate(spec)
    operation = spec["paths"]["/api/coordinators/campaigns/{slug}/dashboard"]["get"]
    assert operation["security"] == [{"coordinatorToken": []}]
    assert "coordinatorToken" in spec["components"]["securitySchemes"]


async def test_coordinator_sessions_expire(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_coordinator("cara@example.org")
    await sign_in(client, "cara@example.org")
    assert (await client.get("/coordinators")).status_code == 200
    monkeypatch.setattr(pages, "SESSION_MAX_AGE", -1)
    assert (await client.get("/coordinators")).status_code == 303


@pytest.mark.parametrize(
    ("method", "path", "form"),
    [
        ("GET", "/coordinators/meetings/{long}", {}),
        ("POST", "/coordinators/meetings/{long}/approve", {}),
        ("POST", "/coordinators/meetings/{long}/hide", {"reason": "x"}),
        ("POST", "/coordinators/meetings/{long}/trust", {}),
        ("GET", "/coordinators/campaigns/{long}", {}),
        ("GET", "/coordinators/campaigns/{long}/export/meetings.csv", {}),
        ("POST", "/coordinators/ideas/{long}/status", {"status": "planned"}),
        ("POST", "/coordinators/account", {"action": "revoke_token", "token_id": "9" * 40}),
    ],
)
async def test_coordinator_pages_answer_a_mangled_link_with_a_4xx(
    client: httpx.AsyncClient, method: str, path: str, form: dict[str, str]
) -> None:
    await add_coordinator("c@example.org", is_admin=True)
    await sign_in(client, "c@example.org")
    data = None
    if method == "POST":
        data = {**form, "csrf_token": csrf_of((await client.get("/coordinators/account")).text)}
    response = await client.request(method, path.format(long="a" * 300), data=data)
    assert 400 <= response.status_code < 500


async def test_a_coordinators_meeting_page_names_the_zone_as_people_say_it(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("winter")
    created = await make_meeting(campaign="winter")  # New York
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    page = (await client.get(f"/coordinators/meetings/{created.meeting.public_id}")).text
    assert "(Eastern Time)" in page
    assert "America/New_York" not in page


async def test_the_campaign_form_refuses_more_asks_than_the_sign_in_sheet_prints(
    client: httpx.AsyncClient,
) -> None:
    await add_coordinator("admin@example.org", is_admin=True)
    await sign_in(client, "admin@example.org")
    form = {"slug": "spring", "name": "Spring", "starts_on": "2027-03-01"}
    asks = [f"ask{i} | Ask number {i}" for i in range(1, 8)]
    seven = await post_form(client, NEW_CAMPAIGN, NEW_CAMPAIGN, **form, asks="\n".join(asks))
    assert seven.status_code == 422
    said = seven.text.replace("&#39;", "'")
    assert "The sign-in sheet has room for 6 asks" in said and 'href="#field-asks"' in said
    assert "Ask number 7" in said  # what was typed stays, to trim
    six = await post_form(client, NEW_CAMPAIGN, NEW_CAMPAIGN, **form, asks="\n".join(asks[:6]))
    assert six.status_code == 303
    assert len((await Campaign.get(slug="spring")).asks) == 6
