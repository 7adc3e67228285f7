"""Hostile input after the meeting and behind the coordinators' door: the host's report
(form and JSON), supporting an idea, and every coordinator form.

The same promises as ``test_hostile_forms``: a 4xx with the message beside the field
(or a JSON 422 naming the field), what was typed still in the form, nothing saved
(rows counted before and after), nothing rendered as markup, CSRF refused with a 403,
and never a 500. Run on SQLite and PostgreSQL (which refuses NUL bytes, also in jsonb).
"""

from __future__ import annotations

import html
import json
from typing import Any

import httpx
import pytest
from markupsafe import escape

from kit.coordinators.accounts import add_coordinator
from kit.reports import ideas as idea_board
from kit.reports import service as reports
from kit.store.models import (
    AccessToken,
    Attendee,
    Campaign,
    Commitment,
    Coordinator,
    Idea,
    IdeaStatus,
    IdeaSupport,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Report,
)
from tests.factories import csrf_from, make_campaign, make_meeting
from tests.reports.test_reports import api, guest_rows, held_meeting, report_path
from tests.web.test_coordinator_pages import csrf_of, post_form, sign_in
from tests.web.test_hostile_forms import (
    ODD_UNICODE,
    SCRIPT,
    assert_no_markup_from_input,
    field_error,
)

Rows = tuple[int, ...]


async def report_rows() -> Rows:
    """Everything filing a report writes: counted before and after a refused one."""
    return (
        await Report.all().count(),
        await Attendee.all().count(),
        await Commitment.all().count(),
        await Idea.all().count(),
        await OutboxMessage.all().count(),
        await Meeting.filter(status=MeetingStatus.COMPLETED).count(),
    )


# --- The report form ----------------------------------------------------------------------


async def report_form(client: httpx.AsyncClient, meeting: Meeting, token: str) -> dict[str, str]:
    """A valid report as the form posts it, with markup in every free text."""
    ada = (await guest_rows(meeting))["Ada"]
    return {
        "csrf_token": await csrf_from(client, report_path(meeting, token)),
        "token": token,
        f"{ada}.came": "1",
        f"{ada}.ask.volunteer": "1",
        "walkin.0.name": "Pat " + SCRIPT,
        "walkin.0.email": "pat@example.org",
        "headcount": "4",
        "ideas": "A bench " + SCRIPT + "\nMonthly clean-up",
        "story": SCRIPT,
        "story_consent": "1",
        "guide_rating": "4",
        "feedback": SCRIPT,
    }


REPORT_FORM_BAD_VALUES = [
    ("walkin.1.name", "x" * 121, "too long"),
    ("walkin.1.name", "Wally\x00", "can't store"),
    ("walkin.1.email", "wally at example", "look like an email"),
    ("walkin.1.email", "<script>@x", "look like an email"),
    ("walkin.1.phone", "call me maybe", "digits"),
    ("walkin.1.phone", "+1 212\x00555", "can't store"),
    ("headcount", "lots", "whole number"),
    ("headcount", "-1", "between 0 and 1000"),
    ("headcount", "9" * 30, "between 0 and 1000"),
    ("headcount", "9" * 5000, "whole number"),  # over Python's digit limit for int()
    ("headcount", "1", "at least 2"),
    ("ideas", "i" * 301, "too long"),
    ("ideas", "A bench\x00", "can't store"),
    ("ideas", "\n".join(f"Idea {n}" for n in range(21)), "keep the 20"),
    ("story", "s" * 5001, "too long"),
    ("story", "Once\x00", "can't store"),
    ("guide_rating", "7", "between 1 and 5"),
    ("guide_rating", "five", "whole number"),
    ("feedback", "f" * 5001, "too long"),
    ("feedback", "\x00", "can't store"),
]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    REPORT_FORM_BAD_VALUES,
    ids=[f"{n}={v[:16]!r}" for n, v, _ in REPORT_FORM_BAD_VALUES],
)
async def test_report_form_bad_value_is_named_beside_its_field_and_nothing_is_filed(
    client: httpx.AsyncClient, name: str, value: str, message: str
) -> None:
    meeting, token = await held_meeting()
    form = await report_form(client, meeting, token)
    if name.startswith("walkin.1.") and not name.endswith(".name"):
        form["walkin.1.name"] = "Wally Walkin"
    form[name] = value
    before = await report_rows()
    response = await client.post(f"/manage/{meeting.public_id}/report", data=form)
    assert response.status_code == 422
    assert message in field_error(response.text, name).lower()
    assert_no_markup_from_input(response.text)
    if name != "guide_rating":  # radios show the choice, not the text
        assert str(escape(value)) in response.text, "what was typed is kept"
    assert str(escape("Pat " + SCRIPT)) in response.text, "the other rows are kept too"
    assert await report_rows() == before


