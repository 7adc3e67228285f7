"""The approval queue says what each meeting is about and can decline one with a reason;
every coordinator action leaves an entry in the audit log, which coordinators read."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from kit.coordinators.accounts import add_coordinator
from kit.core.settings import Settings
from kit.outbox.delivery import deliver_due
from kit.outbox.email import EmailSender
from kit.store import audit
from kit.store.models import AuditEntry, Meeting, MeetingStatus, OutboxMessage
from kit.toolkit.mail import Transport
from kit.web.app import create_app
from tests.factories import make_campaign, make_meeting
from tests.servers import run_kit, settings_env
from tests.smtp import SmtpServer
from tests.web.test_coordinator_pages import csrf_of, new_client, post_form, sign_in

QUEUE = "/coordinators/campaigns/winter/approvals"


@pytest.fixture
def app(settings: Settings, db: str) -> Starlette:
    return create_app(settings, manage_db=False)


async def pending_meeting(**fields: object) -> Meeting:
    await make_campaign("winter", requires_approval=True)
    created = await make_meeting(campaign="winter", **fields)
    assert created.meeting.status is MeetingStatus.PENDING
    return created.meeting


async def test_the_queue_shows_the_description_and_declines_with_a_reason(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    meeting = await pending_meeting(description="We'll talk about the bus line on Elm.")
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    queue = await client.get(QUEUE)
    assert "We&#39;ll talk about the bus line on Elm." in queue.text
    target = f"/coordinators/meetings/{meeting.public_id}/decline"
    no_reason = await post_form(client, QUEUE, target, reason="  ", back=QUEUE)
    assert no_reason.status_code == 422 and "Please enter a reason." in no_reason.text
    assert (await Meeting.get(id=meeting.id)).status is MeetingStatus.PENDING
    declined = await post_form(client, QUEUE, target, reason="Please add a date.", back=QUEUE)
    assert declined.status_code == 303 and declined.headers["location"] == QUEUE
    after = await client.get(QUEUE)
    assert "declined" in after.text and "Nothing is waiting" in after.text
    stored = await Meeting.get(id=meeting.id)
    assert (stored.status, stored.hidden_reason) == (MeetingStatus.DECLINED, "Please add a date.")
    [mail] = await OutboxMessage.filter(kind="meeting_declined")
    assert mail.recipient == "quinn@example.org" and mail.payload["reply_to"] == "cara@example.org"
    assert (
        "Please add a date." in mail.payload["body_text"] and "approved" in mail.payload["subject"]
    )
    async with new_client(app, "203.0.113.5") as public:  # like a hidden meeting: not public
        assert (await public.get(f"/meetings/{meeting.public_id}")).status_code == 404
        assert (await public.get(f"/api/meetings/{meeting.public_id}")).status_code == 404
    again = await post_form(client, QUEUE, target, reason="Twice", back=QUEUE)
    assert again.status_code == 409
    [entry] = await AuditEntry.filter(action="meeting.decline")
    assert (entry.actor_label, entry.detail) == ("cara@example.org", "Please add a date.")
    assert entry.meeting_id == meeting.id  # type: ignore[attr-defined]


async def test_every_coordinator_action_is_in_the_audit_log(client: httpx.AsyncClient) -> None:
    meeting = await pending_meeting()
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    page = f"/coordinators/meetings/{meeting.public_id}"
    token = csrf_of((await client.get(page)).text)
    for path, fields in (
        (f"{page}/approve", {}),
        (f"{page}/hide", {"reason": "Spam, sorry."}),
        (f"{page}/unhide", {}),
        (f"{page}/contact", {"subject": "Your agenda", "message": "Looks good."}),
        (f"{page}/trust", {}),
    ):
        response = await client.post(path, data={"csrf_token": token, **fields})
        assert response.status_code == 303, (path, response.text[:300])
    export = await client.get("/coordinators/campaigns/winter/export/attendees.csv")
    assert export.status_code == 200
    log = await client.get("/coordinators/campaigns/winter/audit")
    assert log.status_code == 200
    actions = [e.action for e in await AuditEntry.all().order_by("-created_at", "-id")]
    assert actions == [
        "export", "host.trust", "meeting.contact", "meeting.unhide", "meeting.hide",
        "meeting.approve",
    ]  # fmt: skip
    for text in ("Spam, sorry.", "Your agenda", "attendees", "cara@example.org"):
        assert text in log.text
    assert log.text.index("host.trust") < log.text.index("meeting.approve")  # newest first


async def test_the_audit_log_is_paged_and_kept_to_its_campaign(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    winter, spring = await make_campaign("winter"), await make_campaign("spring", name="S")
    for n in range(audit.PER_PAGE + 3):
        await audit.record("campaign.edit", campaign=winter, detail=f"winter edit {n:03}")
    await audit.record("campaign.edit", campaign=spring, detail="spring secret edit")
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    first = await client.get("/coordinators/campaigns/winter/audit")
    assert (
        f"winter edit {audit.PER_PAGE + 2:03}" in first.text and "winter edit 000" not in first.text
    )
    assert "spring secret" not in first.text and "?page=2" in first.text
    second = await client.get("/coordinators/campaigns/winter/audit?page=2")
    assert "winter edit 000" in second.text and "?page=3" not in second.text
    assert (await client.get("/coordinators/campaigns/winter/audit?page=x")).status_code == 200
    assert (await client.get("/coordinators/campaigns/spring/audit")).status_code == 403
    assert (await client.get("/coordinators/audit")).status_code == 403  # admins only
    await add_coordinator("boss@example.org", is_admin=True)
    async with new_client(app) as boss:
        await sign_in(boss, "boss@example.org")
        everything = await boss.get("/coordinators/audit")
        assert everything.status_code == 200 and "spring secret edit" in everything.text
        assert "cli" in everything.text


async def test_campaign_and_idea_changes_are_in_the_audit_log(db: str) -> None:
    from kit.campaigns import input as campaign_input
    from kit.coordinators import campaigns, moderation
    from kit.store.models import Idea
    from tests.coordinators.test_dashboard import build_world

    w = await build_world()
    boss, _ = await add_coordinator("boss@example.org", is_admin=True)
    values = campaign_input.campaign_form_values(w.a)
    await campaigns.update_campaign(
        boss, w.a, campaign_input.parse_campaign_input({**values, "name": "Winter, renamed"})
    )
    idea = await Idea.get(campaign_id=w.a.id, text="Bus stop benches")
    await moderation.update_idea_status(boss, idea.public_id, {"status": "adopted", "note": "Yes"})
    refused = {"status": "nonsense"}
    with pytest.raises(moderation.ValidationError):
        await moderation.update_idea_status(boss, idea.public_id, refused)
    entries = [
        (e.action, e.detail, e.campaign_id)  # type: ignore[attr-defined]
        for e in await AuditEntry.all().order_by("id")
    ]
    assert entries == [
        ("campaign.edit", "changed: name", w.a.id),
        ("idea.status", "“Bus stop benches” → adopted: Yes", w.a.id),
    ]  # a refused change leaves no entry


async def test_kit_approve_tells_the_host_with_the_same_email_as_the_web(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    by_web, by_cli = await pending_meeting(), (await make_meeting(campaign="winter")).meeting
    await add_coordinator("cara@example.org", campaign_slug="winter")
    await sign_in(client, "cara@example.org")
    page = f"/coordinators/meetings/{by_web.public_id}"
    approved = await post_form(client, page, f"{page}/approve")
    assert approved.status_code == 303
    done = run_kit(settings_env(settings), "approve", by_cli.public_id)
    assert done.returncode == 0, done.stderr
    assert "Published: Neighbors talk schools" in done.stdout and "being told" in done.stdout
    assert (await Meeting.get(id=by_cli.id)).status is MeetingStatus.PUBLISHED
    await deliver_due([EmailSender(Transport(smtp_server.url, tmp_path), settings.mail_from)])
    live = [m for m in smtp_server.messages if m["Subject"].startswith("Your meeting is live")]
    assert len(live) == 2
    web_mail, cli_mail = (
        next(m for m in live if meeting.public_id in m.get_body(("plain",)).get_content())
        for meeting in (by_web, by_cli)
    )
    for mail, meeting in ((web_mail, by_web), (cli_mail, by_cli)):
        assert mail["To"] == "quinn@example.org"
        assert mail["Subject"] == "Your meeting is live: Neighbors talk schools"
        assert (
            f"{settings.base_url}/meetings/{meeting.public_id}"
            in mail.get_body(("html",)).get_content()
        )

    def text_of(mail: EmailMessage, meeting: Meeting) -> str:
        return mail.get_body(("plain",)).get_content().replace(meeting.public_id, "ID")

    assert text_of(cli_mail, by_cli) == text_of(web_mail, by_web)
    assert "the Winter House Meetings coordinators approved your meeting" in text_of(
        cli_mail, by_cli
    )
    again = run_kit(settings_env(settings), "approve", by_cli.public_id)  # nothing waits now
    assert again.returncode != 0 and "couldn't find that meeting" in again.stderr
    assert await OutboxMessage.filter(kind="meeting_approved").count() == 2
    log = [(e.actor_label, e.detail) for e in await AuditEntry.filter(action="meeting.approve")]
    assert sorted(log) == [("cara@example.org", ""), ("cli", "kit approve")]
