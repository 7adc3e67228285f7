"""Hostile input on the HTML forms: what a person (or a bot) sees when they type it.

For every bad value: a 4xx with the message beside the field, what was typed still
in the form, nothing half-saved (rows counted before and after), nothing rendered
as markup, and never a 500. Markup and odd Unicode that are fine as text are kept
exactly and shown escaped. Run on SQLite and PostgreSQL (which refuses NUL bytes).
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from markupsafe import escape

from kit.store.models import Meeting, Rsvp
from tests.factories import (
    as_form,
    confirm_emailed_meeting,
    csrf_from,
    emailed_link,
    local,
    make_meeting,
    meeting_body,
    rsvp_link,
)

SCRIPT = '<script>alert("x")</script><b onmouseover=alert(1)>bold</b>'
ODD_UNICODE = {
    "RTL override": "Talk \u202eabc\u202c night",
    "zero-width joiner emoji": "Family \U0001f468\u200d\U0001f469\u200d\U0001f467 night",
    "combining marks": "Cafe\u0301 Zo\u0308e",
    "emoji": "Soup \U0001f372 and talk",
}


def assert_no_markup_from_input(page: str) -> None:
    assert "<script>alert" not in page
    assert "<b onmouseover" not in page


def field_error(page: str, name: str) -> str:
    """The inline message tied to a field (see _macros.html)."""
    field_id = "field-" + name.replace(".", "-")
    match = re.search(rf'id="{field_id}-error">(.*?)</p>', page, re.S)
    assert match, f"no inline error for {name}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


async def host_form(client: httpx.AsyncClient, **overrides: Any) -> dict[str, str]:
    form = as_form(meeting_body(**overrides))
    form["csrf_token"] = await csrf_from(client, "/host")
    return form


# --- The host form: every kind of bad value, one row each ---------------------------

HOST_FORM_BAD_VALUES = [
    ("title", "x" * 141, "too long"),
    ("title", "Soup\x00night", "can't store"),
    ("description", "y" * 5001, "too long"),
    ("host.name", "", "enter your name"),
    ("host.email", "quinn at example", "look like an email"),
    ("host.phone", "call me maybe", "digits"),
    ("capacity", "twelve", "whole number"),
    ("capacity", "-3", "between 1 and 500"),
    ("capacity", "99999999999999999999999", "between 1 and 500"),
    ("rsvp_goal", "1e3", "whole number"),
    ("starts_at", "2026-02-30T18:30", "date and time like"),
    ("starts_at", "next tuesday", "date and time like"),
    ("starts_at", local(-3, 18), "in the past"),
    ("address.country", "Narnia", "too long"),
    ("kind", "castle", "one of"),
    ("campaign", "no-such-campaign", "no campaign"),
]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    HOST_FORM_BAD_VALUES,
    ids=[f"{n}={v[:20]!r}" for n, v, _ in HOST_FORM_BAD_VALUES],
)
async def test_host_form_bad_value_is_named_beside_its_field_and_nothing_is_saved(
    client: httpx.AsyncClient, name: str, value: str, message: str
) -> None:
    form = await host_form(client)
    form[name] = value
    if name == "starts_at" and "past" in message:
        form["ends_at"] = local(-3, 20)
    response = await client.post("/host", data=form)
    assert response.status_code == 422
    assert message in field_error(response.text, name).lower() or message in field_error(
        response.text, name
    )
    if value and name not in {"kind", "capacity", "address.country"}:  # selects, numbers: their own
        assert str(escape(value)) in response.text, "what was typed is kept"
    assert await Meeting.all().count() == 0


async def test_host_form_with_markup_in_every_text_field_publishes_it_as_plain_text(
    client: httpx.AsyncClient,
) -> None:
    form = await host_form(
        client,
        title="Talk " + SCRIPT,
        description=SCRIPT,
        host_note=SCRIPT,
        host={"name": "Quinn " + SCRIPT[:60]},
        address={"directions": SCRIPT},
    )
    response = await client.post("/host", data=form)
    assert response.status_code == 303
    await confirm_emailed_meeting(client, "quinn@example.org")
    meeting = await Meeting.get()
    assert meeting.title == "Talk " + SCRIPT  # stored exactly as typed
    for page in (
        (await client.get(await emailed_link("quinn@example.org", "/manage/"))).text,  # manage
        (await client.get(f"/meetings/{meeting.public_id}")).text,  # the public page
    ):
        assert_no_markup_from_input(page)
        assert "&lt;script&gt;" in page


async def test_host_form_with_markup_and_an_error_re_renders_it_escaped(
    client: httpx.AsyncClient,
) -> None:
    form = await host_form(client, title=SCRIPT, description=SCRIPT)
    form["capacity"] = "<script>"
    response = await client.post("/host", data=form)
    assert response.status_code == 422
    assert_no_markup_from_input(response.text)
    assert str(escape(SCRIPT)) in response.text


@pytest.mark.parametrize("text", list(ODD_UNICODE.values()), ids=list(ODD_UNICODE))
async def test_host_form_keeps_odd_unicode_exactly(client: httpx.AsyncClient, text: str) -> None:
    response = await client.post("/host", data=await host_form(client, title=text))
    assert response.status_code == 303
    await confirm_emailed_meeting(client, "quinn@example.org")
    meeting = await Meeting.get()
    assert meeting.title == text
    page = (await client.get(f"/meetings/{meeting.public_id}")).text
    assert html.escape(text) in page


async def test_host_form_with_percent_encoded_broken_utf8_is_not_a_500(
    client: httpx.AsyncClient,
) -> None:
    token = await csrf_from(client, "/host")
    for raw in (b"%ED%A0%80", b"%FF%FE", b"%C3"):  # a lone surrogate, not UTF-8, cut short
        response = await client.post(
            "/host",
            content=b"csrf_token=" + token.encode() + b"&title=" + raw,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 422
    assert await Meeting.all().count() == 0


# --- CSRF: every form of hosts and guests refuses a post without the session's token --


async def rsvp_as_ana(client: httpx.AsyncClient, meeting_id: str) -> str:
    """RSVP through the meeting page; return the guest's private RSVP page."""
    rsvp = await client.post(
        f"/meetings/{meeting_id}/rsvp",
        data={
            "csrf_token": await csrf_from(client, f"/meetings/{meeting_id}"),
            "name": "Ana",
            "email": "ana@example.org",
        },
    )
    assert rsvp.status_code == 303
    return await rsvp_link("ana@example.org")  # the page is reached from the email