async def test_report_form_row_without_a_name_asks_for_one(client: httpx.AsyncClient) -> None:
    meeting, token = await held_meeting()
    form = await report_form(client, meeting, token)
    form.update({"walkin.1.email": "nameless@example.org", "walkin.1.ask.host": "1"})
    response = await client.post(f"/manage/{meeting.public_id}/report", data=form)
    assert response.status_code == 422
    assert "enter this person's name" in field_error(response.text, "walkin.1.name")
    assert "nameless@example.org" in response.text
    assert await Report.all().count() == 0


@pytest.mark.parametrize(
    "extra",
    [
        {"walkin.999.name": "Far row"},  # beyond the sheet's rows: not read
        {"walkin.99999.name": "Farther"},
        {"rsvp.not-a-ref.came": "1", "rsvp.\x00.came": "1"},
        {"walkin.0.ask.no-such-ask": "1", "walkin.0.consent": "\x00<script>"},
    ],
    ids=["row 999", "row 99999", "unknown guest refs", "unknown ask and odd consent"],
)
async def test_report_form_with_rows_nobody_printed_files_only_the_real_ones(
    client: httpx.AsyncClient, extra: dict[str, str]
) -> None:
    meeting, token = await held_meeting()
    form = {**await report_form(client, meeting, token), **extra}
    response = await client.post(f"/manage/{meeting.public_id}/report", data=form)
    assert response.status_code == 303
    names = sorted(await Attendee.all().values_list("name", flat=True))
    assert names == sorted(["Ada Okafor", "Pat " + SCRIPT])
    assert await Commitment.all().values_list("ask", flat=True) == ["volunteer"]


