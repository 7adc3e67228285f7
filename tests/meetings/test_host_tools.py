"""The host's tools on the manage page: guest list, CSV, messages, invitations, share link,
and where RSVPs came from (share link, invitation, the printed flyer's QR code)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from kit.meetings import hosttools
from kit.meetings import service as meetings
from kit.meetings.hosttools import ref_code
from kit.store.models import Meeting, MeetingStatus, OutboxMessage, Person, Rsvp, RsvpSource
from kit.toolkit.spreadsheet import FORMULA_TRIGGERS
from tests.factories import SITE, csrf_from, make_meeting
from tests.toolkit.test_printables import qr_codes


async def rsvp(client: httpx.AsyncClient, mid: str, name: str, email: str, **extra: object) -> None:
    response = await client.post(
        f"/api/meetings/{mid}/rsvps", json={"name": name, "email": email, **extra}
    )
    assert response.status_code == 202, response.text


def hidden_fields(html: str) -> dict[str, str]:
    """What a browser sends back unseen with the RSVP form: the CSRF token, ref, source."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def guest_rows(response: httpx.Response) -> list[list[str]]:
    """The guests.csv rows as Excel reads them: UTF-8 because of the byte-order mark."""
    assert response.status_code == 200, response.text[:300]
    assert response.content.startswith(b"\xef\xbb\xbf")  # once, then the header
    text = response.content.decode("utf-8-sig")
    assert text.startswith('"name","email"')
    return list(csv.reader(io.StringIO(text)))


def guest_dicts(response: httpx.Response) -> list[dict[str, str]]:
    header, *rows = guest_rows(response)
    return [dict(zip(header, row, strict=True)) for row in rows]


async def manage_page(client: httpx.AsyncClient, created) -> tuple[str, str]:  # noqa: ANN001
    url = f"/manage/{created.meeting.public_id}?token={created.manage_token}"
    return url, await csrf_from(client, url)