async def form_targets(client: httpx.AsyncClient) -> dict[str, str]:
    created = await make_meeting()
    meeting_id, token = created.meeting.public_id, created.manage_token
    rsvp_path = await rsvp_as_ana(client, meeting_id)
    return {
        "/host": "",
        f"/manage/{meeting_id}": token,
        f"/manage/{meeting_id}/notify": token,
        f"/manage/{meeting_id}/message": token,
        f"/manage/{meeting_id}/invite": token,
        f"/manage/{meeting_id}/cancel": token,
        f"/manage/{meeting_id}/again": token,
        f"/meetings/{meeting_id}/rsvp": "",
        rsvp_path: "",
        f"{rsvp_path}/cancel": "",
        "/manage/recover": "",
    }


@pytest.mark.parametrize("sent", ["missing", "wrong", "from another session"])
async def test_every_guest_and_host_form_refuses_a_post_without_its_csrf_token(
    client: httpx.AsyncClient, sent: str
) -> None:
    targets = await form_targets(client)
    own = await csrf_from(client, "/host")
    other_session = httpx.AsyncClient(transport=client._transport, base_url=client.base_url)
    tokens = {
        "missing": None,
        "wrong": own[:-4] + "AAAA",
        "from another session": await csrf_from(other_session, "/host"),
    }
    before = (await Meeting.all().count(), await Rsvp.all().count())
    for path, manage_token in targets.items():
        form = {"token": manage_token, "title": "Hijacked", "guests": "3", "email": "x@y.org"}
        if tokens[sent] is not None:
            form["csrf_token"] = tokens[sent]
        response = await client.post(path, data=form)
        assert response.status_code == 403, path
        assert "reload the page" in response.text
    assert (await Meeting.all().count(), await Rsvp.all().count()) == before
    assert await Meeting.filter(title="Hijacked").count() == 0
    assert await Meeting.filter(status="cancelled").count() == 0


# --- Managing a meeting ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("starts_at", "2026-02-30T19:00", "date and time like"),
        ("ends_at", "25:61", "date and time like"),
        ("capacity", "0", "between 1 and 500"),
        ("title", "\x00", "can't store"),
        ("title", "z" * 500, "too long"),
    ],
)
async def test_manage_form_bad_change_keeps_the_meeting_as_it_was(
    client: httpx.AsyncClient, name: str, value: str, message: str
) -> None:
    created = await make_meeting()
    path = f"/manage/{created.meeting.public_id}"
    form = as_form(meeting_body())
    form.update(token=created.manage_token, csrf_token=await csrf_from(client, "/host"))
    form[name] = value
    response = await client.post(path, data=form)
    assert response.status_code == 422
    assert message in field_error(response.text, name)
    meeting = await Meeting.get(id=created.meeting.id)
    assert (meeting.title, meeting.capacity, meeting.starts_at) == (
        created.meeting.title,
        created.meeting.capacity,
        created.meeting.starts_at,
    )


