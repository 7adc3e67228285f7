"""A neighbor RSVPs; seats, the waitlist, invites and emails stay right from then on."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from icalendar import Calendar

from kit.core.settings import Settings
from kit.outbox.delivery import deliver_due
from kit.outbox.email import RENDER_GRACE, Deferred, EmailSender
from kit.store.models import Meeting, MeetingStatus, OutboxMessage, Rsvp, RsvpSource, RsvpStatus
from kit.toolkit.mail import Transport
from tests.factories import csrf_from, make_meeting, rsvp_link
from tests.ics import parse_ics
from tests.smtp import SmtpServer


async def rsvp(client: httpx.AsyncClient, meeting_id: str, **body: object) -> httpx.Response:
    payload = {"name": "Ada Okafor", "email": "ada@example.org", **body}
    return await client.post(f"/api/meetings/{meeting_id}/rsvps", json=payload)


async def deliver(settings: Settings, smtp_server: SmtpServer, tmp_path: Path) -> None:
    await deliver_due(
        [EmailSender(Transport(smtp_server.url, tmp_path), settings.mail_from)],
        lease=timedelta(seconds=30),
    )


def to(smtp_server: SmtpServer, address: str) -> list[EmailMessage]:
    return [m for m in smtp_server.messages if m["To"] == address]


def invite_of(msg: EmailMessage) -> Calendar:
    parts = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, "expected one calendar invite"
    ics = parts[0].get_content().encode()
    parsed = parse_ics(ics)  # both parsers must read it the same way
    assert parsed.method == parts[0].get_param("method")
    [event] = parsed.events
    assert event["sequence"] == int(parsed.calendar.walk("VEVENT")[0]["SEQUENCE"])
    return parsed.calendar


async def test_rsvp_confirms_and_sends_a_personal_invite(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    created = await make_meeting()
    response = await rsvp(client, created.meeting.public_id, guests=1, note="Bringing cookies")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["email"] == "ada@example.org" and "emailed" in body["message"]
    assert (await Meeting.get(id=created.meeting.id)).seats_taken == 2

    await deliver(settings, smtp_server, tmp_path)
    [confirmation] = to(smtp_server, "ada@example.org")
    assert confirmation["From"].addresses[0].display_name == "Quinn via House Meeting Kit"
    assert confirmation["List-Unsubscribe"].startswith("<http://testserver/unsubscribe/")
    text = confirmation.get_body(("plain",)).get_content()
    assert "417 Elm St" in text and "ring the blue door" in text
    assert "http://testserver/rsvp/" in text  # the guest's private page, only by email
    invite = invite_of(confirmation)
    assert invite["METHOD"] == "REQUEST"
    [event] = invite.walk("VEVENT")
    assert "417 Elm St" in str(event["LOCATION"])
    assert event["UID"] == f"meeting-{created.meeting.public_id}@testserver"
    assert invite.walk("VTIMEZONE")
    # The invite's description carries the same private link as the email, so the
    # guest can change or cancel from their calendar on the day.
    [link] = re.findall(r"http://testserver/rsvp/\S+", text)
    assert str(event["DESCRIPTION"]).endswith(f"Change or cancel your RSVP: {link}")
    [host_note] = to(smtp_server, "quinn@example.org")[-1:]
    assert "Ada" in host_note["Subject"]
    assert "ada@example.org" not in host_note.get_body(("plain",)).get_content()


async def test_emails_of_an_rsvp_whose_process_died_after_the_commit_still_go_out_the_same(
    client: httpx.AsyncClient,
    settings: Settings,
    smtp_server: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An RSVP's emails are queued as facts in its transaction and rendered after the
    commit; a process that dies in between leaves the facts, and delivery renders them."""
    would_have_stored: list[dict[str, Any]] = []

    async def die_after_commit(self: Deferred) -> None:
        would_have_stored.extend(render() for _, render in self.rows)
        self.rows = []

    monkeypatch.setattr(Deferred, "render", die_after_commit)
    created = await make_meeting()
    response = await rsvp(client, created.meeting.public_id, guests=1)
    assert response.json()["status"] == "confirmed"
    rows = await OutboxMessage.filter(
        meeting_id=created.meeting.id, kind__in=["rsvp_confirmed", "host_new_rsvp"]
    ).order_by("id")
    assert [(r.kind, list(r.payload)) for r in rows] == [
        ("rsvp_confirmed", ["facts"]),
        ("host_new_rsvp", ["facts"]),
    ]

    site_aware = EmailSender(Transport(smtp_server.url, tmp_path), settings.mail_from, settings)
    await deliver_due([site_aware], lease=timedelta(seconds=30))
    assert not to(smtp_server, "ada@example.org")  # they wait for their process to render...
    later = datetime.now(UTC) + RENDER_GRACE + timedelta(seconds=1)
    await deliver_due([site_aware], lease=timedelta(seconds=30), now=lambda: later)
    sent = [await OutboxMessage.get(id=r.id) for r in rows]  # ...which died: delivery does
    assert [r.status.value for r in sent] == ["sent", "sent"]
    assert [r.payload for r in sent] == would_have_stored
    [confirmation] = to(smtp_server, "ada@example.org")
    assert confirmation["Subject"] == would_have_stored[0]["subject"]
    assert "417 Elm St" in confirmation.get_body(("plain",)).get_content()
    assert invite_of(confirmation)["METHOD"] == "REQUEST"
    [host_note] = to(smtp_server, "quinn@example.org")[-1:]
    assert host_note["Subject"] == would_have_stored[1]["subject"]