async def test_report_form_files_markup_as_plain_text_everywhere_it_shows(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await held_meeting()
    response = await client.post(
        f"/manage/{meeting.public_id}/report", data=await report_form(client, meeting, token)
    )
    assert response.status_code == 303
    assert (await Report.get()).story == SCRIPT  # stored exactly as typed
    assert await Idea.filter(text="A bench " + SCRIPT).exists()
    pages = [
        (await client.get(response.headers["location"])).text,  # the form, filed
        (await client.get(f"/meetings/{meeting.public_id}")).text,  # the public page
    ]
    for page in pages:
        assert_no_markup_from_input(page)
        assert "&lt;script&gt;" in page
    [thanks] = await OutboxMessage.filter(kind="thank_you", recipient="pat@example.org")
    assert "<script>alert" not in (thanks.payload["body_html"] or "")


@pytest.mark.parametrize("text", list(ODD_UNICODE.values()), ids=list(ODD_UNICODE))
async def test_report_form_keeps_odd_unicode_exactly(client: httpx.AsyncClient, text: str) -> None:
    meeting, token = await held_meeting()
    form = await report_form(client, meeting, token)
    form.update({"ideas": text, "story": text, "walkin.0.name": text})
    response = await client.post(f"/manage/{meeting.public_id}/report", data=form)
    assert response.status_code == 303
    assert await Idea.all().values_list("text", flat=True) == [text]
    assert (await Report.get()).story == text
    assert await Attendee.filter(name=text).exists()
    assert html.escape(text) in (await client.get(f"/meetings/{meeting.public_id}")).text


@pytest.mark.parametrize("sent", ["missing", "wrong"])
async def test_report_form_refuses_a_post_without_its_csrf_token(
    client: httpx.AsyncClient, sent: str
) -> None:
    meeting, token = await held_meeting()
    form = await report_form(client, meeting, token)
    if sent == "missing":
        del form["csrf_token"]
    else:
        form["csrf_token"] = form["csrf_token"][:-4] + "AAAA"
    before = await report_rows()
    response = await client.post(f"/manage/{meeting.public_id}/report", data=form)
    assert response.status_code == 403
    assert "reload the page" in response.text
    assert await report_rows() == before


async def test_report_form_flooded_with_fields_is_a_400_and_nothing_is_filed(
    client: httpx.AsyncClient,
) -> None:
    meeting, token = await held_meeting()
    form = await report_form(client, meeting, token)
    # More fields than the biggest sheet the form can print has.
    flood = reports.MAX_FORM_FIELDS + 1
    form.update({f"walkin.{n}.name": f"Bot {n}" for n in range(flood)})
    before = await report_rows()
    response = await client.post(f"/manage/{meeting.public_id}/report", data=form)
    assert response.status_code == 400
    assert await report_rows() == before


@pytest.mark.parametrize("public_id", ["a" * 300, "<script>", "%ED%A0%80", "..%2F..%2Fetc"])
async def test_report_form_with_a_mangled_link_is_a_clear_4xx(
    client: httpx.AsyncClient, public_id: str
) -> None:
    _, token = await held_meeting()
    for method in ("GET", "POST"):
        data = {"token": token, "csrf_token": await csrf_from(client, "/host")}
        response = await client.request(
            method,
            f"/manage/{public_id}/report?token={token}",
            data=data if method == "POST" else None,
        )
        assert 400 <= response.status_code < 500, (method, response.status_code)
        assert_no_markup_from_input(response.text)


# --- The report API -------------------------------------------------------------------------

WALK_IN = {"name": "Wally Walkin"}


def walk_in(**fields: Any) -> dict[str, Any]:
    """A body with one walk-in, ``fields`` changed."""
    return {"attendees": [{**WALK_IN, **fields}]}


REPORT_API_BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("attendees not a list", {"attendees": "everyone"}, "attendees"),
    ("attendees too many", {"attendees": [WALK_IN] * 301}, "attendees"),
    ("attendee not an object", {"attendees": ["Ada"]}, "attendees.0"),
    ("name too long", walk_in(name="x" * 121), "attendees.0.name"),
    ("name with NUL", walk_in(name="Wally\x00"), "attendees.0.name"),
    ("name lone surrogate", walk_in(name="W\ud800"), "attendees.0.name"),
    ("name a number", walk_in(name=5), "attendees.0.name"),
    ("stranger without name", walk_in(name="", email="x@example.org"), "attendees.0.name"),
    ("email an object", walk_in(email={"a": 1}), "attendees.0.email"),
    ("email surrogate", walk_in(email="w\udfff@x.org"), "attendees.0.email"),
    ("phone words", walk_in(phone="call me"), "attendees.0.phone"),
    ("commitments text", walk_in(commitments="host"), "attendees.0.commitments"),
    ("commitments surrogate", walk_in(commitments=["\ud83d"]), "attendees.0.commitments"),
    ("commitments unknown", walk_in(commitments=["<script>"]), "attendees.0.commitments"),
    ("listed twice", {"attendees": [{"email": "ada@example.org"}] * 2}, "attendees.1.email"),
    ("headcount text", {"headcount": "many"}, "headcount"),
    ("headcount fraction", {"headcount": 1.5}, "headcount"),
    ("headcount boolean", {"headcount": True}, "headcount"),
    ("headcount huge", {"headcount": 10**30}, "headcount"),
    ("headcount negative", {"headcount": -1}, "headcount"),
    ("headcount below list", {**walk_in(), "headcount": 0}, "headcount"),
    ("ideas text", {"ideas": "one idea"}, "ideas"),
    ("ideas numbers", {"ideas": [1, 2]}, "ideas"),
    ("idea lone surrogate", {"ideas": ["Bench \ud800"]}, "ideas"),
    ("idea NUL", {"ideas": ["Bench\x00"]}, "ideas"),
    ("idea too long", {"ideas": ["i" * 301]}, "ideas"),
    ("ideas too many", {"ideas": [f"Idea {n}" for n in range(21)]}, "ideas"),
    ("story a list", {"story": ["once"]}, "story"),
    ("story an object", {"story": {"text": "once"}}, "story"),
    ("story too long", {"story": "s" * 5001}, "story"),
    ("story surrogate", {"story": "\udfff"}, "story"),
    ("rating zero", {"guide_rating": 0}, "guide_rating"),
    ("rating words", {"guide_rating": "5 stars"}, "guide_rating"),
    ("feedback object", {"feedback": {"a": 1}}, "feedback"),
    ("feedback NUL", {"feedback": "\x00"}, "feedback"),
]


