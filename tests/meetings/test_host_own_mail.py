"""No email "from Quinn" to Quinn: mail to the host is from the kit, and a host on their own
guest list hears from the kit too, while guests still hear from the host."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx

from kit.core.settings import Settings
from kit.jobs.schedule import queue_reminders
from kit.meetings import rsvps
from kit.outbox.delivery import deliver_due
from kit.outbox.email import EmailSender
from kit.store.models import OutboxMessage, Rsvp
from kit.toolkit.mail import Transport
from tests.factories import CreatedMeeting, csrf_from, make_meeting, rsvp_link
from tests.smtp import SmtpServer

KIT = "House Meeting Kit"
HOST = "quinn@example.org"


async def rsvp(client: httpx.AsyncClient, public_id: str, name: str, email: str) -> None:
    response = await client.post(
        f"/api/meetings/{public_id}/rsvps", json={"name": name, "email": email}
    )
    assert response.status_code == 202, response.text


async def newest(kind: str, to: str) -> OutboxMessage:
    row = await OutboxMessage.filter(kind=kind, recipient=to).order_by("-id").first()
    assert row, f"no {kind} email to {to}"
    return row


async def test_the_host_hears_about_a_new_rsvp_from_the_kit(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id, "Ada Okafor", "ada@example.org")
    assert (await newest("host_new_rsvp", HOST)).payload["sender_name"] == KIT
    assert (await newest("rsvp_confirmed", "ada@example.org")).payload[
        "sender_name"
    ] == "Quinn via " + KIT


async def test_a_host_on_their_own_guest_list_is_not_welcomed_by_themselves(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id, "Quinn Doe", HOST)
    welcome = await newest("rsvp_confirmed", HOST)
    assert welcome.payload["sender_name"] == KIT
    assert "You're on your own guest list" in welcome.payload["body_text"]
    assert "I'm so glad you're coming" not in welcome.payload["body_text"]
    assert "See you soon,\nQuinn" not in welcome.payload["body_text"]
    assert "You're on your own guest list" in welcome.payload["body_html"]
    assert not await OutboxMessage.filter(kind="host_new_rsvp").exists()


async def test_the_hosts_copy_of_a_message_to_guests_is_from_the_kit(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    public_id = created.meeting.public_id
    await rsvp(client, public_id, "Ada Okafor", "ada@example.org")
    await rsvp(client, public_id, "Quinn Doe", HOST)
    path = f"/manage/{public_id}?token={created.manage_token}"
    sent = await client.post(
        f"/manage/{public_id}/message",
        data={
            "csrf_token": await csrf_from(client, path),
            "token": created.manage_token,
            "subject": "Parking",
            "message": "Park on Oak St, please.",
        },
    )
    assert "Your message is on its way to 2 guests." in sent.text
    to_ada = await newest("host_message", "ada@example.org")
    assert to_ada.payload["sender_name"] == "Quinn via " + KIT
    assert (
        "Hi Ada," in to_ada.payload["body_text"]
        and "Park on Oak St, please.\n\nQuinn" in to_ada.payload["body_text"]
    )
    own = await newest("host_message", HOST)
    assert own.payload["sender_name"] == KIT
    assert "Hi Quinn," not in own.payload["body_text"]
    assert "Here's your copy, as they got it:" in own.payload["body_text"]
    assert "Park on Oak St, please.\n\nHouse Meeting Kit" in own.payload["body_text"]
    assert (
        "Here's your copy" in own.payload["body_html"]
        and "Hi Quinn" not in own.payload["body_html"]
    )


async def delivered_to(
    address: str, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> dict[str, EmailMessage]:
    """Send what is queued through the real SMTP server; the newest email of each subject
    that reached ``address``."""
    await deliver_due(
        [EmailSender(Transport(smtp_server.url, tmp_path), settings.mail_from)],
        lease=timedelta(seconds=30),
    )
    return {str(m["Subject"]): m for m in smtp_server.messages if m["To"] == address}


def newest_subject(mails: dict[str, EmailMessage], start: str) -> EmailMessage:
    [msg] = [m for subject, m in mails.items() if subject.startswith(start)]
    return msg


def assert_from_the_kit(msg: EmailMessage) -> None:
    """From the kit, with no Reply-To back to the host, and not in the host's voice."""
    assert msg["From"].addresses[0].display_name == KIT, msg["Subject"]
    assert msg["Reply-To"] is None, msg["Subject"]
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    letter = text.split("\n-- \n")[0].rstrip()
    assert letter.endswith(KIT), letter  # signed by the kit, not "Quinn"
    for voice in ("I've", "I'm", "my home", "Thanks for letting me know", "See you"):
        assert voice not in letter, (msg["Subject"], voice)
    html = msg.get_body(("html",)).get_content()
    assert "<br>Quinn</p>" not in html and "I've" not in html and "I'm" not in html


