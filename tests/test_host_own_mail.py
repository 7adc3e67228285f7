"""No email "from Quinn" to Quinn: mail to the host is from the kit, and a host on their own
guest list hears from the kit too, while guests still hear from the host."""

from __future__ import annotations

import httpx

from kit.models import OutboxEmail
from tests.factories import csrf_from, make_meeting

KIT = "House Meeting Kit"
HOST = "quinn@example.org"


async def rsvp(client: httpx.AsyncClient, public_id: str, name: str, email: str) -> None:
    response = await client.post(
        f"/api/meetings/{public_id}/rsvps", json={"name": name, "email": email}
    )
    assert response.status_code == 202, response.text


async def newest(kind: str, to: str) -> OutboxEmail:
    row = await OutboxEmail.filter(kind=kind, to_addr=to).order_by("-id").first()
    assert row, f"no {kind} email to {to}"
    return row


async def test_the_host_hears_about_a_new_rsvp_from_the_kit(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id, "Ada Okafor", "ada@example.org")
    assert (await newest("host_new_rsvp", HOST)).sender_name == KIT
    assert (await newest("rsvp_confirmed", "ada@example.org")).sender_name == "Quinn via " + KIT


async def test_a_host_on_their_own_guest_list_is_not_welcomed_by_themselves(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id, "Quinn Doe", HOST)
    welcome = await newest("rsvp_confirmed", HOST)
    assert welcome.sender_name == KIT
    assert "You're on your own guest list" in welcome.body_text
    assert "I'm so glad you're coming" not in welcome.body_text
    assert "See you soon,\nQuinn" not in welcome.body_text
    assert "You're on your own guest list" in welcome.body_html
    assert not await OutboxEmail.filter(kind="host_new_rsvp").exists()


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
    assert to_ada.sender_name == "Quinn via " + KIT
    assert "Hi Ada," in to_ada.body_text and "Park on Oak St, please.\n\nQuinn" in to_ada.body_text
    own = await newest("host_message", HOST)
    assert own.sender_name == KIT
    assert "Hi Quinn," not in own.body_text
    assert "Here's your copy, as they got it:" in own.body_text
    assert "Park on Oak St, please.\n\nHouse Meeting Kit" in own.body_text
    assert "Here's your copy" in own.body_html and "Hi Quinn" not in own.body_html