def post_report(
    client: httpx.AsyncClient, meeting: Meeting, token: str, body: dict[str, Any]
) -> Any:
    """Like ``api``, but as JSON that may carry half an emoji ("\\ud800", ASCII-escaped)."""
    return client.post(
        f"/api/meetings/{meeting.public_id}/report",
        content=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [(b, f) for _, b, f in REPORT_API_BAD_BODIES],
    ids=[i for i, _, _ in REPORT_API_BAD_BODIES],
)
async def test_report_api_bad_body_is_a_422_naming_the_field_and_nothing_is_filed(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    meeting, token = await held_meeting()
    before = await report_rows()
    response = await post_report(client, meeting, token, body)
    assert response.status_code == 422, response.text[:300]
    answer = response.json()
    assert answer["error"] and field in answer["fields"], answer
    assert all(isinstance(m, str) and m for m in answer["fields"].values())
    assert await report_rows() == before


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"headcount": ', "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'"\\ud800"', "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),
        (b"headcount=3", "application/x-www-form-urlencoded", 415),
        (b'{"story": "' + b"s" * (2 * 1024 * 1024) + b'"}', "application/json", 413),
    ],
    ids=["cut short", "a list", "a string", "not UTF-8", "a form", "too large"],
)
async def test_report_api_body_that_is_not_a_json_object_is_a_clear_4xx(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int
) -> None:
    meeting, token = await held_meeting()
    response = await client.post(
        f"/api/meetings/{meeting.public_id}/report",
        content=content,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    assert response.status_code == status
    assert response.json()["error"]
    assert await Report.all().count() == 0


@pytest.mark.parametrize(
    ("public_id", "auth"),
    [
        ("a" * 300, "right"),
        ("%3Cscript%3E", "right"),
        ("right", "Bearer " + "t" * 5000),
        ("right", "Bearer <script>"),
        ("right", "Basic Zm9vOmJhcg=="),
    ],
)
async def test_report_api_with_a_mangled_id_or_token_is_a_json_404(
    client: httpx.AsyncClient, public_id: str, auth: str
) -> None:
    meeting, token = await held_meeting()
    path_id = meeting.public_id if public_id == "right" else public_id
    header = f"Bearer {token}" if auth == "right" else auth
    response = await client.post(
        f"/api/meetings/{path_id}/report", json={}, headers={"Authorization": header}
    )
    assert response.status_code == 404
    assert response.json()["error"]
    assert await Report.all().count() == 0


async def test_report_api_keeps_markup_and_odd_unicode_as_text(client: httpx.AsyncClient) -> None:
    meeting, token = await held_meeting()
    texts = [SCRIPT, *ODD_UNICODE.values()]
    response = await api(
        client, meeting, token, {"ideas": texts, "story": SCRIPT, "story_consent": True}
    )
    assert response.status_code == 201
    assert response.json()["ideas"] == texts
    assert sorted(await Idea.all().values_list("text", flat=True)) == sorted(texts)
    page = (await client.get(f"/meetings/{meeting.public_id}")).text
    assert_no_markup_from_input(page)
    for text in texts:
        assert str(escape(text)) in page


# --- Supporting an idea -----------------------------------------------------------------------


async def idea_on_a_board(client: httpx.AsyncClient) -> Idea:
    """An idea on a public campaign's board (its meeting held and reported)."""
    await make_campaign("winter", is_public=True)
    meeting, token = await held_meeting(campaign="winter")
    assert (await api(client, meeting, token, {"ideas": ["A crossing guard"]})).status_code == 201
    return await Idea.get().select_related("campaign")


@pytest.mark.parametrize("idea_id", ["a" * 300, "<script>", "%ED%A0%80", "%F0%9F", "x" * 17])
async def test_supporting_a_mangled_idea_link_is_a_404_and_counts_nothing(
    client: httpx.AsyncClient, idea_id: str
) -> None:
    await idea_on_a_board(client)
    token = await csrf_from(client, "/campaigns/winter")
    for action in ("support", "email"):
        response = await client.post(
            f"/ideas/{idea_id}/{action}", data={"csrf_token": token, "email": "ana@example.org"}
        )
        assert response.status_code == 404, action
        assert_no_markup_from_input(response.text)
    assert await IdeaSupport.all().count() == 0
    assert await OutboxMessage.filter(kind="idea_support_confirm").count() == 0


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "enter an email address"),
        ("ana@", "look like an email"),
        ("ana\x00@example.org", "can't store"),
        ("a" * 300 + "@example.org", "too long"),
        ("<script>@x", "look like an email"),
        (SCRIPT, "look like an email"),
        ("ana@example.org\r\nBcc: everyone@example.org", "look like an email"),
    ],
)
async def test_idea_email_support_refuses_an_unusable_address_beside_the_field(
    client: httpx.AsyncClient, email: str, message: str
) -> None:
    idea = await idea_on_a_board(client)
    response = await client.post(
        f"/ideas/{idea.public_id}/email",
        data={"email": email, "csrf_token": await csrf_from(client, "/campaigns/winter")},
    )
    assert response.status_code == 422
    assert message in field_error(response.text, "email").lower()
    assert_no_markup_from_input(response.text)
    assert str(escape(email)) in response.text, "what was typed is kept"
    assert await OutboxMessage.filter(kind="idea_support_confirm").count() == 0