async def test_full_meeting_waitlists_without_the_address(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    created = await make_meeting(capacity=2)
    assert (await rsvp(client, created.meeting.public_id, guests=1)).json()["status"] == "confirmed"
    waiting = await rsvp(client, created.meeting.public_id, email="bo@example.org", name="Bo")
    assert waiting.json()["status"] == "waitlisted"
    await deliver(settings, smtp_server, tmp_path)
    [note] = to(smtp_server, "bo@example.org")
    assert "417 Elm St" not in note.as_string()
    assert "ring the blue door" not in note.as_string()
    assert not [p for p in note.iter_attachments() if p.get_content_type() == "text/calendar"]


async def test_the_same_email_again_changes_nothing_and_mails_its_owner_a_link(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    first = await rsvp(client, created.meeting.public_id)
    again = await rsvp(
        client, created.meeting.public_id, email="ADA@example.org", guests=2, name="Evil"
    )
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()  # no oracle: the same answer either way
    [only] = await Rsvp.filter(meeting_id=created.meeting.id).select_related("person")
    assert (only.guests, only.person.name) == (0, "Ada Okafor")
    assert (await Meeting.get(id=created.meeting.id)).seats_taken == 1
    kinds = [e.kind for e in await OutboxMessage.filter(recipient="ada@example.org").order_by("id")]
    assert kinds == ["rsvp_confirmed", "rsvp_again"]


async def test_cancellation_promotes_whole_parties_in_order(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    created = await make_meeting(capacity=3)
    mid = created.meeting.public_id
    await rsvp(client, mid, guests=2)
    big = await rsvp(client, mid, email="big@example.org", name="Big Party", guests=2)
    small = await rsvp(client, mid, email="solo@example.org", name="Solo")
    assert big.json()["status"] == small.json()["status"] == "waitlisted"

    page = await rsvp_link("ada@example.org")
    token = await csrf_from(client, page)
    cancelled = await client.post(f"{page}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 200
    statuses = {
        r.person.email: r.status
        for r in await Rsvp.filter(meeting_id=created.meeting.id).select_related("person")
    }
    assert statuses == {
        "ada@example.org": RsvpStatus.CANCELLED,
        "big@example.org": RsvpStatus.CONFIRMED,
        "solo@example.org": RsvpStatus.WAITLISTED,
    }
    assert (await Meeting.get(id=created.meeting.id)).seats_taken == 3

    await deliver(settings, smtp_server, tmp_path)
    cancel_mail = to(smtp_server, "ada@example.org")[-1]
    assert invite_of(cancel_mail)["METHOD"] == "CANCEL"
    promoted = to(smtp_server, "big@example.org")[-1]
    assert invite_of(promoted)["METHOD"] == "REQUEST"


async def test_more_capacity_promotes_the_waitlist(client: httpx.AsyncClient) -> None:
    created = await make_meeting(capacity=1)
    mid = created.meeting.public_id
    await rsvp(client, mid)
    assert (await rsvp(client, mid, email="bo@example.org", name="Bo")).json()["status"] == (
        "waitlisted"
    )
    response = await client.patch(
        f"/api/meetings/{mid}",
        json={"capacity": 2},
        headers={"Authorization": f"Bearer {created.manage_token}"},
    )
    assert response.status_code == 200
    bo = await Rsvp.get(person__email="bo@example.org")
    assert bo.status is RsvpStatus.CONFIRMED


async def test_time_change_resends_the_invite_with_a_higher_sequence(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    created = await make_meeting()
    mid = created.meeting.public_id
    await rsvp(client, mid)
    await deliver(settings, smtp_server, tmp_path)
    [first] = invite_of(to(smtp_server, "ada@example.org")[0]).walk("VEVENT")

    later = (datetime.now(UTC) + timedelta(days=8)).strftime("%Y-%m-%d")
    auth = {"Authorization": f"Bearer {created.manage_token}"}
    changed = await client.patch(
        f"/api/meetings/{mid}",
        json={"starts_at": f"{later}T19:00", "ends_at": f"{later}T21:00"},
        headers=auth,
    )
    assert changed.status_code == 200
    await client.post(f"/api/meetings/{mid}/cancel", headers=auth)
    await deliver(settings, smtp_server, tmp_path)

    update, cancel = (invite_of(m) for m in to(smtp_server, "ada@example.org")[1:])
    [updated] = update.walk("VEVENT")
    [cancelled] = cancel.walk("VEVENT")
    assert update["METHOD"] == "REQUEST" and cancel["METHOD"] == "CANCEL"
    assert updated["UID"] == first["UID"] == cancelled["UID"]
    assert int(updated["SEQUENCE"]) == int(first["SEQUENCE"]) + 1
    assert int(cancelled["SEQUENCE"]) == int(updated["SEQUENCE"]) + 1
    assert updated.start.hour == 19


async def test_rsvps_close_for_cancelled_and_past_meetings(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    await Meeting.filter(id=created.meeting.id).update(status=MeetingStatus.CANCELLED)
    closed = await rsvp(client, created.meeting.public_id)
    assert closed.status_code == 409
    assert "cancelled" in closed.json()["error"]

    past = await make_meeting(title="Long ago")
    await Meeting.filter(id=past.meeting.id).update(
        starts_at=datetime.now(UTC) - timedelta(hours=1)
    )
    assert (await rsvp(client, past.meeting.public_id)).status_code == 409
    assert await Rsvp.all().count() == 0


async def test_bad_rsvp_is_refused_with_field_messages(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    response = await rsvp(client, created.meeting.public_id, email="nope", guests=9, name="")
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"email", "guests", "name"}
    assert await Rsvp.all().count() == 0


async def test_too_many_rsvps_from_one_client_get_429(client: httpx.AsyncClient) -> None:
    created = await make_meeting(capacity=100)
    codes = [
        (await rsvp(client, created.meeting.public_id, email=f"p{n}@example.org")).status_code
        for n in range(12)
    ]
    assert codes[:10] == [202] * 10
    assert codes[10:] == [429, 429]
    limited = await rsvp(client, created.meeting.public_id, email="late@example.org")
    assert int(limited.headers["Retry-After"]) > 0
    assert "wait" in limited.json()["error"]


async def test_rsvp_form_thanks_then_the_emailed_page_shows_the_address_to_confirmed_guests(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting(capacity=1)
    page = f"/meetings/{created.meeting.public_id}"
    token = await csrf_from(client, page)
    form = {"csrf_token": token, "name": "Ada", "email": "ada@example.org", "guests": "0"}
    response = await client.post(f"{page}/rsvp", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == f"{page}/thanks"
    thanks = await client.get(response.headers["location"])
    assert "You're in!" in thanks.text and "ada@example.org" in thanks.text
    assert "417 Elm St" not in thanks.text and "/rsvp/" not in thanks.text
    mine = await client.get(await rsvp_link("ada@example.org"))
    assert "Confirmed for 1 person" in mine.text
    assert "417 Elm St" in mine.text

    waiting = await client.post(f"{page}/rsvp", data={**form, "email": "bo@example.org"})
    thanks = await client.get(waiting.headers["location"])
    assert "on the waitlist" in thanks.text and "417 Elm St" not in thanks.text
    theirs = await client.get(await rsvp_link("bo@example.org"))
    assert "waitlist" in theirs.text
    assert "417 Elm St" not in theirs.text


async def test_a_guest_can_bring_a_neighbor_with_a_link_that_reveals_nothing_private(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    public_id = created.meeting.public_id
    await rsvp(client, public_id)
    manage = await rsvp_link("ada@example.org")
    mine = (await client.get(manage)).text

    assert "Bring a neighbor" in mine
    [shared] = re.findall(r'<input id="share-link" type="url" readonly value="([^"]+)">', mine)
    assert shared == f"http://testserver/meetings/{public_id}?source=share"
    [mailto] = re.findall(r'href="(mailto:[^"]+)"', mine)
    letter = unquote(mailto.replace("&amp;", "&"))
    assert letter.startswith(f"mailto:?subject=Join me at {created.meeting.title}")
    assert "New York" in letter and shared in letter
    assert "417 Elm St" not in letter and "Ada" not in letter

    # What the neighbor sees, and where their RSVP is counted from.
    neighbor = await client.get(shared.removeprefix("http://testserver"))
    assert neighbor.status_code == 200 and "417 Elm St" not in neighbor.text
    assert 'name="source" value="share"' in neighbor.text
    # ... who can pass it on in turn.
    assert "Know a neighbor who" in neighbor.text and f'value="{shared}"' in neighbor.text
    assert "There%27s%20a%20neighborhood%20meeting" in neighbor.text
    unlisted = await make_meeting(title="Friends only", visibility="unlisted")
    page = await client.get(f"/meetings/{unlisted.meeting.public_id}")
    assert page.status_code == 200 and "Know a neighbor who" not in page.text

    await client.post(f"{manage}/cancel", data={"csrf_token": await csrf_from(client, manage)})
    cancelled = (await client.get(manage)).text
    assert "<dd>Cancelled</dd>" in cancelled and "Bring a neighbor" not in cancelled


async def test_rsvp_keeps_where_it_came_from_and_ignores_unknown_sources(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    # "demo" marks the seeded demo data only; a made-up source counts as direct.
    sent = {
        "flyer": "flyer",
        "share": "share",
        "demo": "direct",
        "billboard": "direct",
        "": "direct",
    }
    for n, source in enumerate(sent):
        response = await rsvp(
            client, created.meeting.public_id, email=f"g{n}@example.org", source=source
        )
        assert response.status_code == 202
    stored = (
        await Rsvp.filter(meeting_id=created.meeting.id)
        .order_by("id")
        .values_list("source", flat=True)
    )
    assert [RsvpSource(s).value for s in stored] == list(sent.values())


async def test_rsvp_form_errors_keep_what_was_typed(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    page = f"/meetings/{created.meeting.public_id}"
    token = await csrf_from(client, page)
    response = await client.post(
        f"{page}/rsvp",
        data={"csrf_token": token, "name": "Ada Typed", "email": "not-email", "guests": "0"},
    )
    assert response.status_code == 422
    assert 'value="Ada Typed"' in response.text
    assert 'aria-invalid="true"' in response.text


async def test_unsubscribe_stops_host_updates_but_not_confirmations(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id)
    await deliver(settings, smtp_server, tmp_path)
    host_mail = to(smtp_server, "quinn@example.org")[-1]
    link = host_mail["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")
    assert (await client.post(link, data={"List-Unsubscribe": "One-Click"})).status_code == 200

    await rsvp(client, created.meeting.public_id, email="bo@example.org", name="Bo")
    await deliver(settings, smtp_server, tmp_path)
    kinds = [e.kind for e in await OutboxMessage.filter(recipient="quinn@example.org")]
    assert kinds.count("host_new_rsvp") == 1
    assert to(smtp_server, "bo@example.org")


async def test_full_meeting_without_a_waitlist_closes_rsvps(client: httpx.AsyncClient) -> None:
    created = await make_meeting(capacity=1)
    await Meeting.filter(id=created.meeting.id).update(waitlist_enabled=False)
    assert (await rsvp(client, created.meeting.public_id)).status_code == 202
    full = await rsvp(client, created.meeting.public_id, email="bo@example.org", name="Bo")
    assert full.status_code == 409
    assert "full" in full.json()["error"]
    assert await Rsvp.filter(meeting_id=created.meeting.id).count() == 1


async def test_a_confirmed_guest_can_open_the_exact_address_in_maps(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    created = await make_meeting(capacity=1)
    await rsvp(client, created.meeting.public_id)
    await rsvp(client, created.meeting.public_id, email="bo@example.org", name="Bo")
    maps = "https://www.openstreetmap.org/search?query="
    await deliver(settings, smtp_server, tmp_path)
    [confirmation] = to(smtp_server, "ada@example.org")
    text = confirmation.get_body(("plain",)).get_content()
    [link] = re.findall(r"Open in maps: (\S+)", text)
    assert link.startswith(maps) and unquote(link.removeprefix(maps)).startswith(
        "417 Elm St, New York"
    )
    assert "ring the blue door" not in unquote(link)  # directions are for people, not maps
    html = confirmation.get_body(("html",)).get_content()
    assert f'<a href="{link}"' in html and "Open in maps</a>" in html
    page = (await client.get(await rsvp_link("ada@example.org"))).text
    assert f'<a href="{link}">Open in maps</a>' in page

    [waiting] = to(smtp_server, "bo@example.org")
    assert maps not in waiting.as_string()
    assert "Open in maps" not in (await client.get(await rsvp_link("bo@example.org"))).text


async def test_cancelling_asks_once_before_it_cancels(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id, guests=1)
    manage = await rsvp_link("ada@example.org")
    page = (await client.get(manage)).text
    # The first "Cancel my RSVP" is a link that only asks: no form on the page cancels.
    assert f'<a class="button secondary" href="{manage}?cancel=ask#cancel">Cancel my RSVP</a>' in (
        page
    )
    assert f'action="{manage}/cancel"' not in page

    asked = await client.get(f"{manage}?cancel=ask")
    assert asked.status_code == 200
    assert "Cancel your RSVP for all 2 of you?" in asked.text
    assert f'action="{manage}/cancel"' in asked.text and "Yes, cancel my RSVP" in asked.text
    assert f'<a class="button secondary" href="{manage}">No, keep my RSVP</a>' in asked.text
    [still] = await Rsvp.filter(meeting_id=created.meeting.id)
    assert still.status is RsvpStatus.CONFIRMED  # asking changed nothing

    done = await client.post(
        f"{manage}/cancel", data={"csrf_token": await csrf_from(client, manage)}
    )
    assert done.status_code == 200 and "Your RSVP is cancelled" in done.text
    assert "<dd>Cancelled</dd>" in done.text and "Cancel my RSVP" not in done.text
    [gone] = await Rsvp.filter(meeting_id=created.meeting.id)
    assert gone.status is RsvpStatus.CANCELLED
    assert (await Meeting.get(id=created.meeting.id)).seats_taken == 0


# Guests hear about a new title or a description that says something new --------------


async def edit(client: httpx.AsyncClient, created, **fields: str) -> None:  # noqa: ANN001
    auth = {"Authorization": f"Bearer {created.manage_token}"}
    response = await client.patch(
        f"/api/meetings/{created.meeting.public_id}", json=fields, headers=auth
    )
    assert response.status_code == 200, response.text


async def change_emails(to_addr: str = "ada@example.org") -> list[OutboxMessage]:
    return await OutboxMessage.filter(kind="meeting_changed", recipient=to_addr).order_by("id")


async def test_a_new_title_or_description_is_emailed_to_guests_with_the_new_words(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id)
    await edit(client, created, title="Parents and teachers talk schools")
    await edit(
        client, created, description="We'll talk about the school budget vote.\nBring a friend."
    )
    renamed, described = await change_emails()
    assert renamed.payload["subject"] == "New title: Parents and teachers talk schools"
    assert (
        "I've changed the title for Parents and teachers talk schools"
        in renamed.payload["body_text"]
    )
    assert "It's now called “Parents and teachers talk schools”." in renamed.payload["body_text"]
    assert "What it's about now" not in renamed.payload["body_text"]
    assert described.payload["subject"] == "New description: Parents and teachers talk schools"
    assert (
        "What it's about now:\n  We'll talk about the school budget vote.\n  Bring a friend."
        in described.payload["body_text"]
    )
    assert (
        "We&#39;ll talk about the school budget vote.<br>Bring a friend."
        in (described.payload["body_html"])
    )
    meeting = await Meeting.get(id=created.meeting.id)
    assert meeting.sequence == created.meeting.sequence + 2  # calendars get the new words


async def test_tidying_the_title_or_description_emails_nobody(client: httpx.AsyncClient) -> None:
    created = await make_meeting(description="A living-room conversation about schools.")
    await rsvp(client, created.meeting.public_id)
    await edit(
        client,
        created,
        title="Neighbors Talk Schools!",
        description="A living room conversation   about schools",
    )
    assert await change_emails() == []
    meeting = await Meeting.get(id=created.meeting.id)
    assert (meeting.title, meeting.sequence) == (
        "Neighbors Talk Schools!",
        created.meeting.sequence,
    )
    await edit(client, created, title="Neighbors talk schools and parks")
    [email] = await change_emails()
    assert email.payload["subject"] == "New title: Neighbors talk schools and parks"


def manage_link_of(msg: EmailMessage) -> str:
    """The guest's own link, as the email's text and its invite's description both give it."""
    [event] = invite_of(msg).walk("VEVENT")
    [link] = re.findall(
        r"Change or cancel your RSVP: (http://testserver/rsvp/\S+)$", str(event["DESCRIPTION"])
    )
    assert link in msg.get_body(("plain",)).get_content()
    assert f'href="{link}"' in msg.get_body(("html",)).get_content()
    return link.removeprefix("http://testserver")


async def test_a_promoted_guest_can_change_or_cancel_from_the_invite(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    created = await make_meeting(capacity=1)
    mid = created.meeting.public_id
    await rsvp(client, mid)
    await rsvp(client, mid, email="bo@example.org", name="Bo Lindqvist")
    page = await rsvp_link("ada@example.org")
    await client.post(f"{page}/cancel", data={"csrf_token": await csrf_from(client, page)})
    await deliver(settings, smtp_server, tmp_path)
    promoted = to(smtp_server, "bo@example.org")[-1]
    assert promoted["Subject"].startswith("A seat opened up")
    mine = await client.get(manage_link_of(promoted))
    assert mine.status_code == 200
    assert "Confirmed for 1 person" in mine.text and 'value="Bo Lindqvist"' in mine.text


async def test_a_changed_meetings_invite_carries_each_guests_own_link(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id)
    await rsvp(client, created.meeting.public_id, email="bo@example.org", name="Bo Lindqvist")
    await edit(client, created, title="Parents and teachers talk schools")
    await deliver(settings, smtp_server, tmp_path)
    for address, name in (("ada@example.org", "Ada Okafor"), ("bo@example.org", "Bo Lindqvist")):
        changed = to(smtp_server, address)[-1]
        assert changed["Subject"] == "New title: Parents and teachers talk schools"
        theirs = await client.get(manage_link_of(changed))
        assert theirs.status_code == 200 and f'value="{name}"' in theirs.text
