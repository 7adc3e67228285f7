"""After the meeting the host reports, from the sign-in sheet or through the API; the meeting
completes, guests are thanked once, would-be hosts are invited, and the host is asked
(and reminded, twice) when no report comes."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import httpx

from kit.campaigns import service as campaigns
from kit.core.rendering import make_environment
from kit.core.settings import Settings
from kit.jobs.schedule import queue_report_requests, run_due_jobs
from kit.meetings import service as meetings
from kit.meetings.rsvps import RsvpInput, cancel_rsvp, record_rsvp, rsvp_ref
from kit.printables import context as printing
from kit.reports import outcomes
from kit.reports import service as reports
from kit.store.models import (
    Attendee,
    Campaign,
    Commitment,
    EmailOptOut,
    Idea,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    RateCounter,
    Report,
    Rsvp,
)
from kit.toolkit.printables import signin_rows
from kit.web import hosting, limits
from tests.factories import SITE, as_form, csrf_from, make_campaign, make_meeting, meeting_body
from tests.meetings.test_rsvps import deliver
from tests.smtp import SmtpServer
from tests.toolkit.test_printables import pdf_reader

GUESTS = [("Zoe Quist", "zoe@example.org", 0), ("Ada Okafor", "ada@example.org", 1)]


def pdf_pages(data: bytes) -> list[str]:
    return [re.sub(r"\s+", " ", page.extract_text()) for page in pdf_reader(data).pages]


async def held_meeting(
    guests: list[tuple[str, str, int]] = GUESTS,
    *,
    ended_ago: timedelta = timedelta(hours=1),
    **kw: Any,
) -> tuple[Meeting, str]:
    """A meeting with confirmed RSVPs that has just taken place; (meeting, manage token)."""
    created = await make_meeting(**kw)
    for name, email, extra in guests:
        await record_rsvp(
            created.meeting, RsvpInput(name=name, email=email, guests=extra), site=SITE
        )
    ends = datetime.now(UTC) - ended_ago
    await Meeting.filter(id=created.meeting.id).update(
        starts_at=ends - timedelta(hours=2), ends_at=ends
    )
    assert created.manage_token
    token = created.manage_token
    return await meetings.get_managed_meeting(created.meeting.public_id, token), token


async def guest_rows(meeting: Meeting) -> dict[str, str]:
    """Each confirmed guest's form prefix ("rsvp.<ref>"), by first name."""
    sheet = await reports.report_sheet(meeting)
    return {r.person.first_name: f"rsvp.{rsvp_ref(r)}" for r in sheet.rsvps}


def report_path(meeting: Meeting, token: str) -> str:
    return f"/manage/{meeting.public_id}/report?token={token}"