@pytest.mark.parametrize("sent", ["missing", "wrong"])
async def test_idea_support_forms_refuse_a_post_without_its_csrf_token(
    client: httpx.AsyncClient, sent: str
) -> None:
    idea = await idea_on_a_board(client)
    token = await csrf_from(client, "/campaigns/winter")
    form = {"email": "ana@example.org"}
    if sent == "wrong":
        form["csrf_token"] = token[:-4] + "AAAA"
    for action in ("support", "email"):
        response = await client.post(f"/ideas/{idea.public_id}/{action}", data=form)
        assert response.status_code == 403, action
        assert "reload the page" in response.text
    confirm = idea_board.confirmation_token(
        idea, "ana@example.org", "test-secret-key-not-for-production"
    )
    assert (await client.post(f"/ideas/confirm/{confirm}", data=form)).status_code == 403
    assert (await Idea.get(id=idea.id)).supporters == 0
    assert await IdeaSupport.all().count() == 0
    assert await OutboxMessage.filter(kind="idea_support_confirm").count() == 0


@pytest.mark.parametrize("token", ["x" * 600, "<script>", "%ED%A0%80", "e30.AAAA.BBBB"])
async def test_a_mangled_idea_confirmation_link_is_a_404(
    client: httpx.AsyncClient, token: str
) -> None:
    await idea_on_a_board(client)
    csrf = await csrf_from(client, "/campaigns/winter")
    for method in ("GET", "POST"):
        data = {"csrf_token": csrf} if method == "POST" else None
        response = await client.request(method, f"/ideas/confirm/{token}", data=data)
        assert response.status_code == 404
        assert_no_markup_from_input(response.text)
    assert await IdeaSupport.all().count() == 0


# --- Coordinators: signing in -----------------------------------------------------------------

SIGNIN_BAD_EMAILS = [
    ("", "enter an email address"),
    ("cara@", "look like an email"),
    ("cara\x00@example.org", "can't store"),
    ("c" * 300 + "@example.org", "too long"),
    (SCRIPT, "look like an email"),
]


@pytest.mark.parametrize(("email", "message"), SIGNIN_BAD_EMAILS)
@pytest.mark.parametrize("method", ["link", "password"])
async def test_signin_refuses_an_unusable_address_beside_the_field(
    client: httpx.AsyncClient, method: str, email: str, message: str
) -> None:
    await add_coordinator("cara@example.org")
    response = await post_form(
        client, "/coordinators/signin", "/coordinators/signin",
        method=method, email=email, password="correct horse battery staple",
    )  # fmt: skip
    assert response.status_code == 422
    assert message in field_error(response.text, "email").lower()
    assert_no_markup_from_input(response.text)
    assert str(escape(email)) in response.text, "what was typed is kept"
    assert "correct horse" not in response.text, "a password is never sent back"
    assert await OutboxMessage.all().count() == 0
    assert await AccessToken.all().count() == 0


@pytest.mark.parametrize(
    "password", ["", "\x00" * 20, "p" * 100_000, SCRIPT, "\u202e" * 30], ids=repr
)
async def test_password_signin_with_an_odd_password_is_just_a_wrong_password(
    client: httpx.AsyncClient, password: str
) -> None:
    await add_coordinator("cara@example.org")
    response = await post_form(
        client, "/coordinators/signin", "/coordinators/signin",
        method="password", email="cara@example.org", password=password,
    )  # fmt: skip
    assert response.status_code == 422
    assert "don't match" in field_error(response.text, "password")
    assert_no_markup_from_input(response.text)
    assert "coordinator" not in client.cookies.get("session", "")


@pytest.mark.parametrize("next_path", [SCRIPT, '"><script>alert(1)</script>', "/coordinators\x00"])
async def test_signin_page_shows_a_hostile_next_escaped(
    client: httpx.AsyncClient, next_path: str
) -> None:
    response = await client.get("/coordinators/signin", params={"next": next_path})
    assert response.status_code in {200, 400}
    assert_no_markup_from_input(response.text)
    assert "<script>alert(1)" not in response.text


@pytest.mark.parametrize("back", ["//evil.example/x", "/coordinators\r\nSet-Cookie: x=1", SCRIPT])
async def test_a_hostile_back_link_stays_on_the_coordinator_pages(
    client: httpx.AsyncClient, back: str
) -> None:
    await make_campaign("winter", requires_approval=True)
    created = await make_meeting(campaign="winter")
    await add_coordinator("c@example.org", is_admin=True)
    await sign_in(client, "c@example.org")
    response = await post_form(
        client, "/coordinators/account",
        f"/coordinators/meetings/{created.meeting.public_id}/approve", back=back,
    )  # fmt: skip
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/coordinators") and "//" not in location
    assert "\r" not in location and "\n" not in location and "<" not in location