async def cancel_rsvp(client: httpx.AsyncClient, email: str) -> None:
    page = await rsvp_link(email)
    cancelled = await client.post(
        f"{page}/cancel", data={"csrf_token": await csrf_from(client, page)}
    )
    assert cancelled.status_code == 200, cancelled.text


async def as_host(
    client: httpx.AsyncClient, created: CreatedMeeting, path: str = "", **body: object
) -> None:
    """The host's API: PATCH the meeting with ``body``, or POST to ``path`` (``/cancel``)."""
    auth = {"Authorization": f"Bearer {created.manage_token}"}
    url = f"/api/meetings/{created.meeting.public_id}{path}"
    if path:
        response = await client.post(url, headers=auth)
    else:
        response = await client.patch(url, json=body, headers=auth)
    assert response.status_code == 200, response.text


async def test_a_host_on_their_own_guest_list_gets_every_guest_email_from_the_kit(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    created = await make_meeting(capacity=1, reply_to_host=True)
    public_id = created.meeting.public_id
    await rsvp(client, public_id, "Ada Okafor", "ada@example.org")
    await rsvp(client, public_id, "Quinn Doe", HOST)  # the meeting is full: waitlisted
    await cancel_rsvp(client, "ada@example.org")  # Quinn is promoted
    await as_host(client, created, title="Parents and teachers talk schools")
    assert await queue_reminders(settings, now=created.meeting.starts_at - timedelta(hours=2))
    await as_host(client, created, "/cancel")

    to_quinn = await delivered_to(HOST, settings, smtp_server, tmp_path)
    promoted = newest_subject(to_quinn, "A seat opened up: you're in")
    assert "off the waitlist of your own meeting" in promoted.get_body(("plain",)).get_content()
    changed = newest_subject(to_quinn, "New title: Parents and teachers talk schools")
    assert "You changed the title" in changed.get_body(("plain",)).get_content()
    reminder = newest_subject(to_quinn, "Tomorrow at")
    assert "your meeting is tomorrow" in reminder.get_body(("plain",)).get_content()
    cancelled = newest_subject(to_quinn, "Cancelled:")
    assert "You cancelled" in cancelled.get_body(("plain",)).get_content()
    for msg in (promoted, changed, reminder, cancelled):
        assert_from_the_kit(msg)
    # Ada, a guest, still hears from Quinn, who may be answered.
    to_ada = newest_subject(
        await delivered_to("ada@example.org", settings, smtp_server, tmp_path), "You're in"
    )
    assert to_ada["From"].addresses[0].display_name == "Quinn via " + KIT
    assert to_ada["Reply-To"] == HOST


async def test_a_host_who_cancels_their_own_rsvp_is_not_thanked_by_themselves(
    client: httpx.AsyncClient, settings: Settings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    created = await make_meeting(reply_to_host=True)
    await rsvp(client, created.meeting.public_id, "Quinn Doe", HOST)
    await cancel_rsvp(client, HOST)
    to_quinn = await delivered_to(HOST, settings, smtp_server, tmp_path)
    assert_from_the_kit(newest_subject(to_quinn, "You're in: Neighbors talk schools"))
    cancelled = newest_subject(to_quinn, "RSVP cancelled: Neighbors talk schools")
    assert_from_the_kit(cancelled)
    assert "Your seat is free for a guest" in cancelled.get_body(("plain",)).get_content()
    assert not await OutboxMessage.filter(kind="host_guest_cancelled").exists()


async def test_a_host_waitlisted_asked_or_taken_off_their_own_list_hears_from_the_kit(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    full = await make_meeting(capacity=1)
    await rsvp(client, full.meeting.public_id, "Ada Okafor", "ada@example.org")
    await rsvp(client, full.meeting.public_id, "Quinn Doe", HOST)  # full: waitlisted
    await rsvp(client, full.meeting.public_id, "Quinn Doe", HOST)  # again: a fresh link
    asked = await make_meeting(approve_guests=True, title="Quinn asks each guest")
    await rsvp(client, asked.meeting.public_id, "Quinn Doe", HOST)
    own = await Rsvp.get(meeting_id=asked.meeting.id, person__email=HOST)
    await rsvps.cancel_rsvp(own, site=settings, by_host=True)  # the host takes themselves off
    for kind, says in [
        ("rsvp_waitlisted", "so you're on the waitlist"),
        ("rsvp_again", "You already have an RSVP for it"),
        ("rsvp_requested", "your own RSVP waits too"),
        ("rsvp_removed", "You took yourself off the guest list"),
    ]:
        email = await newest(kind, HOST)
        assert email.payload["sender_name"] == KIT, kind
        assert says in email.payload["body_text"] and says in email.payload["body_html"], kind
        for host_voice in ("\nQuinn\n", "Quinn</p>", "I welcome each guest", "I'm sorry"):
            assert host_voice not in email.payload["body_text"] + email.payload["body_html"], (
                kind,
                host_voice,
            )
