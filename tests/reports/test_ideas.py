"""The idea board: anyone supports an idea once (per browser, or per confirmed email),
ideas rank by support, and coordinators' decisions show publicly."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from kit.core.errors import ValidationError
from kit.core.settings import Limit
from kit.meetings import service as meetings
from kit.reports import ideas
from kit.reports import service as reports
from kit.store.models import Campaign, Idea, IdeaStatus, IdeaSupport, Meeting, OutboxMessage
from tests.factories import SITE, csrf_from, make_campaign, make_meeting

IDEAS = ["A crossing guard on Elm St", "Monthly street clean-up", "Benches at the bus stop"]


def browser(app: Starlette) -> httpx.AsyncClient:
    """Another browser: the same site, its own cookie jar."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def other_browser(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app) as c:
        yield c


async def board(slug: str = "spring", texts: list[str] = IDEAS, **campaign: object) -> list[Idea]:
    """A campaign whose one held meeting raised ``texts``; its ideas, in that order."""
    if not await Campaign.filter(slug=slug).exists():
        await make_campaign(slug, **campaign)
    created = await make_meeting(campaign=slug, title=f"Meeting about {texts[0]}")
    ends = datetime.now(UTC) - timedelta(hours=1)
    await Meeting.filter(id=created.meeting.id).update(
        starts_at=ends - timedelta(hours=2), ends_at=ends
    )
    assert created.manage_token
    meeting = await meetings.get_managed_meeting(created.meeting.public_id, created.manage_token)
    sheet = await reports.report_sheet(meeting)
    data = reports.parse_report_json({"ideas": texts}, sheet)
    await reports.file_report(meeting, data, site=SITE)
    return await Idea.filter(meeting_id=meeting.id).order_by("id")


async def support(client: httpx.AsyncClient, idea: Idea) -> httpx.Response:
    token = await csrf_from(client, "/campaigns/spring")
    return await client.post(f"/ideas/{idea.public_id}/support", data={"csrf_token": token})


async def supporters(idea: Idea) -> int:
    return (await Idea.get(id=idea.id)).supporters