async def test_guest_list_counts_and_csv(client: httpx.AsyncClient) -> None:
    created = await make_meeting(capacity=2)
    mid = created.meeting.public_id
    await rsvp(client, mid, "Ada Okafor", "ada@example.org", phone="+1 555 0101", consent=True)
    await rsvp(client, mid, "=HYPERLINK(evil)", "bo@example.org", guests=1)
    url, _ = await manage_page(client, created)
    page = (await client.get(url)).text
    assert "Ada Okafor" in page
    assert "1 of 10 RSVP goal" in page
    assert "2 on the waitlist" in page

    response = await client.get(f"/manage/{mid}/guests.csv?token={created.manage_token}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-store"
    rows = guest_dicts(response)
    assert [r["email"] for r in rows] == ["ada@example.org", "bo@example.org"]
    # Every column is guarded, phones too: "'" is how a spreadsheet is told "this is text".
    assert rows[0]["phone"] == "'+1 555 0101" and rows[0]["consent"] == "yes"
    assert rows[1]["status"] == "waitlisted" and rows[1]["party_size"] == "2"
    assert rows[1]["name"].startswith("'=")  # no formula injection into spreadsheets

    bearer = await client.get(
        f"/manage/{mid}/guests.csv", headers={"Authorization": f"Bearer {created.manage_token}"}
    )
    assert bearer.status_code == 200
    assert (await client.get(f"/manage/{mid}/guests.csv?token=wrong")).status_code == 404


async def test_guests_csv_runs_no_formula_from_any_column(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    mid = created.meeting.public_id
    name, email, phone = '=HYPERLINK("http://x","y")', "+1@x.org", "-1 212 555 0100"
    await rsvp(client, mid, name, email, phone=phone, note="@SUM(A1:A9)")
    await rsvp(client, mid, "Bo Lind", "-bo@x.org", note="-5 degrees, bring a coat")
    response = await client.get(f"/manage/{mid}/guests.csv?token={created.manage_token}")
    header, hostile, other = guest_rows(response)
    hostile_row = dict(zip(header, hostile, strict=True))
    assert (hostile_row["name"], hostile_row["email"], hostile_row["phone"]) == (
        "'" + name,
        "'" + email,
        "'" + phone,
    )
    assert hostile_row["note"] == "'@SUM(A1:A9)"
    assert dict(zip(header, other, strict=True))["email"] == "'-bo@x.org"
    for cell in hostile + other:
        assert not cell.startswith(FORMULA_TRIGGERS), cell


async def test_message_goes_to_confirmed_guests_as_the_host(client: httpx.AsyncClient) -> None:
    created = await make_meeting(capacity=1)
    mid = created.meeting.public_id
    await rsvp(client, mid, "Ada", "ada@example.org")
    await rsvp(client, mid, "Bo", "bo@example.org")
    url, csrf = await manage_page(client, created)
    response = await client.post(
        f"/manage/{mid}/message",
        data={
            "csrf_token": csrf,
            "token": created.manage_token,
            "subject": "Parking",
            "message": "Park on Elm.\nSee you!",
        },
    )
    assert response.status_code == 200
    assert "on its way to 1 guest" in response.text
    [sent] = await OutboxMessage.filter(kind="host_message")
    assert sent.recipient == "ada@example.org"
    assert sent.payload["subject"] == "Parking"
    assert sent.payload["sender_name"] == "Quinn via House Meeting Kit"
    assert "Park on Elm." in sent.payload["body_text"]


async def test_message_needs_words_and_is_rate_limited(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    mid = created.meeting.public_id
    await rsvp(client, mid, "Ada", "ada@example.org")
    _, csrf = await manage_page(client, created)
    form = {"csrf_token": csrf, "token": created.manage_token, "subject": "Hi", "message": ""}
    empty = await client.post(f"/manage/{mid}/message", data=form)
    assert empty.status_code == 422
    codes = [
        (await client.post(f"/manage/{mid}/message", data={**form, "message": "x"})).status_code
        for _ in range(6)
    ]
    assert codes == [200] * 5 + [429]


async def test_invitations_carry_the_hosts_referral_code(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    mid = created.meeting.public_id
    _, csrf = await manage_page(client, created)
    response = await client.post(
        f"/manage/{mid}/invite",
        data={
            "csrf_token": csrf,
            "token": created.manage_token,
            "emails": "kim@example.org, lee@example.org\nKIM@example.org",
            "note": "Come, it's at my place!",
        },
    )
    assert response.status_code == 200
    invitations = await OutboxMessage.filter(kind="invitation").order_by("recipient")
    assert [e.recipient for e in invitations] == ["kim@example.org", "lee@example.org"]
    body = invitations[0].payload["body_text"]
    assert "Come, it's at my place!" in body
    assert "417 Elm St" not in body
    link = re.search(r"http://testserver(/meetings/\S+?source=invitation)", body)
    assert link

    page = await client.get(link.group(1))
    csrf_guest = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    ref = re.search(r'name="ref" value="([^"]*)"', page.text).group(1)
    assert ref
    await client.post(
        f"/meetings/{mid}/rsvp",
        data={
            "csrf_token": csrf_guest,
            "name": "Kim",
            "email": "kim@example.org",
            "guests": "0",
            "ref": ref,
            "source": "invitation",
        },
    )
    kim = await Rsvp.get(person__email="kim@example.org")
    assert (kim.source, kim.ref) == (RsvpSource.INVITATION, ref)

    manage = (await client.get(f"/manage/{mid}?token={created.manage_token}")).text
    assert "invitation 1" in manage


HOSTILE_NOTE = (
    "Subject: Your account is suspended\r\n"
    '</blockquote><a href="https://evil.example/login">Verify your account</a>\r\n'
    "-- \r\n"
    "From the House Meeting Kit team: [claim your refund](https://evil.example/refund)\r\n"
    "www.evil.example, mailto:help@evil.example, Evil.Example/login, help@evil.example"
)


async def invite(
    client: httpx.AsyncClient,
    created,
    emails: str,
    note: str = "",  # noqa: ANN001
) -> httpx.Response:
    _, csrf = await manage_page(client, created)
    return await client.post(
        f"/manage/{created.meeting.public_id}/invite",
        data={"csrf_token": csrf, "token": created.manage_token, "emails": emails, "note": note},
    )


def hrefs(html: str) -> set[str]:
    return set(re.findall(r'href="([^"]*)"', html))


async def test_an_invitation_quotes_a_hostile_note_as_the_hosts_words(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting(description="Details at www.evil.example/more, see you!")
    assert (await invite(client, created, "kim@example.org", HOSTILE_NOTE)).status_code == 200
    [mail] = await OutboxMessage.filter(kind="invitation")
    assert mail.payload["subject"] == "Quinn invites you to Neighbors talk schools"
    text, html = mail.payload["body_text"], mail.payload["body_html"]
    assert "evil" not in text.lower() and "evil" not in html.lower()
    # In the text: the kit's words, then "Quinn wrote:" and every line of the note quoted.
    assert text.index("Quinn is hosting a house meeting") < text.index("Quinn wrote:")
    assert "> Subject: Your account is suspended\n" in text
    assert "> From the House Meeting Kit team: claim your refund\n" in text
    assert text.count("\n-- \n") == 1  # the note's "-- " is quoted: no second signature
    assert "> Details at [link removed], see you!" in text
    assert text.index("RSVP here") < text.index("\n-- \n")
    # In the HTML: the note escaped inside a quote, and no link but the kit's own.
    assert "&lt;/blockquote&gt;" in html and '<a href="https://evil' not in html
    [invite_url] = re.findall(r"http://testserver/meetings/\S+source=invitation", text)
    assert hrefs(html) == {
        invite_url.replace("&", "&amp;"),
        mail.payload["headers"]["List-Unsubscribe"][1:-1],
    }
    assert "The words quoted above are Quinn's, not House Meeting Kit's." in text


async def test_a_trusted_hosts_note_keeps_its_links_but_never_its_html(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    await Person.filter(email="quinn@example.org").update(trusted=True)
    note = 'Sign-up sheet: https://campaign.example/sheet <a href="https://x.example">x</a>'
    assert (await invite(client, created, "kim@example.org", note)).status_code == 200
    [mail] = await OutboxMessage.filter(kind="invitation")
    assert "> Sign-up sheet: https://campaign.example/sheet" in mail.payload["body_text"]
    assert "https://campaign.example/sheet" in mail.payload["body_html"]
    assert not any(
        "example/sheet" in h or "x.example" in h for h in hrefs(mail.payload["body_html"])
    )


async def test_invitations_are_capped_per_host_per_day(client: httpx.AsyncClient) -> None:
    created = await make_meeting()

    def addresses(count: int, start: int = 0) -> str:
        return "\n".join(f"friend{n}@example.net" for n in range(start, start + count))

    # A host who hasn't proven their mailbox (one from before the kit asked): 20 a day.
    await Person.filter(email="quinn@example.org").update(email_verified_at=None)
    assert (await invite(client, created, addresses(15))).status_code == 200
    over = await invite(client, created, addresses(10, 15), note="Kept note")
    assert over.status_code == 422
    assert "You can send 5 more invitations today (at most 20 a day); this list has 10." in (
        over.text.replace("&#39;", "'")
    )
    assert "Kept note" in over.text and "friend24@example.net" in over.text
    # Proven (they followed a link the kit emailed): 60 a day, across all their meetings.
    await Person.filter(email="quinn@example.org").update(email_verified_at=datetime.now(UTC))
    second = await make_meeting(title="Second living room")
    assert (await invite(client, second, addresses(45, 15))).status_code == 200
    full = await invite(client, second, addresses(1, 60))
    assert full.status_code == 422
    assert "sent 60 invitations in the last 24 hours" in full.text
    # A host a coordinator vouches for: 250 a day.
    await Person.filter(email="quinn@example.org").update(trusted=True)
    assert (await invite(client, second, addresses(50, 60))).status_code == 200
    assert await OutboxMessage.filter(kind="invitation").count() == 110

    # The window moves: a day later the host can invite again.
    meeting = await meetings.get_managed_meeting(second.meeting.public_id, second.manage_token)
    await Person.filter(email="quinn@example.org").update(trusted=False)
    meeting = await meetings.get_managed_meeting(second.meeting.public_id, second.manage_token)
    tomorrow = datetime.now(UTC) + timedelta(days=1, minutes=1)
    raw = {"emails": addresses(50, 200)}
    assert await hosttools.invite_friends(meeting, raw, site=SITE, now=tomorrow) == 50


async def test_no_invitations_until_the_meeting_is_published(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    for status, says in (
        (MeetingStatus.AWAITING, "confirm your email address"),
        (MeetingStatus.PENDING, "waiting for a coordinator's approval"),
        (MeetingStatus.CANCELLED, "This meeting is cancelled"),
    ):
        await Meeting.filter(id=created.meeting.id).update(status=status)
        refused = await invite(client, created, "kim@example.org", "Come!")
        assert refused.status_code == 409, status
        assert says in refused.text.replace("&#39;", "'")
    assert not await OutboxMessage.filter(kind="invitation").exists()


async def test_bad_invitation_list_is_refused_and_kept(client: httpx.AsyncClient) -> None:
    created = await make_meeting()
    mid = created.meeting.public_id
    _, csrf = await manage_page(client, created)
    response = await client.post(
        f"/manage/{mid}/invite",
        data={
            "csrf_token": csrf,
            "token": created.manage_token,
            "emails": "kim@example.org, nope",
            "note": "hi",
        },
    )
    assert response.status_code == 422
    assert "nope" in response.text
    assert await OutboxMessage.filter(kind="invitation").count() == 0


async def test_public_page_shows_the_rsvp_thermometer(client: httpx.AsyncClient) -> None:
    created = await make_meeting(rsvp_goal=10)
    await rsvp(client, created.meeting.public_id, "Ada", "ada@example.org", guests=2)
    page = (await client.get(f"/meetings/{created.meeting.public_id}")).text
    assert '<meter class="thermometer" min="0" max="10" value="3">' in page


async def test_rsvps_through_the_flyers_qr_code_count_as_the_flyer(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    mid = created.meeting.public_id
    await rsvp(client, mid, "Ada", "ada@example.org", source="share")  # the host's share link

    # A neighbor scans the QR code on the flyer and RSVPs on the page it opens.
    flyer = await client.get(f"/meetings/{mid}/flyer.pdf")
    [scanned] = qr_codes(flyer.content)
    assert scanned.startswith(f"http://testserver/meetings/{mid}?")
    page = await client.get(scanned.removeprefix("http://testserver"))
    carried = hidden_fields(page.text)
    assert carried["source"] == "flyer"
    assert carried["ref"] == ref_code(created.meeting, SITE.secret_key)
    response = await client.post(
        f"/meetings/{mid}/rsvp",
        data={**carried, "name": "Kim", "email": "kim@example.org", "guests": "0"},
    )
    assert response.status_code == 303
    kim = await Rsvp.get(person__email="kim@example.org")
    assert (kim.source, kim.ref) == (RsvpSource.FLYER, carried["ref"])

    manage = (await client.get(f"/manage/{mid}?token={created.manage_token}")).text
    assert "Where RSVPs came from: flyer 1, share 1" in manage
    rows = guest_dicts(await client.get(f"/manage/{mid}/guests.csv?token={created.manage_token}"))
    assert [(r["email"], r["source"]) for r in rows] == [
        ("ada@example.org", "share"),
        ("kim@example.org", "flyer"),
    ]


async def test_the_invitation_cap_counts_in_words_not_parentheses(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    await Person.filter(email="quinn@example.org").update(email_verified_at=None)
    many = "\n".join(f"friend{n}@example.net" for n in range(19))
    assert (await invite(client, created, many)).status_code == 200
    over = await invite(client, created, "kim@example.org\nlee@example.org")
    assert over.status_code == 422
    said = over.text.replace("&#39;", "'")
    assert "You can send 1 more invitation today (at most 20 a day); this list has 2." in said
    assert "(s)" not in said


async def test_guests_csv_opens_in_excel_with_times_on_the_meetings_clock(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()  # New York: Eastern Time
    mid = created.meeting.public_id
    await rsvp(client, mid, "Zoë Ærø", "zoe@example.org")
    [row] = guest_dicts(await client.get(f"/manage/{mid}/guests.csv?token={created.manage_token}"))
    assert row["name"] == "Zoë Ærø"  # not "ZoÃ«": Excel reads UTF-8 when the BOM says so
    made = (await Rsvp.get(person__email="zoe@example.org")).created_at
    eastern = made.astimezone(ZoneInfo("America/New_York"))
    assert row["rsvp_at"] == eastern.strftime("%Y-%m-%d %H:%M")
    assert row["rsvp_at_utc"] == made.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    assert row["rsvp_at"] != row["rsvp_at_utc"] and row["timezone"] == "America/New_York"