@pytest.mark.parametrize(
    ("tool", "form", "field", "message"),
    [
        ("message", {"subject": "", "message": "Hi"}, "subject", "enter a subject"),
        ("message", {"subject": "Hi\x00", "message": "x"}, "subject", "can't store"),
        ("message", {"subject": "Hi", "message": "m" * 5001}, "message", "too long"),
        ("invite", {"emails": "friend\x00@example.org"}, "emails", "look like email"),
        ("invite", {"emails": "<script>@x"}, "emails", "look like email"),
        ("invite", {"emails": "a@example.org", "note": "hi\x00"}, "note", "can't store"),
    ],
)
async def test_host_tools_refuse_bad_messages_and_invitations_beside_the_field(
    client: httpx.AsyncClient, tool: str, form: dict[str, str], field: str, message: str
) -> None:
    from kit.store.models import OutboxMessage

    created = await make_meeting()
    await rsvp_as_ana(client, created.meeting.public_id)  # the message form needs a guest
    sent_before = await OutboxMessage.all().count()
    response = await client.post(
        f"/manage/{created.meeting.public_id}/{tool}",
        data={
            **form,
            "token": created.manage_token,
            "csrf_token": await csrf_from(client, "/host"),
        },
    )
    assert response.status_code == 422
    assert message in field_error(response.text, field).lower()
    assert_no_markup_from_input(response.text)
    assert await OutboxMessage.all().count() == sent_before


async def test_host_email_preference_with_an_unknown_choice_is_a_clear_4xx(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    response = await client.post(
        f"/manage/{created.meeting.public_id}/notify",
        data={
            "host_notify": "\x00<script>",
            "token": created.manage_token,
            "csrf_token": await csrf_from(client, "/host"),
        },
    )
    assert response.status_code == 422
    assert "each RSVP or a daily digest" in response.text
    assert_no_markup_from_input(response.text)


# --- RSVPs -----------------------------------------------------------------------------

RSVP_BAD_VALUES = [
    ("name", "", "enter your name"),
    ("name", "Ana\x00", "can't store"),
    ("email", "ana@", "look like an email"),
    ("guests", "lots", "whole number"),
    ("guests", "-1", "between 0 and 5"),
    ("guests", "10000000000000000000000", "between 0 and 5"),
    ("note", "n" * 1001, "too long"),
]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    RSVP_BAD_VALUES,
    ids=[f"{n}={v[:12]!r}" for n, v, _ in RSVP_BAD_VALUES],
)
async def test_rsvp_form_bad_value_is_named_and_no_seat_is_taken(
    client: httpx.AsyncClient, name: str, value: str, message: str
) -> None:
    created = await make_meeting()
    path = f"/meetings/{created.meeting.public_id}"
    form = {"name": "Ana " + SCRIPT, "email": "ana@example.org", "guests": "1", "note": SCRIPT}
    form.update({name: value, "csrf_token": await csrf_from(client, path)})
    response = await client.post(f"{path}/rsvp", data=form)
    assert response.status_code == 422
    assert message in field_error(response.text, name).lower()
    assert_no_markup_from_input(response.text)
    if name != "note":
        assert str(escape(SCRIPT)) in response.text, "the typed note is kept"
    assert await Rsvp.all().count() == 0
    assert (await Meeting.get(id=created.meeting.id)).seats_taken == 0


@pytest.mark.parametrize(("guests", "message"), [("two", "whole number"), ("9", "between 0 and 5")])
async def test_changing_an_rsvp_to_an_impossible_party_keeps_the_seats(
    client: httpx.AsyncClient, guests: str, message: str
) -> None:
    created = await make_meeting()
    rsvp_path = await rsvp_as_ana(client, created.meeting.public_id)
    token = await csrf_from(client, "/host")
    response = await client.post(rsvp_path, data={"guests": guests, "csrf_token": token})
    assert response.status_code == 422
    assert message in response.text
    assert (await Rsvp.get()).guests == 0
    assert (await Meeting.get(id=created.meeting.id)).seats_taken == 1


# --- Recovering links, unsubscribing, finding --------------------------------------------


@pytest.mark.parametrize(
    ("email", "message"),
    [("quinn\x00@example.org", "can't store"), ("q" * 300 + "@example.org", "too long")],
)
async def test_recover_form_refuses_an_unusable_address(
    client: httpx.AsyncClient, email: str, message: str
) -> None:
    response = await client.post(
        "/manage/recover",
        data={"email": email, "csrf_token": await csrf_from(client, "/manage/recover")},
    )
    assert response.status_code == 422
    assert message in field_error(response.text, "email")


@pytest.mark.parametrize("token", ["%00", "x" * 500, "<script>", "%ED%A0%80"])
async def test_unsubscribe_with_a_mangled_link_is_a_clear_4xx(
    client: httpx.AsyncClient, token: str
) -> None:
    for method in ("GET", "POST"):
        response = await client.request(method, f"/unsubscribe/{token}")
        assert response.status_code in {400, 404}
        assert_no_markup_from_input(response.text)


@pytest.mark.parametrize(
    "query",
    [
        "near=" + SCRIPT,
        "near=10027&radius_km=abc",
        "near=10027&radius_km=-5",
        "near=10027&radius_km=1e999",
        "near=10027&from=2026-02-30",
        "near=10027&limit=-1",
        "near=%ED%A0%80",
        "near=" + "a" * 5000,
        "near=10027&campaign=%00",
    ],
)
async def test_find_page_with_hostile_query_explains_and_escapes(
    client: httpx.AsyncClient, query: str
) -> None:
    response = await client.get(f"/find?{query}")
    assert response.status_code in {200, 400}, response.text[:300]
    assert_no_markup_from_input(response.text)