async def test_support_counts_once_per_browser(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    idea, *_ = await board()
    first = await support(client, idea)
    assert first.status_code == 303
    assert first.headers["location"] == f"/campaigns/spring?notice=supported#idea-{idea.public_id}"
    again = await support(client, idea)
    assert again.headers["location"].startswith("/campaigns/spring?notice=already")
    assert await supporters(idea) == 1
    page = (await client.get(again.headers["location"])).text
    assert "You already support that idea" in page
    assert "You support this idea" in page

    # A browser without the cookie is a new supporter: the documented limit of this path.
    assert (await support(other_browser, idea)).status_code == 303
    assert await supporters(idea) == 2
    assert await IdeaSupport.filter(idea_id=idea.id).count() == 2


async def test_support_needs_the_forms_csrf_token(client: httpx.AsyncClient) -> None:
    idea, *_ = await board()
    await client.get("/campaigns/spring")
    response = await client.post(f"/ideas/{idea.public_id}/support", data={})
    assert response.status_code == 403
    assert await supporters(idea) == 0


async def test_email_support_counts_each_address_once(
    client: httpx.AsyncClient, other_browser: httpx.AsyncClient
) -> None:
    idea, *_ = await board()
    token = await csrf_from(client, "/campaigns/spring")
    sent = await client.post(
        f"/ideas/{idea.public_id}/email",
        data={"csrf_token": token, "email": "Ada+ideas@Example.org"},
    )
    assert sent.status_code == 200
    assert "Check your inbox" in sent.text
    assert await supporters(idea) == 0  # nothing counts before the confirmation
    [mail] = await OutboxMessage.filter(kind="idea_support_confirm")
    assert mail.recipient == "ada+ideas@example.org"
    assert idea.text in mail.payload["body_text"]
    link = re.search(r"http://testserver(/ideas/confirm/\S+)", mail.payload["body_text"])
    assert link

    # Opening the link counts nothing (mail scanners open links); the button does.
    shown = await other_browser.get(link.group(1))
    assert shown.status_code == 200 and "Confirm my support" in shown.text
    assert await supporters(idea) == 0
    form = {"csrf_token": await csrf_from(other_browser, link.group(1))}
    done = await other_browser.post(link.group(1), data=form)
    assert "Your support is counted" in done.text
    twice = await other_browser.post(link.group(1), data=form)
    assert "already supports this idea" in twice.text
    assert await supporters(idea) == 1

    # The same mailbox under another spelling is the same supporter.
    await client.post(
        f"/ideas/{idea.public_id}/email", data={"csrf_token": token, "email": "ada@example.org"}
    )
    second = await OutboxMessage.filter(kind="idea_support_confirm").order_by("-id").first()
    assert second is not None
    link2 = re.search(r"http://testserver(/ideas/confirm/\S+)", second.payload["body_text"])
    assert link2
    await client.post(link2.group(1), data={"csrf_token": token})
    assert await supporters(idea) == 1


async def test_bad_email_or_link_counts_nothing(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    idea, *_ = await board()
    token = await csrf_from(client, "/campaigns/spring")
    bad = await client.post(
        f"/ideas/{idea.public_id}/email", data={"csrf_token": token, "email": "not-an-email"}
    )
    assert bad.status_code == 422
    assert 'value="not-an-email"' in bad.text
    assert not await OutboxMessage.filter(kind="idea_support_confirm").exists()

    good = ideas.confirmation_token(idea, "bo@example.org", SITE.secret_key)
    forged = ideas.confirmation_token(idea, "bo@example.org", "another-secret")
    assert (await client.get(f"/ideas/confirm/{forged}")).status_code == 404
    monkeypatch.setattr(ideas, "CONFIRM_MAX_AGE", -1)  # every link is now too old
    assert (await client.get(f"/ideas/confirm/{good}")).status_code == 404
    expired = await client.post(f"/ideas/confirm/{good}", data={"csrf_token": token})
    assert expired.status_code == 404
    assert await supporters(idea) == 0


def test_one_mailbox_is_one_supporter() -> None:
    assert ideas.normalize_email(" Bo+Tag@Example.ORG ") == "bo@example.org"
    assert ideas.normalize_email("a.da+x@GoogleMail.com") == "ada@gmail.com"
    assert ideas.normalize_email("a.da@example.org") == "a.da@example.org"
    key = ideas.email_key("Bo+1@example.org", "s")
    assert key == ideas.email_key("bo@example.org", "s") != ideas.email_key("bo@example.org", "t")
    assert ideas.browser_key("b1", "s") != ideas.email_key("b1", "s")


async def test_simultaneous_supports_from_one_key_count_once(db: str) -> None:
    idea, *_ = await board()
    key = ideas.browser_key("same-browser", SITE.secret_key)
    results = await asyncio.gather(*(ideas.support_idea(idea, key) for _ in range(5)))
    assert sorted(results) == [False] * 4 + [True]
    assert await supporters(idea) == 1


async def test_ideas_rank_by_support(client: httpx.AsyncClient) -> None:
    crossing, cleanup, benches = await board()
    for n in range(3):
        await ideas.support_idea(benches, f"key-{n}")
    await ideas.support_idea(cleanup, "key-0")
    campaign = await Campaign.get(slug="spring")
    assert [i.text for i in await ideas.list_ideas(campaign)] == [
        benches.text,
        cleanup.text,
        crossing.text,  # no support yet; the oldest of the rest first
    ]
    page = (await client.get("/campaigns/spring")).text
    assert page.index(benches.text) < page.index(cleanup.text) < page.index(crossing.text)
    assert "3 supporters</p>" in page and "1 supporter</p>" in page
    api = (await client.get("/api/campaigns/spring/outcomes")).json()
    assert [(i["text"], i["supporters"]) for i in api["ideas"]] == [
        (benches.text, 3),
        (cleanup.text, 1),
        (crossing.text, 0),
    ]


async def test_coordinators_status_and_note_are_public(client: httpx.AsyncClient) -> None:
    idea, other, _ = await board()
    note = "The council votes on it on March 3; come and speak!"
    await ideas.set_idea_status(idea, IdeaStatus.ADOPTED, note)
    await ideas.set_idea_status(other, "declined", "Already done by the city last spring.")
    page = (await client.get("/campaigns/spring")).text
    assert "Adopted" in page and "The council votes on it on March 3; come and speak!" in page
    assert "Declined" in page and "Already done by the city last spring." in page
    body = (await client.get("/api/campaigns/spring/outcomes")).json()
    shown = {i["text"]: (i["status"], i["status_note"]) for i in body["ideas"]}
    assert shown[idea.text] == ("adopted", note)
    assert shown[other.text][0] == "declined"
    with pytest.raises(ValidationError) as problem:
        await ideas.set_idea_status(idea, "maybe", "")
    assert set(problem.value.fields) == {"status"}
    with pytest.raises(ValidationError):
        await ideas.set_idea_status(idea, "done", "x" * 1001)
    assert (await Idea.get(id=idea.id)).status is IdeaStatus.ADOPTED


async def test_supports_are_rate_limited_per_client(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ideas, "SUPPORT_LIMIT", Limit(2, 3600))
    first, second, third = await board()
    assert (await support(client, first)).status_code == 303
    assert (await support(client, second)).status_code == 303
    limited = await support(client, third)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert await supporters(third) == 0


async def test_only_ideas_on_a_public_board_can_be_supported(client: httpx.AsyncClient) -> None:
    hidden, *_ = await board("quiet", ["A private campaign's idea"], is_public=False)
    assert (await client.get("/campaigns/quiet")).status_code == 404
    idea, *_ = await board()
    token = await csrf_from(client, "/campaigns/spring")
    refused = await client.post(f"/ideas/{hidden.public_id}/support", data={"csrf_token": token})
    assert refused.status_code == 404
    await Meeting.filter(id=idea.meeting_id).update(status="hidden")  # type: ignore[attr-defined]
    gone = await client.post(f"/ideas/{idea.public_id}/support", data={"csrf_token": token})
    assert gone.status_code == 404
    assert idea.text not in (await client.get("/campaigns/spring")).text
    assert await IdeaSupport.all().count() == 0