@pytest.mark.parametrize("token", ["x" * 500, "<script>", "%ED%A0%80"])
async def test_a_mangled_signin_link_is_a_404(client: httpx.AsyncClient, token: str) -> None:
    await add_coordinator("cara@example.org")
    csrf = await csrf_from(client, "/coordinators/signin")
    for method in ("GET", "POST"):
        data = {"csrf_token": csrf} if method == "POST" else None
        response = await client.request(method, f"/coordinators/signin/{token}", data=data)
        assert response.status_code == 404
        assert_no_markup_from_input(response.text)
    assert (await client.get("/coordinators")).status_code == 303  # still signed out


# --- Coordinators: the account ---------------------------------------------------------------


async def signed_in_admin(client: httpx.AsyncClient) -> Coordinator:
    coordinator, _ = await add_coordinator("c@example.org", is_admin=True)
    await sign_in(client, "c@example.org")
    return coordinator


@pytest.mark.parametrize(
    ("password", "confirm", "field", "message"),
    [
        ("short", "short", "password", "12 to 256"),
        ("p" * 257, "p" * 257, "password", "12 to 256"),
        ("p" * 100_000, "p" * 100_000, "password", "12 to 256"),
        ("correct horse battery", "correct horse battery!", "password_confirm", "not the same"),
    ],
    ids=["short", "257", "100000", "mismatch"],
)
async def test_setting_a_bad_password_is_named_and_nothing_changes(
    client: httpx.AsyncClient, password: str, confirm: str, field: str, message: str
) -> None:
    coordinator = await signed_in_admin(client)
    response = await post_form(
        client, "/coordinators/account", "/coordinators/account",
        action="set_password", password=password, password_confirm=confirm,
    )  # fmt: skip
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert password not in response.text, "a password is never sent back"
    assert (await Coordinator.get(id=coordinator.id)).password_hash is None


@pytest.mark.parametrize("token_id", ["", "abc", "-1", "²", "٣", "9" * 40, "1e3", "<script>"])
async def test_revoking_a_token_that_isnt_there_is_a_404_and_keeps_the_others(
    client: httpx.AsyncClient, token_id: str
) -> None:
    await signed_in_admin(client)
    await post_form(client, "/coordinators/account", "/coordinators/account", action="create_token")
    response = await post_form(
        client, "/coordinators/account", "/coordinators/account",
        action="revoke_token", token_id=token_id,
    )  # fmt: skip
    assert response.status_code == 404
    assert "doesn't exist" in html.unescape(response.text)
    assert_no_markup_from_input(response.text)
    assert await AccessToken.filter(revoked_at=None, kind="coordinator_api").count() == 1


async def test_an_unknown_account_action_is_a_404(client: httpx.AsyncClient) -> None:
    await signed_in_admin(client)
    response = await post_form(
        client, "/coordinators/account", "/coordinators/account", action=SCRIPT
    )
    assert response.status_code == 404
    assert_no_markup_from_input(response.text)


# --- Coordinators: campaigns -------------------------------------------------------------------

