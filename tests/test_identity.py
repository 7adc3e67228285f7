"""Identity is proven, never claimed: typing someone's email address acts as nobody.

Each test here is an attack that worked before (issue #12) or the promise that stops it:
a form's answer never carries a link to someone's RSVP, nothing typed changes a stored
person, private pages are reached only from links sent to the mailbox, and a new host
proves their address before anything of theirs is public.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from kit.meetings.rsvps import ADDRESS_MARGIN
from kit.store.models import (
    AccessToken,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Person,
    Rsvp,
    RsvpStatus,
    TokenKind,
)
from tests.factories import (
    as_form,
    confirm_emailed_meeting,
    csrf_from,
    emailed_link,
    make_meeting,
    meeting_body,
    rsvp_link,
)

VICTIM = {"name": "Ada Okafor", "email": "ada@example.org", "phone": "+1 212 555 0111"}


async def rsvp(client: httpx.AsyncClient, meeting_id: str, **body: object) -> httpx.Response:
    return await client.post(f"/api/meetings/{meeting_id}/rsvps", json={**VICTIM, **body})


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, **data: str
) -> httpx.Response:
    return await client.post(action, data={"csrf_token": await csrf_from(client, page), **data})


# --- RSVPs: no link in any answer, no oracle, nothing overwritten -----------------------


async def test_an_rsvp_answer_never_carries_a_link_and_is_the_same_for_a_known_address(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    mid = created.meeting.public_id
    victim = await rsvp(client, mid, consent=False)
    attacker = await rsvp(client, mid, name="Evil", phone="+1 212 555 0666", consent=True)
    newcomer = await rsvp(client, mid, name="Bo", email="bo@example.org")

    assert victim.status_code == attacker.status_code == newcomer.status_code == 202
    assert victim.json() == attacker.json()
    assert newcomer.json()["status"] == victim.json()["status"] == "confirmed"
    for answer in (victim, attacker, newcomer):
        assert "/rsvp/" not in answer.text and "token" not in answer.text

    stored = await Rsvp.get(person__email="ada@example.org").select_related("person")
    assert (stored.person.name, stored.person.phone) == ("Ada Okafor", "+1 212 555 0111")
    assert stored.consent is False and stored.guests == 0
    # The owner of the mailbox, and only they, get a link to their own RSVP.
    again = await OutboxMessage.get(kind="rsvp_again")
    assert (
        again.recipient == "ada@example.org"
        and "http://testserver/rsvp/" in again.payload["body_text"]
    )


async def test_repeated_rsvps_with_one_address_send_one_reminder_email_per_half_hour(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    for _ in range(6):
        assert (await rsvp(client, created.meeting.public_id)).status_code == 202
    assert await OutboxMessage.filter(kind="rsvp_again").count() == 1


async def test_the_thank_you_page_shows_public_facts_only(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    page = f"/meetings/{created.meeting.public_id}"
    form = {"name": "Ada", "email": "ada@example.org", "guests": "0"}
    answer = await post_form(client, page, f"{page}/rsvp", **form)
    thanks = await client.get(answer.headers["location"])
    assert thanks.status_code == 200
    assert "We've emailed your details to" in thanks.text
    for private in ("417 Elm St", "ring the blue door", "/rsvp/", "quinn@example.org"):
        assert private not in thanks.text
    # Another browser asking for the same page learns nothing: it just sees the meeting.
    async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as other:
        elsewhere = await other.get(f"{page}/thanks")
    assert elsewhere.status_code == 303 and elsewhere.headers["location"] == page


async def test_a_cancelled_rsvp_made_again_keeps_the_stored_consent(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id, consent=False)
    page = await rsvp_link()
    await post_form(client, page, f"{page}/cancel")
    again = await rsvp(client, created.meeting.public_id, consent=True, guests=1)
    assert again.json()["status"] == "confirmed"
    stored = await Rsvp.get(person__email="ada@example.org")
    assert stored.status is RsvpStatus.CONFIRMED and stored.guests == 1
    assert stored.consent is False


async def test_the_guest_changes_name_phone_note_and_consent_from_the_emailed_page(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id)
    page = await rsvp_link()
    changed = await post_form(
        client,
        page,
        page,
        guests="1",
        name="Ada O.",
        phone="+1 212 555 0199",
        note="I'll bring tea",
        consent="1",
    )
    assert changed.status_code == 200 and "Your RSVP is updated." in changed.text
    stored = await Rsvp.get(person__email="ada@example.org").select_related("person")
    assert (stored.person.name, stored.person.phone) == ("Ada O.", "+1 212 555 0199")
    assert (stored.guests, stored.note, stored.consent) == (1, "I'll bring tea", True)
    assert (await Meeting.get(id=created.meeting.id)).seats_taken == 2

    refused = await post_form(client, page, page, name="", guests="1")
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text


async def test_a_new_calendar_link_leaves_the_others_working_until_switched_off(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    await rsvp(client, created.meeting.public_id)
    page = await rsvp_link()
    links = []
    for _ in range(2):
        answer = await post_form(client, page, f"{page}/feed")
        [url] = re.findall(r'href="webcal://testserver(/feeds/[^"]+\.ics)"', answer.text)
        links.append(url)
    for url in links:
        assert (await client.get(url)).status_code == 200
    off = await post_form(client, page, f"{page}/feed/revoke")
    assert "2 calendar links switched off" in off.text
    for url in links:
        assert (await client.get(url)).status_code == 404


# --- The exact address ---------------------------------------------------------------


async def test_the_address_goes_out_a_bounded_number_of_times_a_day(
    client: httpx.AsyncClient, app: object
) -> None:
    created = await make_meeting(capacity=2, waitlist=False)
    mid = created.meeting.public_id
    budget = 2 + ADDRESS_MARGIN  # capacity + waitlist (none) + margin
    for n in range(budget):
        email = f"g{n}@example.org"
        # A script with many mailboxes and many addresses: past every per-client limit.
        transport = httpx.ASGITransport(app=app, client=(f"10.0.0.{n}", 4000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as one:
            assert (await rsvp(one, mid, email=email, name=f"G {n}")).status_code == 202
        page = await rsvp_link(email)
        await post_form(client, page, f"{page}/cancel")
    confirmations = await OutboxMessage.filter(kind="rsvp_confirmed")
    revealed = [m for m in confirmations if "417 Elm St" in m.payload["body_text"]]
    assert len(revealed) == budget

    late = await rsvp(client, mid, email="late@example.org", name="Late")
    assert late.json()["status"] == "confirmed"
    mail = await OutboxMessage.get(kind="rsvp_confirmed", recipient="late@example.org")
    assert (
        "417 Elm St" not in mail.payload["body_text"]
        and "ring the blue door" not in mail.payload["body_text"]
    )
    assert "417 Elm St" not in mail.payload["attachments"][0]["text"]
    guest_page = await client.get(await rsvp_link("late@example.org"))
    assert (
        "417 Elm St" not in guest_page.text and "will send you the exact address" in guest_page.text
    )


# --- The host's say over the guest list -------------------------------------------------


async def test_a_host_who_approves_guests_decides_before_the_address_goes_out(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting(capacity=3, approve_guests=True)
    mid = created.meeting.public_id
    asked = await rsvp(client, mid)
    assert asked.json()["status"] == "requested"
    assert (await Meeting.get(id=created.meeting.id)).seats_taken == 0
    request_mail = await OutboxMessage.get(kind="rsvp_requested", recipient="ada@example.org")
    assert "417 Elm St" not in request_mail.payload["body_text"]
    assert await OutboxMessage.filter(kind="host_new_rsvp", recipient="quinn@example.org").exists()
    await rsvp(client, mid, name="Bo", email="bo@example.org")

    manage = f"/manage/{mid}?token={created.manage_token}"
    page = (await client.get(manage)).text
    assert page.count("/guests/approve") == 2 and "asks to come" in page
    refs = list(dict.fromkeys(re.findall(r'name="guest" value="([^"]+)"', page)))
    welcome = await post_form(
        client, manage, f"/manage/{mid}/guests/approve", token=created.manage_token, guest=refs[0]
    )
    assert welcome.status_code == 200 and "Ada is welcome" in welcome.text
    declined = await post_form(
        client, manage, f"/manage/{mid}/guests/decline", token=created.manage_token, guest=refs[1]
    )
    assert "declined" in declined.text

    ada = await Rsvp.get(person__email="ada@example.org")
    bo = await Rsvp.get(person__email="bo@example.org")
    assert (ada.status, bo.status) == (RsvpStatus.CONFIRMED, RsvpStatus.CANCELLED)
    assert (await Meeting.get(id=created.meeting.id)).seats_taken == 1
    confirmed = await OutboxMessage.get(kind="rsvp_confirmed", recipient="ada@example.org")
    assert "417 Elm St" in confirmed.payload["body_text"]
    sorry = await OutboxMessage.get(kind="rsvp_removed", recipient="bo@example.org")
    assert (
        "417 Elm St" not in sorry.payload["body_text"]
        and "can't welcome you" in sorry.payload["body_text"]
    )


async def test_a_host_removes_a_guest_the_seat_goes_to_the_waitlist_and_the_guest_is_told(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting(capacity=1)
    mid = created.meeting.public_id
    await rsvp(client, mid)
    await rsvp(client, mid, name="Bo", email="bo@example.org")
    manage = f"/manage/{mid}?token={created.manage_token}"
    page = (await client.get(manage)).text
    first_ref = re.findall(r'name="guest" value="([^"]+)"', page)[0]
    removed = await post_form(
        client, manage, f"/manage/{mid}/guests/remove", token=created.manage_token, guest=first_ref
    )
    assert removed.status_code == 200 and "Ada is off the guest list" in removed.text
    statuses = {r.person.email: r.status for r in await Rsvp.all().select_related("person")}
    assert statuses == {
        "ada@example.org": RsvpStatus.CANCELLED,
        "bo@example.org": RsvpStatus.CONFIRMED,
    }
    note = await OutboxMessage.get(kind="rsvp_removed", recipient="ada@example.org")
    assert "I'm sorry" in note.payload["subject"] + note.payload["body_text"]
    assert "method=CANCEL" in note.payload["attachments"][0]["content_type"]
    assert await OutboxMessage.filter(kind="rsvp_promoted", recipient="bo@example.org").exists()

    wrong = await post_form(
        client, manage, f"/manage/{mid}/guests/remove", token=created.manage_token, guest="nope"
    )
    assert wrong.status_code == 404


# --- Hosts prove their address before anything is public --------------------------------


async def test_a_new_hosts_meeting_waits_for_the_emailed_link(client: httpx.AsyncClient) -> None:
    body = meeting_body()
    answer = await post_form(client, "/host", "/host", **as_form(body))
    assert answer.status_code == 303
    manage = answer.headers["location"]
    meeting = await Meeting.get(title=body["title"])
    assert meeting.status is MeetingStatus.AWAITING

    page = (await client.get(manage)).text
    assert "Confirm your email to publish" in page and "Send the email again" in page
    for shareable in ("Invite people", "packet.pdf", "flyer.pdf", "?source=share"):
        assert shareable not in page
    mid = meeting.public_id
    assert (await client.get(f"/meetings/{mid}")).status_code == 404
    assert (await client.get(f"/meetings/{mid}/flyer.pdf")).status_code == 404
    token = manage.split("token=")[1].split("&")[0]
    for pdf in ("flyer", "packet"):  # not even for the host: its QR codes would lead nowhere
        printed = await client.get(f"/meetings/{mid}/{pdf}.pdf", params={"token": token})
        assert printed.status_code == 409 and "confirm your email" in printed.text
    assert (await rsvp(client, mid)).status_code == 404
    search = await client.get("/api/meetings", params={"near": "10027"})
    assert mid not in search.text

    confirm = await emailed_link("quinn@example.org", "/hosts/confirm/", kind="host_confirm")
    looked = await client.get(confirm)  # a mail scanner fetching the link publishes nothing
    assert looked.status_code == 200 and "Publish" in looked.text
    assert (await Meeting.get(id=meeting.id)).status is MeetingStatus.AWAITING

    landed = await confirm_emailed_meeting(client, "quinn@example.org")
    assert (await Meeting.get(id=meeting.id)).status is MeetingStatus.PUBLISHED
    assert (await Person.get(email="quinn@example.org")).email_verified_at is not None
    assert (await client.get(f"/meetings/{mid}")).status_code == 200
    assert (await client.get(landed)).status_code == 200
    # The link handed out before the proof (maybe to someone else) is switched off.
    assert (await client.get(manage)).status_code == 404
    assert await OutboxMessage.filter(
        kind="meeting_created", recipient="quinn@example.org"
    ).exists()
    # The confirmation link is used up.
    assert (await client.get(confirm)).status_code == 404

    # This browser proved the address: its next meeting goes live at once.
    again = await post_form(client, "/host", "/host", **as_form(meeting_body(title="Second")))
    assert (await Meeting.get(title="Second")).status is MeetingStatus.PUBLISHED
    assert "token=" in again.headers["location"]


async def test_someone_else_typing_a_proven_hosts_address_proves_nothing(
    client: httpx.AsyncClient, app: object
) -> None:
    await make_meeting()  # Quinn proved the address in their own browser
    host = await Person.get(email="quinn@example.org")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as attacker:
        body = meeting_body(title="Fake", host={"name": "Evil", "email": "Quinn@example.org"})
        answer = await post_form(attacker, "/host", "/host", **as_form(body))
        assert answer.status_code == 303
        fake = await Meeting.get(title="Fake")
        assert fake.status is MeetingStatus.AWAITING
        # The manage form of that waiting meeting can't rename the real host either.
        manage = answer.headers["location"]
        token = manage.split("token=")[1].split("&")[0]
        form = {**as_form(meeting_body(title="Fake", host={"name": "Evil Again"})), "token": token}
        form.pop("host.email")
        changed = await post_form(attacker, manage, f"/manage/{fake.public_id}", **form)
        assert changed.status_code == 200
    after = await Person.get(id=host.id)
    assert (after.name, after.phone) == (host.name, host.phone) == ("Quinn Doe", "+1 212 555 0100")


async def test_the_api_publishes_a_new_hosts_meeting_only_after_the_emailed_link(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/api/meetings", json=meeting_body())
    assert answer.status_code == 201
    body = answer.json()
    assert body["status"] == "awaiting" and "emailed" in body["message"]
    assert (await client.get(f"/api/meetings/{body['id']}")).status_code == 404
    await confirm_emailed_meeting(client, "quinn@example.org")
    assert (await client.get(f"/api/meetings/{body['id']}")).status_code == 200


async def test_resending_the_confirmation_is_limited(client: httpx.AsyncClient) -> None:
    created = await make_meeting(proven=False)
    manage = f"/manage/{created.meeting.public_id}?token={created.manage_token}"
    action = f"/manage/{created.meeting.public_id}/resend"
    answers = [
        (await post_form(client, manage, action, token=created.manage_token)).text for _ in range(4)
    ]
    assert all("again" in a for a in answers[:3]) and "several times" in answers[3]
    assert await OutboxMessage.filter(kind="host_confirm").count() == 1 + 3


async def test_an_expired_confirmation_link_publishes_nothing(client: httpx.AsyncClient) -> None:
    created = await make_meeting(proven=False)
    path = await emailed_link("quinn@example.org", "/hosts/confirm/", kind="host_confirm")
    await AccessToken.filter(kind=TokenKind.HOST_CONFIRM).update(
        expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    page = await client.get(path)
    assert page.status_code == 404 and "expired" in page.text
    assert (await Meeting.get(id=created.meeting.id)).status is MeetingStatus.AWAITING


# --- Manage links: asking for new ones revokes nothing; switching off is explicit --------


async def test_asking_for_fresh_links_keeps_the_printed_ones_working(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    old = f"/manage/{created.meeting.public_id}?token={created.manage_token}"
    for _ in range(3):
        sent = await post_form(
            client, "/manage/recover", "/manage/recover", email="quinn@example.org"
        )
        assert sent.status_code == 200 and "keep working" in sent.text
    assert (await client.get(old)).status_code == 200
    limited = await post_form(
        client, "/manage/recover", "/manage/recover", email="quinn@example.org"
    )
    assert limited.status_code == 429 and "try again in an hour" in limited.text
    assert await OutboxMessage.filter(kind="manage_links").count() == 3
    # Another address from the same client is limited per client too.
    for n in range(2):
        await post_form(client, "/manage/recover", "/manage/recover", email=f"x{n}@example.org")
    blocked = await post_form(client, "/manage/recover", "/manage/recover", email="y@example.org")
    assert blocked.status_code == 429


async def test_switching_off_old_links_is_an_explicit_action_on_the_manage_page(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    mid = created.meeting.public_id
    old = f"/manage/{mid}?token={created.manage_token}"
    done = await post_form(client, old, f"/manage/{mid}/relink", token=created.manage_token)
    assert done.status_code == 200 and "switched off" in done.text
    assert (await client.get(old)).status_code == 404
    new = await emailed_link("quinn@example.org", f"/manage/{mid}?token=", kind="manage_links")
    assert (await client.get(new)).status_code == 200
    assert new.split("token=")[1] in done.text


# --- Repeated submissions --------------------------------------------------------------


async def test_the_same_host_form_sent_twice_makes_one_meeting_and_tells_nobody_else(
    client: httpx.AsyncClient,
) -> None:
    await make_meeting()  # a meeting with the same host, title and time already exists
    page = (await client.get("/host")).text
    [submission] = re.findall(r'name="submission" value="([^"]+)"', page)
    form = {**as_form(meeting_body()), "submission": submission}
    first = await post_form(client, "/host", "/host", **form)
    second = await post_form(client, "/host", "/host", **form)
    assert first.status_code == second.status_code == 303
    assert await Meeting.all().count() == 2  # the older one, and this form's one
    mine = first.headers["location"].split("?")[0]
    assert second.headers["location"].split("?")[0] == mine
    assert (await client.get(second.headers["location"])).status_code == 200

    api = [
        await client.post("/api/meetings", json=meeting_body(), headers={"Idempotency-Key": "k1"})
        for _ in range(2)
    ]
    assert api[0].status_code == api[1].status_code == 201
    assert api[0].json()["id"] == api[1].json()["id"]
    assert set(api[0].json()) == set(api[1].json())
    assert "duplicate" not in api[1].text
    assert await Meeting.all().count() == 3


# --- Referral codes ----------------------------------------------------------------------


async def test_only_referral_codes_the_kit_issued_are_kept(client: httpx.AsyncClient) -> None:
    from kit.meetings.hosttools import ref_code
    from tests.factories import SITE

    created = await make_meeting()
    real = ref_code(created.meeting, SITE.secret_key)
    await rsvp(client, created.meeting.public_id, ref=real, email="a@example.org")
    await rsvp(client, created.meeting.public_id, ref="made-up", email="b@example.org")
    refs = dict(await Rsvp.all().select_related("person").values_list("person__email", "ref"))
    assert refs == {"a@example.org": real, "b@example.org": ""}


async def test_inviting_friends_before_confirming_says_why(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting(proven=False)
    manage = f"/manage/{created.meeting.public_id}?token={created.manage_token}"
    refused = await post_form(
        client,
        manage,
        f"/manage/{created.meeting.public_id}/invite",
        token=created.manage_token,
        emails="kim@example.org",
        note="Come over!",
    )
    assert refused.status_code == 409
    assert "confirm" in refused.text and "Confirm your email to publish" in refused.text
    assert not await OutboxMessage.filter(kind="invitation").exists()
