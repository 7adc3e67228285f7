"""Reporting a meeting: anyone flags it once (form or API), a campaign may hide it after
enough distinct people did, and coordinators see the reports and resolve them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette

from kit.coordinators import flags
from kit.coordinators.accounts import add_coordinator
from kit.core.rendering import TEMPLATES_DIR
from kit.store.models import FlagReason, Meeting, MeetingFlag, MeetingStatus, OutboxMessage
from tests.factories import csrf_from, make_campaign, make_meeting
from tests.web.test_coordinator_pages import new_client, post_form, sign_in


async def report(client: httpx.AsyncClient, public_id: str, **fields: str) -> httpx.Response:
    """Open the meeting page as a browser would, then send its "Report this meeting" form."""
    token = await csrf_from(client, f"/meetings/{public_id}")
    data = {"csrf_token": token, **{f"flag.{k}": v for k, v in fields.items()}}
    return await client.post(f"/meetings/{public_id}/flag", data=data)


async def test_a_neighbor_reports_a_meeting_once_and_is_told_what_happens_next(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    public_id = created.meeting.public_id
    page = (await client.get(f"/meetings/{public_id}")).text
    assert "Report this meeting" in page and f'action="/meetings/{public_id}/flag"' in page
    sent = await report(
        client, public_id, reason="spam", note="Selling solar panels", email="Neighbor@Example.org"
    )
    assert sent.status_code == 200
    assert "Thanks for telling us" in sent.text and "coordinators will look" in sent.text
    again = await report(client, public_id, reason="unsafe")  # the same person: counted once
    assert again.status_code == 200
    [flag] = await MeetingFlag.filter(meeting_id=created.meeting.id)
    assert (flag.reason, flag.note, flag.email) == (
        FlagReason.SPAM,
        "Selling solar panels",
        "neighbor@example.org",
    )
    assert flag.resolved_at is None and len(flag.reporter_key) == 64
    assert "127.0.0.1" not in flag.reporter_key  # a keyed hash, not the address


async def test_a_report_without_a_reason_comes_back_with_what_was_typed(
    client: httpx.AsyncClient,
) -> None:
    public_id = (await make_meeting()).meeting.public_id
    missing = await report(client, public_id, note="Something is off", email="not-an-email")
    assert missing.status_code == 422
    assert 'href="#field-flag-reason"' in missing.text and "Please choose a reason." in missing.text
    assert 'href="#field-flag-email"' in missing.text and "Something is off" in missing.text
    bogus = await report(client, public_id, reason="boring")
    assert bogus.status_code == 422 and "A reason must be one of" in bogus.text
    trap = await report(client, public_id, reason="spam", website="http://spam.example")
    assert trap.status_code == 422 and "Please leave this field empty." in trap.text
    no_csrf = await client.post(f"/meetings/{public_id}/flag", data={"flag.reason": "spam"})
    assert no_csrf.status_code == 403
    assert await MeetingFlag.all().count() == 0


async def test_reports_are_rate_limited_per_client(client: httpx.AsyncClient) -> None:
    public_id = (await make_meeting()).meeting.public_id
    for _ in range(flags.FLAG_LIMIT.hits):
        sent = await client.post(f"/api/meetings/{public_id}/flags", json={"reason": "spam"})
        assert sent.status_code == 202
    over = await client.post(f"/api/meetings/{public_id}/flags", json={"reason": "spam"})
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
    assert "a lot of reports" in over.json()["error"]


async def test_the_api_counts_each_person_once_and_refuses_bad_input(
    client: httpx.AsyncClient,
) -> None:
    public_id = (await make_meeting()).meeting.public_id
    url = f"/api/meetings/{public_id}/flags"
    first = await client.post(url, json={"reason": "wrong", "note": "It's a shop."})
    assert first.status_code == 202 and first.json()["counted"] is True
    second = await client.post(url, json={"reason": "wrong"})
    assert second.status_code == 202 and second.json()["counted"] is False
    bad = await client.post(url, json={"reason": 3, "note": "x" * 1001, "email": "nope"})
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) == {"reason", "note", "email"}
    assert (await client.post("/api/meetings/nope/flags", json={"reason": "spam"})).status_code == (
        404
    )
    spec = (await client.get("/openapi.json")).json()
    assert spec["paths"]["/api/meetings/{id}/flags"]["post"]["operationId"] == "flagMeeting"


async def test_a_campaign_hides_a_meeting_after_n_distinct_people_and_tells_the_host(
    app: Starlette,
) -> None:
    await make_campaign("winter", auto_hide_flags=2)
    created = await make_meeting(campaign="winter")
    public_id = created.meeting.public_id
    async with new_client(app, "198.51.100.1") as one, new_client(app, "198.51.100.2") as two:
        await report(one, public_id, reason="unsafe")
        await report(one, public_id, reason="unsafe")  # the same person twice: still one
        assert (await Meeting.get(id=created.meeting.id)).status is MeetingStatus.PUBLISHED
        await report(two, public_id, reason="spam")
        meeting = await Meeting.get(id=created.meeting.id)
        assert meeting.status is MeetingStatus.HIDDEN
        assert meeting.hidden_reason == (
            "Hidden automatically after 2 reports, until a coordinator looks."
        )
        assert (await one.get(f"/meetings/{public_id}")).status_code == 404
    [mail] = await OutboxMessage.filter(kind="meeting_hidden")
    assert mail.recipient == "quinn@example.org"
    assert "Hidden automatically after 2 reports" in mail.payload["body_text"]


async def test_no_automatic_hiding_without_the_setting_or_for_a_past_meeting(
    app: Starlette,
) -> None:
    await make_campaign("winter")
    await make_campaign("spring", auto_hide_flags=1)
    plain = await make_meeting(campaign="winter")
    past = await make_meeting(campaign="spring", title="Held last week")
    ended = datetime.now(UTC) - timedelta(days=6)
    await Meeting.filter(id=past.meeting.id).update(
        starts_at=ended - timedelta(hours=2), ends_at=ended
    )
    for n in range(3):
        async with new_client(app, f"198.51.100.{n + 1}") as neighbor:
            await report(neighbor, plain.meeting.public_id, reason="spam")
            await report(neighbor, past.meeting.public_id, reason="spam")
    for created in (plain, past):
        assert (await Meeting.get(id=created.meeting.id)).status is MeetingStatus.PUBLISHED
    assert await MeetingFlag.all().count() == 6
    assert not await OutboxMessage.filter(kind="meeting_hidden").exists()


async def test_coordinators_see_open_reports_of_their_campaigns_and_resolve_them(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    await make_campaign("winter")
    await make_campaign("spring", name="Spring Meetings")
    ours = await make_meeting(campaign="winter", title="Porch talk")
    theirs = await make_meeting(campaign="spring", title="Garden chat")
    async with new_client(app, "198.51.100.1") as one, new_client(app, "198.51.100.2") as two:
        await report(one, ours.meeting.public_id, reason="spam", note="An advert", email="a@b.org")
        await report(two, ours.meeting.public_id, reason="other")
        await report(one, theirs.meeting.public_id, reason="wrong")
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    queue = await client.get("/coordinators/flags")
    assert queue.status_code == 200 and queue.headers["Cache-Control"] == "private, no-store"
    assert "Porch talk" in queue.text and "2 open reports" in queue.text
    assert "Spam or advertising" in queue.text and "An advert" in queue.text
    assert "a@b.org" in queue.text
    assert "Garden chat" not in queue.text  # another campaign's
    foreign = f"/coordinators/meetings/{theirs.meeting.public_id}/flags/resolve"
    assert (await post_form(client, "/coordinators/flags", foreign)).status_code == 403
    resolve = f"/coordinators/meetings/{ours.meeting.public_id}/flags/resolve"
    done = await post_form(client, "/coordinators/flags", resolve)
    assert done.status_code == 303
    after = await client.get("/coordinators/flags")
    assert "2 reports on “Porch talk” marked as resolved." in after.text
    assert "Nobody has reported a meeting" in after.text  # the other campaign's isn't hers
    assert await MeetingFlag.filter(meeting_id=ours.meeting.id, resolved_at=None).count() == 0
    assert await MeetingFlag.filter(meeting_id=theirs.meeting.id, resolved_at=None).count() == 1


async def test_a_coordinator_without_campaigns_sees_no_reports(app: Starlette) -> None:
    created = await make_meeting()  # outside any campaign: the admins'
    async with new_client(app, "198.51.100.1") as neighbor:
        await report(neighbor, created.meeting.public_id, reason="spam", note="Admins only")
    await add_coordinator("nobody@example.org")
    await add_coordinator("boss@example.org", is_admin=True)
    async with new_client(app) as nobody, new_client(app) as boss:
        await sign_in(nobody, "nobody@example.org")
        assert "Nobody has reported a meeting" in (await nobody.get("/coordinators/flags")).text
        await sign_in(boss, "boss@example.org")
        assert "Admins only" in (await boss.get("/coordinators/flags")).text


async def test_signed_out_visitors_cannot_see_the_reports(client: httpx.AsyncClient) -> None:
    queue = await client.get("/coordinators/flags")
    assert queue.status_code == 303 and "/coordinators/signin" in queue.headers["location"]


def test_the_forms_reasons_are_the_flag_reasons() -> None:
    partial = (TEMPLATES_DIR / "meetings" / "_flag.html").read_text()
    offered = dict(re.findall(r'\("(\w+)", "([^"]+)"\)', partial))
    assert offered == {r.value: label for r, label in flags.REASON_LABELS.items()}


@pytest.mark.parametrize("reason", list(FlagReason))
def test_every_reason_parses(reason: FlagReason) -> None:
    assert flags.parse_flag_input({"reason": reason.value}).reason is reason