GOOD_CAMPAIGN = {
    "slug": "spring-2027",
    "name": "Spring " + SCRIPT[:40],
    "description": SCRIPT,
    "starts_on": "2027-03-01",
    "ends_on": "2027-05-31",
    "guide_markdown": "# Guide\n\n" + SCRIPT,
    "agenda": "Welcome | 10\nStories | 30",
    "asks": "host | Host a meeting",
    "goals.meetings": "30",
    "is_public": "1",
}
CAMPAIGN_BAD_VALUES = [
    ("slug", "", "enter a web address"),
    ("slug", "Bad Slug!", "lowercase letters"),
    ("slug", "s" * 65, "too long"),
    ("slug", "spring\x00", "can't store"),
    ("slug", "<script>", "lowercase letters"),
    ("slug", "spring\u202e", "lowercase letters"),
    ("slug", "taken", "is taken"),
    ("name", "", "enter a name"),
    ("name", "n" * 201, "too long"),
    ("name", "Spring\x00", "can't store"),
    ("description", "d" * 5001, "too long"),
    ("description", "\x00", "can't store"),
    ("starts_on", "2027-02-30", "date like"),
    ("starts_on", "next spring", "date like"),
    ("starts_on", "9" * 5000, "date like"),
    ("ends_on", "2027-01-01", "before the start date"),
    ("guide_markdown", "Be kind\x00", "can't store"),
    ("guide_markdown", "g" * 300_000, "too long to print"),
    ("agenda", "Welcome | ten", "line 1"),
    ("agenda", "Welcome | 999", "line 1"),
    ("agenda", "| 10", "line 1"),
    ("agenda", "Wel\x00come | 10", "can't store"),
    ("agenda", "\n".join(f"Item {n} | 5" for n in range(31)), "at most 30"),
    ("asks", "host | Host\x00", "can't store"),
    ("asks", "Bad Key! | Label", "lowercase letters"),
    ("asks", "host | Host\nhost | Host again", "used twice"),
    ("asks", "\n".join(f"ask{n} | Ask {n}" for n in range(7)), "has room for 6 asks"),
    ("asks", "k" * 41 + " | Label", "lowercase letters"),
    ("goals.meetings", "lots", "whole number"),
    ("goals.meetings", "-1", "between 0 and"),
    ("goals.people", "9" * 30, "between 0 and"),
    ("goals.commitments", "1e3", "whole number"),
]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    CAMPAIGN_BAD_VALUES,
    ids=[f"{n}={v[:16]!r}" for n, v, _ in CAMPAIGN_BAD_VALUES],
)
async def test_new_campaign_bad_value_is_named_beside_its_field_and_nothing_is_saved(
    client: httpx.AsyncClient, name: str, value: str, message: str
) -> None:
    await signed_in_admin(client)
    await make_campaign("taken")
    form = {**GOOD_CAMPAIGN, name: value}
    response = await post_form(
        client, "/coordinators/campaigns/new", "/coordinators/campaigns/new", **form
    )
    assert response.status_code == 422
    assert message in field_error(response.text, name).lower()
    assert_no_markup_from_input(response.text)
    if len(value) < 10_000:
        assert str(escape(value)) in response.text, "what was typed is kept"
    assert str(escape(GOOD_CAMPAIGN["description"])) in response.text
    assert await Campaign.all().count() == 1


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [c for c in CAMPAIGN_BAD_VALUES if c[0] != "slug"],
    ids=[f"{n}={v[:16]!r}" for n, v, _ in CAMPAIGN_BAD_VALUES if n != "slug"],
)
async def test_campaign_edit_bad_value_keeps_the_campaign_as_it_was(
    client: httpx.AsyncClient, name: str, value: str, message: str
) -> None:
    await signed_in_admin(client)
    campaign = await make_campaign("taken", agenda=[{"title": "Welcome", "minutes": 10}])
    page = "/coordinators/campaigns/taken/edit"
    response = await post_form(client, page, page, **{**GOOD_CAMPAIGN, name: value})
    assert response.status_code == 422
    assert message in field_error(response.text, name).lower()
    assert_no_markup_from_input(response.text)
    after = await Campaign.get(id=campaign.id)
    assert (after.name, after.agenda, after.goals, after.slug) == (
        campaign.name,
        campaign.agenda,
        campaign.goals,
        "taken",
    )


async def test_a_campaign_with_markup_shows_it_as_text(client: httpx.AsyncClient) -> None:
    await signed_in_admin(client)
    created = await post_form(
        client, "/coordinators/campaigns/new", "/coordinators/campaigns/new",
        **{**GOOD_CAMPAIGN, "asks": "host | Host " + SCRIPT[:60]},
    )  # fmt: skip
    assert created.status_code == 303
    for path in (
        "/coordinators/campaigns/spring-2027",
        "/coordinators/campaigns/spring-2027/edit",
        "/campaigns/spring-2027",
    ):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert_no_markup_from_input(page.text)


# --- Coordinators: meetings and ideas ------------------------------------------------------------


async def meeting_in_winter(client: httpx.AsyncClient) -> tuple[Meeting, str]:
    await make_campaign("winter")
    created = await make_meeting(campaign="winter")
    await signed_in_admin(client)
    return created.meeting, f"/coordinators/meetings/{created.meeting.public_id}"


@pytest.mark.parametrize(
    ("action", "form", "field", "message"),
    [
        ("hide", {"reason": ""}, "reason", "enter a reason"),
        ("hide", {"reason": "Spam\x00"}, "reason", "can't store"),
        ("hide", {"reason": "r" * 1001}, "reason", "too long"),
        ("contact", {"subject": "", "message": "Hi"}, "subject", "enter a subject"),
        ("contact", {"subject": "Hi\x00", "message": "Hi"}, "subject", "can't store"),
        ("contact", {"subject": "s" * 151, "message": "Hi"}, "subject", "too long"),
        ("contact", {"subject": "Hi", "message": ""}, "message", "enter a message"),
        ("contact", {"subject": "Hi", "message": "m" * 5001}, "message", "too long"),
        ("contact", {"subject": SCRIPT, "message": "\x00"}, "message", "can't store"),
    ],
)
async def test_coordinator_meeting_tools_refuse_bad_text_beside_the_field(
    client: httpx.AsyncClient, action: str, form: dict[str, str], field: str, message: str
) -> None:
    meeting, page = await meeting_in_winter(client)
    sent_before = await OutboxMessage.all().count()
    response = await post_form(client, page, f"{page}/{action}", **form)
    assert response.status_code == 422
    assert message in field_error(response.text, field).lower()
    assert_no_markup_from_input(response.text)
    assert str(escape(form[field])) in response.text, "what was typed is kept"
    assert (await Meeting.get(id=meeting.id)).status is MeetingStatus.PUBLISHED
    assert await OutboxMessage.all().count() == sent_before