def api(client: httpx.AsyncClient, meeting: Meeting, token: str, body: dict[str, Any]) -> Any:
    return client.post(
        f"/api/meetings/{meeting.public_id}/report",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


REPORT = {
    "attendees": [
        {"email": "ada@example.org", "commitments": ["volunteer", "donate"]},
        {
            "name": "Wally Walkin",
            "email": "wally@example.org",
            "commitments": ["host"],
            "invite_consent": True,
        },
        {"name": "Pat Paper", "phone": "+1 212 555 0199", "commitments": ["volunteer"]},
    ],
    "headcount": 5,
    "ideas": ["A crossing guard on Elm St", "Monthly street clean-up"],
    "story": "I met my neighbor of ten years for the first time tonight.",
    "story_consent": True,
    "guide_rating": 4,
    "feedback": "More time for stories.",
}


async def test_report_form_follows_the_printed_sign_in_sheet(client: httpx.AsyncClient) -> None:
    meeting, token = await held_meeting()
    page = await client.get(report_path(meeting, token))
    assert page.status_code == 200
    html = page.text
    # Ada (bringing one) before Zoe, her guest's row right after her: the sheet's order.
    assert (
        html.index("Ada Okafor")
        < html.index('placeholder="guest of Ada"')
        < html.index("Zoe Quist")
    )
    sheet = signin_rows([("Zoe Quist", 0), ("Ada Okafor", 1)], meeting.capacity)
    form_sheet = await reports.report_sheet(meeting)
    # The form has the sheet's rows, in order; the paper adds blank rows to its page's foot.
    rows = [r.name or r.hint for r in form_sheet.rows]
    assert [r.name or r.hint for r in sheet[: len(rows)]] == rows
    assert not any(r.name or r.hint for r in sheet[len(rows) :])
    ada = (await guest_rows(meeting))["Ada"]
    for name in (f"{ada}.came", f"{ada}.ask.host", "walkin.0.name", "walkin.1.email", "ideas"):
        assert f'name="{name}"' in html
        assert f'for="field-{name.replace(".", "-")}"' in html
    for label in ("Host a meeting", "Volunteer", "Donate monthly"):
        assert label in html
    # Each tick carries its own label (shown on a phone's cards), naming the row for a
    # screen reader; the headcount's label and hint both count the host.
    assert (
        f'<label class="sheet-label" for="field-{ada.replace(".", "-")}-ask-volunteer">'
        '<span class="visually-hidden">Ada Okafor: </span>Volunteer</label>'
    ) in html
    assert "How many people came, including you?" in html
    assert "count the people ticked and added above, and you." in html


async def test_the_packets_sign_in_columns_are_the_report_forms_columns(
    client: httpx.AsyncClient,
) -> None:
    labels = ["Knock", "Call", "Host", "Vote", "Donate", "Drive", "Cook", "Sing"]
    asks = [{"key": label.lower(), "label": label} for label in labels]
    await make_campaign("eight", asks=asks)
    meeting, token = await held_meeting(campaign="eight")
    packet = await printing.get_packet(meeting, token, site=SITE)
    sheet = next(t for t in pdf_pages(packet.data) if "Sign in" in t)
    printed = re.search(r"# Name Email Phone (.*?) 1 ", sheet)
    assert printed, sheet[:400]
    form = (await client.get(report_path(meeting, token))).text
    columns = re.search(r"<th scope=\"col\">Phone</th>(.*?)<th scope=\"col\">May", form, re.S)
    assert columns
    on_the_form = re.findall(r"<th scope=\"col\">([^<]*)</th>", columns.group(1))
    assert printed.group(1).split() == on_the_form == labels[: campaigns.MAX_ASKS_SHOWN]
    # And the cards in the packet offer the same asks.
    cards = next(t for t in pdf_pages(packet.data) if "I'm in. I will:" in t)
    assert all(label in cards for label in on_the_form) and "Cook" not in cards


async def test_host_files_the_report_from_the_form(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    meeting, token = await held_meeting()
    path = report_path(meeting, token)
    rows = await guest_rows(meeting)
    form = {
        "csrf_token": await csrf_from(client, path),
        "token": token,
        f"{rows['Ada']}.came": "1",
        f"{rows['Ada']}.ask.volunteer": "1",
        f"{rows['Zoe']}.ask.host": "1",  # a commitment means she came
        "walkin.0.name": "Sam Guest",  # Ada's guest, no contact
        "walkin.1.name": "Wally Walkin",
        "walkin.1.email": "Wally@Example.org",
        "walkin.1.ask.host": "1",
        "walkin.1.consent": "1",
        "walkin.1.invite_consent": "1",
        "walkin.2.name": "",
        "headcount": "",
        "ideas": "A crossing guard on Elm St\n\n  Monthly street clean-up  \n",
        "story": "We found out we all walk the same dog route.",
        "story_consent": "1",
        "guide_rating": "5",
        "feedback": "",
    }
    response = await client.post(path.split("?")[0], data=form)
    assert response.status_code == 303, response.text[:500]
    saved = await client.get(response.headers["location"])
    assert "Your report is saved" in saved.text

    stored = await Meeting.get(id=meeting.id)
    assert stored.status is MeetingStatus.COMPLETED and stored.completed_at is not None
    report = await Report.get(meeting_id=meeting.id)
    # Left empty, the headcount is the four people listed and the host ("including you").
    assert report.headcount == 5 and report.story_consent and report.guide_rating == 5
    names = (
        await Attendee.filter(meeting_id=meeting.id).order_by("id").values_list("name", "walk_in")
    )
    assert names == [
        ("Ada Okafor", False),
        ("Zoe Quist", False),
        ("Sam Guest", True),
        ("Wally Walkin", True),
    ]
    asks = sorted(await Commitment.filter(meeting_id=meeting.id).values_list("ask", flat=True))
    assert asks == ["host", "host", "volunteer"]
    ideas = await Idea.filter(meeting_id=meeting.id).order_by("id").values_list("text", flat=True)
    assert ideas == ["A crossing guard on Elm St", "Monthly street clean-up"]

    await deliver(settings, smtp_server, tmp_path)
    thanks = [m for m in smtp_server.messages if m["Subject"].startswith("Thank you for coming")]
    assert sorted(m["To"] for m in thanks) == [
        "ada@example.org",
        "wally@example.org",
        "zoe@example.org",
    ]
    [ada] = [m for m in thanks if m["To"] == "ada@example.org"]
    assert ada["From"].addresses[0].display_name == "Quinn via House Meeting Kit"
    text = ada.get_body(("plain",)).get_content()
    assert "5 neighbors came" in text and "3 commitments" in text  # four listed, and the host
    assert "A crossing guard on Elm St" in text
    assert "/find?near=10027" in text  # the one next step, without a campaign
    for other in ("Zoe", "Wally", "Sam Guest", "zoe@example.org"):
        assert other not in text
    invitations = [
        m["To"] for m in smtp_server.messages if "host a meeting of your own" in m["Subject"]
    ]
    assert sorted(invitations) == ["wally@example.org", "zoe@example.org"]

    # The form shows what was saved; editing changes it but thanks nobody again.
    edit = await client.get(path)
    assert f'name="{rows["Ada"]}.came" value="1" checked' in edit.text
    assert 'value="Wally Walkin"' in edit.text
    form.update({"headcount": "6", "csrf_token": await csrf_from(client, path)})
    assert (await client.post(path.split("?")[0], data=form)).status_code == 303
    assert (await Report.get(meeting_id=meeting.id)).headcount == 6
    assert await OutboxMessage.filter(kind="thank_you").count() == 3
    assert await OutboxMessage.filter(kind="host_invitation").count() == 2


async def test_a_form_error_keeps_everything_typed(client: httpx.AsyncClient) -> None:
    meeting, token = await held_meeting()
    path = report_path(meeting, token)
    zoe = (await guest_rows(meeting))["Zoe"]
    form = {
        "csrf_token": await csrf_from(client, path),
        "token": token,
        f"{zoe}.came": "1",
        f"{zoe}.ask.donate": "1",
        "walkin.0.name": "Typed Name",
        "walkin.0.email": "not-an-email",
        "walkin.0.ask.volunteer": "1",
        "walkin.7.phone": "+1 212 555 0100",  # a phone without a name
        "headcount": "1",
        "ideas": "Keep this idea\n" + "x" * 301,
        "story": "A story I typed carefully.",
        "story_consent": "1",
        "guide_rating": "4",
        "feedback": "Feedback I typed.",
    }
    response = await client.post(path.split("?")[0], data=form)
    assert response.status_code == 422
    html = response.text
    for typed in (
        "Typed Name",
        "not-an-email",
        "+1 212 555 0100",
        "Keep this idea",
        "A story I typed carefully.",
        "Feedback I typed.",
    ):
        assert typed in html
    for box in (f"{zoe}.came", f"{zoe}.ask.donate", "walkin.0.ask.volunteer", "story_consent"):
        assert re.search(rf'name="{re.escape(box)}"[^>]*\schecked', html), box
    assert re.search(r'name="guide_rating" type="radio" value="4" checked', html)
    for field in ("walkin.0.email", "walkin.7.name", "ideas", "headcount"):
        assert f'href="#field-{field.replace(".", "-")}"' in html, field
    assert 'aria-invalid="true"' in html
    assert await Report.all().count() == 0
    assert (await Meeting.get(id=meeting.id)).status is MeetingStatus.PUBLISHED


async def test_a_cancellation_while_the_host_types_moves_no_tick(
    client: httpx.AsyncClient,
) -> None:
    guests = [("Ada Okafor", "ada@example.org", 0), ("Bo Early", "bo@example.org", 0), *GUESTS[:1]]
    meeting, token = await held_meeting(guests)
    rows = await guest_rows(meeting)
    path = report_path(meeting, token)
    form = {"csrf_token": await csrf_from(client, path), "token": token}
    await cancel_rsvp(await Rsvp.get(person__email="bo@example.org"), site=SITE)
    form.update({f"{rows['Zoe']}.came": "1", f"{rows['Zoe']}.ask.host": "1"})
    assert (await client.post(path.split("?")[0], data=form)).status_code == 303
    came = await Attendee.filter(meeting_id=meeting.id).values_list("name", flat=True)
    assert came == ["Zoe Quist"]
    assert await Commitment.filter(meeting_id=meeting.id, ask="host").count() == 1


async def test_the_api_docs_say_what_an_empty_headcount_counts(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    said = spec["paths"]["/api/meetings/{id}/report"]["post"]["description"]
    assert "the number of attendees plus one (the host" in " ".join(said.split())
    meeting, token = await held_meeting()
    body = {key: value for key, value in REPORT.items() if key != "headcount"}
    filed = await api(client, meeting, token, body)
    assert filed.status_code == 201, filed.text
    assert filed.json()["headcount"] == len(REPORT["attendees"]) + 1  # as the docs say


async def test_report_through_the_api_then_an_edit(client: httpx.AsyncClient) -> None:
    meeting, token = await held_meeting()
    first = await api(client, meeting, token, REPORT)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "completed" and body["headcount"] == 5
    assert body["commitments"] == {"host": 1, "volunteer": 2, "donate": 1}
    assert body["ideas"] == REPORT["ideas"]
    [ada] = await Attendee.filter(email="ada@example.org")
    assert ada.rsvp_id is not None and ada.name == "Ada Okafor" and not ada.walk_in
    assert await OutboxMessage.filter(kind="thank_you").count() == 2  # Ada and Wally; Pat has none

    idea = await Idea.get(text="A crossing guard on Elm St")
    await Idea.filter(id=idea.id).update(supporters=7)
    edited = {**REPORT, "ideas": ["a crossing guard on elm st", "Benches at the bus stop"]}
    second = await api(client, meeting, token, edited)
    assert second.status_code == 200
    kept = await Idea.filter(meeting_id=meeting.id).order_by("id")
    assert [(i.id == idea.id, i.supporters) for i in kept] == [(True, 7), (False, 0)]
    assert await OutboxMessage.filter(kind="thank_you").count() == 2
    assert await OutboxMessage.filter(kind="host_invitation").count() == 1

    # An edit that adds a new would-be host invites just that person.
    more = {
        **REPORT,
        "attendees": [
            *REPORT["attendees"],
            {
                "name": "Nia New",
                "email": "nia@example.org",
                "commitments": ["host"],
                "invite_consent": True,
            },
        ],
    }
    assert (await api(client, meeting, token, more)).status_code == 200
    invited = await OutboxMessage.filter(kind="host_invitation").values_list("recipient", flat=True)
    assert sorted(invited) == ["nia@example.org", "wally@example.org"]


async def test_api_report_problems_are_422_with_fields(client: httpx.AsyncClient) -> None:
    meeting, token = await held_meeting()
    body = {
        "attendees": [
            {"email": "ada@example.org", "commitments": ["fly"]},
            {"email": "someone@example.org"},  # not a guest, and no name
            {"name": "Bo", "email": "ada@example.org"},
            "Cy",
        ],
        "headcount": 1,
        "ideas": ["x" * 301],
        "guide_rating": 9,
    }
    response = await api(client, meeting, token, body)
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {
        "attendees.0.commitments",
        "attendees.1.name",
        "attendees.2.email",
        "attendees.3",
        "headcount",
        "ideas",
        "guide_rating",
    }
    too_many = await api(client, meeting, token, {"ideas": [f"idea {n}" for n in range(21)]})
    assert too_many.json()["fields"] == {
        "ideas": "That's 21 ideas; please keep the 20 most important."
    }
    assert await Report.all().count() == 0
    wrong = await client.post(
        f"/api/meetings/{meeting.public_id}/report",
        json=REPORT,
        headers={"Authorization": "Bearer not-the-token"},
    )
    assert wrong.status_code == 404


async def test_no_report_before_the_meeting_starts_or_after_a_cancellation(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    assert created.manage_token
    meeting = await meetings.get_managed_meeting(created.meeting.public_id, created.manage_token)
    early = await api(client, meeting, created.manage_token, REPORT)
    assert early.status_code == 409
    assert "started" in early.json()["error"]
    page = await client.get(report_path(meeting, created.manage_token))
    assert page.status_code == 200 and "once the meeting has started" in page.text
    assert 'name="headcount"' not in page.text

    held, token = await held_meeting(title="Called off")
    await Meeting.filter(id=held.id).update(status=MeetingStatus.CANCELLED)
    assert (await api(client, held, token, REPORT)).status_code == 409
    assert await Report.all().count() == 0


async def test_reports_stay_editable_until_the_campaign_ends(client: httpx.AsyncClient) -> None:
    # "Today" on the meeting's clock (New York): the campaign's last day ends there, and
    # between midnight UTC and midnight in New York the UTC date is a day ahead.
    today = datetime.now(ZoneInfo("America/New_York")).date()
    campaign = await make_campaign(ends_on=today + timedelta(days=10))
    meeting, token = await held_meeting(campaign=campaign.slug, ended_ago=timedelta(days=3))
    assert (await api(client, meeting, token, REPORT)).status_code == 201
    assert (await api(client, meeting, token, {**REPORT, "headcount": 9})).status_code == 200

    await Campaign.filter(id=campaign.id).update(ends_on=today - timedelta(days=1))
    late = await api(client, meeting, token, {**REPORT, "headcount": 20})
    assert late.status_code == 409
    assert "until" in late.json()["error"]
    assert (await Report.get(meeting_id=meeting.id)).headcount == 9
    page = await client.get(report_path(meeting, token))
    assert "could be filed or changed until" in page.text
    assert 'name="headcount"' not in page.text


async def test_without_a_campaign_reports_close_60_days_after_the_meeting(db: str) -> None:
    meeting = Meeting(ends_at=datetime(2026, 3, 1, 20, tzinfo=UTC), timezone="America/New_York")
    assert reports.editable_until(meeting, None) == datetime(2026, 4, 30, 20, tzinfo=UTC)
    campaign = Campaign(slug="c", name="C", ends_on=date(2026, 3, 31))
    # The end of the campaign's last day, on the clocks of the meeting's place.
    assert reports.editable_until(meeting, campaign) == datetime(2026, 4, 1, 4, tzinfo=UTC)


async def test_a_would_be_host_publishes_from_the_invitation(
    client: httpx.AsyncClient,
) -> None:
    await make_campaign("spring")
    meeting, token = await held_meeting(campaign="spring")
    assert (await api(client, meeting, token, REPORT)).status_code == 201
    [invitation] = await OutboxMessage.filter(kind="host_invitation")
    assert invitation.recipient == "wally@example.org"
    link = re.search(r"http://testserver(/host\?\S+)", invitation.payload["body_text"])
    assert link
    params = dict(parse_qsl(urlsplit(link.group(1)).query))
    assert params == {
        "host.name": "Wally Walkin",
        "host.email": "wally@example.org",
        "address.locality": "New York",
        "address.country": "US",
        "campaign": "spring",
        "grew_from": meeting.public_id,
    }
    assert set(params) <= set(hosting.PREFILL)
    page = await client.get(link.group(1))
    assert page.status_code == 200
    assert 'value="Wally Walkin"' in page.text and 'value="wally@example.org"' in page.text

    # The host form carries grew_from along as a hidden field (the prefilled values).
    body = meeting_body(host={"name": "Wally Walkin", "email": "wally@example.org", "phone": ""})
    form = {**as_form(body), **params, "csrf_token": await csrf_from(client, link.group(1))}
    published = await client.post("/host", data=form)
    assert published.status_code == 303, published.text[:400]
    new = await Meeting.get(host__email="wally@example.org")
    assert new.grew_from_id == meeting.id  # type: ignore[attr-defined]
    assert new.campaign_id == meeting.campaign_id  # type: ignore[attr-defined]

    # An unknown id is no reason to refuse a meeting: it just isn't recorded.
    body = meeting_body(title="Another", host={"email": "nia@example.org"}, grew_from="nope")
    assert (await client.post("/api/meetings", json=body)).status_code == 201
    assert (await Meeting.get(host__email="nia@example.org")).grew_from_id is None  # type: ignore[attr-defined]


async def test_meeting_outcomes_show_counts_ideas_and_only_a_shared_story(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await held_meeting()
    assert (await api(client, meeting, token, REPORT)).status_code == 201
    meeting = await meetings.get_meeting(meeting.public_id)
    achieved = await outcomes.meeting_outcomes(meeting)
    assert achieved is not None
    assert achieved.headcount == 5 and achieved.commitments_total == 4
    assert [(c.label, c.count) for c in achieved.commitments] == [
        ("Host a meeting", 1),
        ("Volunteer", 2),
        ("Donate monthly", 1),
    ]
    html = (
        make_environment()
        .get_template("meetings/_outcomes.html")
        .render(meeting=meeting, outcomes=achieved)
    )
    assert "5 neighbors came" in html and "volunteer 2" in html
    assert "A crossing guard on Elm St" in html
    assert REPORT["story"] in html
    for secret in ("Ada", "Okafor", "Wally", "Pat Paper", "@example.org", "555 0199"):
        assert secret not in html

    await api(client, meeting, token, {**REPORT, "story_consent": False})
    hidden = await outcomes.meeting_outcomes(meeting)
    assert hidden is not None and hidden.story == ""
    upcoming = (await make_meeting(title="Not yet")).meeting
    assert await outcomes.meeting_outcomes(await meetings.get_meeting(upcoming.public_id)) is None


async def test_manage_page_partial_links_to_the_report(db: str) -> None:
    meeting, token = await held_meeting()
    template = make_environment().get_template("meetings/_report_link.html")
    due = reports.report_link(meeting, token, SITE)
    assert due is not None and due.state == "due" and due.ended
    html = template.render(meeting=meeting, report_link=due)
    assert (
        "File your report" in html and f"/manage/{meeting.public_id}/report?token={token}" in html
    )
    await reports.file_report(
        meeting, reports.parse_report_json(REPORT, await reports.report_sheet(meeting)), site=SITE
    )
    filed = reports.report_link(meeting, token, SITE)
    assert filed is not None and filed.state == "filed"
    assert "Edit your report" in template.render(meeting=meeting, report_link=filed)
    upcoming = (await make_meeting(title="Later")).meeting
    later = await Meeting.get(id=upcoming.id).select_related("campaign")
    assert reports.report_link(later, "t", SITE).state == "upcoming"  # type: ignore[union-attr]
    assert template.render(meeting=later, report_link=None).strip() == ""


async def test_host_is_asked_for_a_report_then_reminded_at_3_and_7_days(
    settings: Settings, db: str
) -> None:
    meeting, _ = await held_meeting(ended_ago=timedelta(minutes=1))
    ended = (await Meeting.get(id=meeting.id)).ends_at

    async def twice(at: timedelta) -> int:
        counts = await asyncio.gather(
            queue_report_requests(settings, ended + at), queue_report_requests(settings, ended + at)
        )
        return sum(counts)

    assert await twice(timedelta(minutes=-1)) == 0  # not over yet
    assert await twice(timedelta(minutes=30)) == 1
    assert await twice(timedelta(hours=3)) == 0
    assert await twice(timedelta(days=3, minutes=1)) == 1
    assert await twice(timedelta(days=4)) == 0
    assert await twice(timedelta(days=7, minutes=1)) == 1
    assert await twice(timedelta(days=8)) == 0
    assert (await run_due_jobs(settings, ended + timedelta(days=9)))[2] == 0

    mail = await OutboxMessage.filter(meeting_id=meeting.id, kind__startswith="report").order_by(
        "id"
    )
    assert [m.kind for m in mail] == ["report_request", "report_reminder", "report_reminder"]
    assert {m.recipient for m in mail} == {"quinn@example.org"}
    assert mail[2].payload["subject"].startswith("Last reminder")
    # Each email carries a fresh manage token that opens the report form.
    links = {
        re.search(r"/manage/\S+/report\?token=\S+", m.payload["body_text"]).group(0) for m in mail
    }  # type: ignore[union-attr]
    assert len(links) == 3
    token = next(iter(links)).split("token=")[1]
    assert (await meetings.get_managed_meeting(meeting.public_id, token)).id == meeting.id
    assert (
        mail[1].payload["headers"]["List-Unsubscribe"].startswith("<http://testserver/unsubscribe/")
    )


async def test_no_request_once_the_report_is_filed(settings: Settings, db: str) -> None:
    meeting, _ = await held_meeting()
    ended = (await Meeting.get(id=meeting.id)).ends_at
    assert await queue_report_requests(settings, ended + timedelta(minutes=5)) == 1
    sheet = await reports.report_sheet(meeting)
    await reports.file_report(meeting, reports.parse_report_json(REPORT, sheet), site=SITE)
    assert await queue_report_requests(settings, ended + timedelta(days=3, hours=1)) == 0
    # A meeting that ended long ago (before an upgrade, say) is never asked about.
    old, _ = await held_meeting(title="Long ago", ended_ago=timedelta(days=30))
    assert await queue_report_requests(settings) == 0
    assert not await OutboxMessage.filter(meeting_id=old.id).filter(kind="report_request").exists()


async def test_two_first_filings_at_once_thank_each_guest_once(db: str) -> None:
    meeting, token = await held_meeting()
    other = await meetings.get_managed_meeting(meeting.public_id, token)
    sheet = await reports.report_sheet(meeting)
    data = reports.parse_report_json(REPORT, sheet)
    filed = await asyncio.gather(
        reports.file_report(meeting, data, site=SITE), reports.file_report(other, data, site=SITE)
    )
    assert sorted(f.created for f in filed) == [False, True]
    assert await Report.filter(meeting_id=meeting.id).count() == 1
    assert await OutboxMessage.filter(kind="thank_you").count() == 2


async def test_a_big_meetings_report_form_posts_in_one_go(client: httpx.AsyncClient) -> None:
    # 40 parties of five fill 200 seats: 200 rows, and a browser posts every text box of
    # every walk-in row even when empty (name, email, phone): well over 500 fields.
    guests = [(f"Guest {n:02d}", f"guest{n}@example.org", 4) for n in range(40)]
    meeting, token = await held_meeting(guests, capacity=200)
    sheet = await reports.report_sheet(meeting)
    form = {"csrf_token": await csrf_from(client, report_path(meeting, token)), "token": token}
    for row in sheet.rows:
        if row.kind == "rsvp":
            form |= {f"{row.key}.came": "1", f"{row.key}.ask.volunteer": "1"}
        else:
            name = f"Friend {row.number}" if row.number % 2 else ""
            form |= {f"{row.key}.name": name, f"{row.key}.email": "", f"{row.key}.phone": ""}
    form |= {"headcount": "", "ideas": "", "story": "", "feedback": ""}
    assert len(form) > 500
    response = await client.post(f"/manage/{meeting.public_id}/report", data=form)
    assert response.status_code == 303, response.text[:500]
    assert await Attendee.filter(meeting_id=meeting.id).count() == 40 + 80


# --- What a report may email, and how often it may be filed ---------------------------------


def walk_ins(count: int, *, batch: int, **fields: Any) -> list[dict[str, Any]]:
    return [
        {"name": f"Neighbor {batch}-{n}", "email": f"n{batch}-{n}@example.net", **fields}
        for n in range(count)
    ]


async def test_three_api_calls_can_no_longer_send_hundreds_of_emails(
    client: httpx.AsyncClient,
) -> None:
    """Issue #12: publish a meeting, then file its report twice with 299 walk-ins who all
    "will host" (and, the host claims, agreed to be invited): 898 emails in 2.7 s. Now a
    report thanks at most 40 walk-ins, and a meeting sends at most 20 invitations, ever."""
    created = await client.post("/api/meetings", json=meeting_body())
    assert created.status_code == 201, created.text
    public_id, token = created.json()["id"], created.json()["manage_url"].rsplit("token=")[1]
    # The meeting took place (and was published, whatever confirming the host took).
    ends = datetime.now(UTC) - timedelta(hours=1)
    await Meeting.filter(public_id=public_id).update(
        status=MeetingStatus.PUBLISHED, starts_at=ends - timedelta(hours=2), ends_at=ends
    )
    meeting = await meetings.get_managed_meeting(public_id, token)
    await EmailOptOut.create(email="n0-3@example.net")

    answers = []
    for batch in range(2):
        people = walk_ins(299, batch=batch, commitments=["host"], invite_consent=True)
        response = await api(client, meeting, token, {"attendees": people})
        assert response.status_code == (200 if batch else 201), response.text
        answers.append(response.json().get("emails"))
    caused = await OutboxMessage.filter(kind__in=["thank_you", "host_invitation"])
    assert len(caused) == 40 + 20, "thank-yous and invitations from two filings"
    assert (reports.MAX_THANKED_WALK_INS, reports.MAX_HOST_INVITATIONS) == (40, 20)
    assert answers == [
        {"thank_yous": 40, "host_invitations": 20, "held_back": (298 - 40) + (298 - 20)},
        {"thank_yous": 0, "host_invitations": 0, "held_back": 299},
    ]
    assert "n0-3@example.net" not in {e.recipient for e in caused}  # unsubscribed
    invitations = [e for e in caused if e.kind == "host_invitation"]
    assert len({e.recipient for e in invitations}) == 20
    for invitation in invitations:  # non-essential mail, with its one-click unsubscribe
        assert invitation.payload["headers"]["List-Unsubscribe"].startswith(
            "<http://testserver/unsubscribe/"
        )


async def test_a_walk_in_is_invited_to_host_only_when_the_host_ticks_that_they_agreed(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await held_meeting()
    path = report_path(meeting, token)
    blank = (await client.get(path)).text
    box = re.search(r'<input type="checkbox" [^>]*name="walkin\.0\.invite_consent"[^>]*>', blank)
    assert box and "checked" not in box.group(0)  # unticked until the host ticks it
    label = "Row 2 (guest of Ada): Agreed to be emailed an invitation to host"
    assert label in re.sub(r"<[^>]+>", "", blank)
    await EmailOptOut.create(email="max@example.org")
    form = {
        "csrf_token": await csrf_from(client, path),
        "token": token,
        "walkin.0.name": "Kim Asked",
        "walkin.0.email": "kim@example.org",
        "walkin.0.ask.host": "1",  # said they'd host, but nobody asked about an email
        "walkin.1.name": "Lee Agreed",
        "walkin.1.email": "lee@example.org",
        "walkin.1.ask.host": "1",
        "walkin.1.invite_consent": "1",
        "walkin.2.name": "Max Unsubscribed",
        "walkin.2.email": "max@example.org",
        "walkin.2.ask.host": "1",
        "walkin.2.invite_consent": "1",
    }
    assert (await client.post(path.split("?")[0], data=form)).status_code == 303
    invited = await OutboxMessage.filter(kind="host_invitation").values_list("recipient", flat=True)
    assert invited == ["lee@example.org"]
    stored = await Attendee.filter(meeting_id=meeting.id).order_by("id")
    assert [a.invite_consent for a in stored] == [False, True, True]
    edit = (await client.get(path)).text
    assert re.search(r'name="walkin\.1\.invite_consent" value="1" checked', edit)

    # Kim agrees after all; filing again invites her, and nobody a second time.
    form |= {"walkin.0.invite_consent": "1", "csrf_token": await csrf_from(client, path)}
    assert (await client.post(path.split("?")[0], data=form)).status_code == 303
    invited = await OutboxMessage.filter(kind="host_invitation").values_list("recipient", flat=True)
    assert sorted(invited) == ["kim@example.org", "lee@example.org"]


async def test_report_filings_are_rate_limited_per_meeting_and_per_client(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await held_meeting()
    for n in range(limits.REPORT_PER_MEETING.hits):
        assert (await api(client, meeting, token, REPORT)).status_code == (200 if n else 201)
    # A report with a problem to fix isn't a filing: it doesn't count, and says what's wrong.
    assert (await api(client, meeting, token, {"headcount": -1})).status_code == 422
    limited = await api(client, meeting, token, REPORT)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.json() == {"error": limits.REPORT_MESSAGE, "fields": {}}
    # The form says so too, and keeps what was typed.
    path = report_path(meeting, token)
    form = {"csrf_token": await csrf_from(client, path), "token": token}
    form |= {"story": "Typed before the wait.", "headcount": "7"}
    page = await client.post(path.split("?")[0], data=form)
    assert page.status_code == 429 and int(page.headers["retry-after"]) > 0
    assert "saved many times" in page.text and "Typed before the wait." in page.text

    # One client, many meetings: 60 filings an hour, whichever meetings they are for.
    other, other_token = await held_meeting(title="Another living room")
    client_ip = "127.0.0.1"  # what httpx's ASGI transport reports
    await RateCounter.filter(key=f"report:ip:{client_ip}").update(
        hits=limits.REPORT_PER_CLIENT.hits - 1
    )
    assert (await api(client, other, other_token, REPORT)).status_code == 201
    assert (await api(client, other, other_token, REPORT)).status_code == 429


async def test_the_form_says_when_a_cap_held_emails_back(client: httpx.AsyncClient) -> None:
    meeting, token = await held_meeting([])
    path = report_path(meeting, token)
    form = {"csrf_token": await csrf_from(client, path), "token": token}
    for n in range(reports.MAX_THANKED_WALK_INS + 2):
        form |= {f"walkin.{n}.name": f"Walk In {n}", f"walkin.{n}.email": f"w{n}@example.net"}
    response = await client.post(path.split("?")[0], data=form)
    assert response.status_code == 303
    saved = await client.get(response.headers["location"])
    assert "Your report is saved" in saved.text
    assert "2 emails to people on it were not sent" in saved.text
    assert await OutboxMessage.filter(kind="thank_you").count() == 40