async def test_a_subject_with_a_line_break_cannot_add_mail_headers(
    client: httpx.AsyncClient,
) -> None:
    _, page = await meeting_in_winter(client)
    response = await post_form(
        client, page, f"{page}/contact",
        subject="Packets\r\nBcc: everyone@example.org", message="Hello " + SCRIPT,
    )  # fmt: skip
    assert response.status_code == 303
    [sent] = await OutboxMessage.filter(kind="coordinator_message")
    assert "\n" not in sent.payload["subject"] and "\r" not in sent.payload["subject"]
    assert sent.recipient == "quinn@example.org"
    assert "<script>alert" not in (sent.payload["body_html"] or "")


@pytest.mark.parametrize(
    ("status", "note", "message"),
    [
        ("planned", "", "Choose new"),
        ("", "", "Choose new"),
        ("\x00", "", "Choose new"),
        (SCRIPT, "", "Choose new"),
        ("adopted", "n" * 1001, "too long"),
        ("adopted", "Soon\x00", "can't store"),
    ],
)
async def test_a_bad_idea_status_is_named_and_the_idea_stays_as_it_was(
    client: httpx.AsyncClient, status: str, note: str, message: str
) -> None:
    idea = await idea_on_a_board(client)
    await signed_in_admin(client)
    response = await post_form(
        client, "/coordinators/campaigns/winter",
        f"/coordinators/ideas/{idea.public_id}/status",
        status=status, note=note, back="/coordinators/campaigns/winter",
    )  # fmt: skip
    assert response.status_code == 422
    field = "note" if note else "status"
    assert message in field_error(response.text, field)
    assert_no_markup_from_input(response.text)
    assert str(escape(note)) in response.text, "the typed note is kept"
    assert 'name="back" value="/coordinators/campaigns/winter"' in response.text
    after = await Idea.get(id=idea.id)
    assert (after.status, after.status_note) == (IdeaStatus.NEW, "")


async def test_every_coordinator_form_refuses_a_post_without_its_csrf_token(
    client: httpx.AsyncClient,
) -> None:
    idea = await idea_on_a_board(client)
    await make_campaign("spring", requires_approval=True)
    pending = (await make_meeting(campaign="spring", title="Waiting for approval")).meeting
    coordinator = await signed_in_admin(client)
    meeting = await Meeting.get(status=MeetingStatus.COMPLETED)
    own = csrf_of((await client.get("/coordinators/account")).text)
    targets = {
        "/coordinators/signin": {"email": "c@example.org", "method": "link"},
        "/coordinators/signout": {},
        "/coordinators/account": {"action": "set_password", "password": "p" * 20},
        "/coordinators/campaigns/new": {**GOOD_CAMPAIGN},
        "/coordinators/campaigns/winter/edit": {**GOOD_CAMPAIGN, "name": "Hijacked"},
        f"/coordinators/meetings/{pending.public_id}/approve": {},
        f"/coordinators/meetings/{meeting.public_id}/hide": {"reason": "Hijacked"},
        f"/coordinators/meetings/{meeting.public_id}/unhide": {},
        f"/coordinators/meetings/{meeting.public_id}/contact": {"subject": "x", "message": "x"},
        f"/coordinators/ideas/{idea.public_id}/status": {"status": "declined"},
    }
    before = (await OutboxMessage.all().count(), await Campaign.all().count())
    for sent in (None, own[:-4] + "AAAA"):
        for path, form in targets.items():
            data = {**form} if sent is None else {**form, "csrf_token": sent}
            response = await client.post(path, data=data)
            assert response.status_code == 403, path
            assert "reload the page" in response.text
    assert (await client.get("/coordinators")).status_code == 200, "still signed in"
    assert (await OutboxMessage.all().count(), await Campaign.all().count()) == before
    assert (await Coordinator.get(id=coordinator.id)).password_hash is None
    assert (await Meeting.get(id=pending.id)).status is MeetingStatus.PENDING
    assert (await Meeting.get(id=meeting.id)).status is MeetingStatus.COMPLETED
    assert (await Idea.get(id=idea.id)).status is IdeaStatus.NEW
    assert not await Campaign.filter(name="Hijacked").exists()
