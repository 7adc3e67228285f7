"""Bad input to the JSON API gets a clear 4xx, never a 500: one test per finding.

Each of these was found by fuzzing (tests/test_api_fuzz.py) or by hand, and failed
before its fix. Run on SQLite and on PostgreSQL, which refuses NUL bytes in text.
"""

from __future__ import annotations

import json

import httpx
import pytest

from kit.store.models import Meeting, Person, Rsvp
from kit.web.openapi import SCHEMAS
from kit.web.routes import ROUTES
from tests.factories import (
    confirm_emailed_meeting,
    local,
    make_campaign,
    make_meeting,
    meeting_body,
)


def send_json(body: object) -> dict[str, object]:
    # json.dumps writes a lone surrogate as the escape "\ud800", exactly as a client can.
    return {"content": json.dumps(body), "headers": {"content-type": "application/json"}}


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "fields"}
    if field:
        assert field in body["fields"], body
        return str(body["fields"][field])
    return str(body["error"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/meetings/{long}",
        "/meetings/{long}",
        "/meetings/{long}.ics",
        "/meetings/{long}/flyer.pdf",
        "/manage/{long}?token=x",
        "/campaigns/{long}",
        "/campaigns/{long}/meetings.ics",
        "/campaigns/{long}/guide.pdf",
        "/api/campaigns/{long}/outcomes",
    ],
)
async def test_an_overlong_id_in_a_link_is_not_found(client: httpx.AsyncClient, path: str) -> None:
    # Found by fuzzing: the ORM refused to look up an id longer than the column (a 500).
    await make_campaign("abc")
    response = await client.get(path.format(long="a" * 300))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/meetings/%00",
        "/api/meetings?near=%00",
        "/api/meetings?near=10027&campaign=%00",
        "/api/meetings.geojson?bbox=-74.1,40.6,-73.8,40.9&campaign=%00",
        "/api/campaigns/%00/outcomes",
        "/api/coordinators/campaigns/%00/dashboard",
    ],
)
async def test_a_nul_byte_in_an_api_link_is_a_400_naming_it(
    client: httpx.AsyncClient, path: str
) -> None:
    # PostgreSQL refused the NUL inside the lookup: a 500 there, a 404 on SQLite.
    message = assert_error(await client.get(path), 400, "url")
    assert "NUL" in message


@pytest.mark.parametrize("path", ["/meetings/%00", "/campaigns/%00", "/find?near=%00"])
async def test_a_nul_byte_in_a_page_link_is_an_error_page(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "NUL character" in response.text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "Schools \x00 night"}, "title"),
        ({"title": "\ud83d"}, "title"),  # half an emoji: no UTF-8 for it
        ({"description": "ok\ud800"}, "description"),
        ({"host": {"name": "Quinn\x00"}}, "host.name"),
        ({"host": {"email": "quinn\udc00@example.org"}}, "host.email"),
        ({"address": {"locality": "New\x00York"}}, "address.locality"),
        ({"campaign": "\x00"}, "campaign"),
    ],
)
async def test_publishing_refuses_text_no_database_can_store(
    client: httpx.AsyncClient, overrides: dict[str, object], field: str
) -> None:
    response = await client.post("/api/meetings", **send_json(meeting_body(**overrides)))
    assert "can't store" in assert_error(response, 422, field)
    assert await Meeting.all().count() == 0


async def test_changing_a_meeting_refuses_half_an_emoji_and_keeps_it_unchanged(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    auth = {"authorization": f"Bearer {created.manage_token}"}
    request = send_json({"address": {"locality": "\ud800"}, "title": "New title"})
    response = await client.patch(
        f"/api/meetings/{created.meeting.public_id}",
        content=request["content"],
        headers={**request["headers"], **auth},
    )
    assert_error(response, 422, "address.locality")
    meeting = await Meeting.get(id=created.meeting.id)
    assert (meeting.title, meeting.locality) == ("Neighbors talk schools", "New York")


@pytest.mark.parametrize("name", ["\ud800", "Ana\x00"])
async def test_an_rsvp_with_unstorable_text_is_refused_with_nothing_saved(
    client: httpx.AsyncClient, name: str
) -> None:
    created = await make_meeting()
    response = await client.post(
        f"/api/meetings/{created.meeting.public_id}/rsvps",
        **send_json({"name": name, "email": "ana@example.org"}),
    )
    assert_error(response, 422, "name")
    assert await Rsvp.all().count() == 0
    assert await Person.filter(email="ana@example.org").count() == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\x00", 400),  # not JSON
        (b"[1, 2]", 400),  # JSON, but not an object
        (b"\xff\xfe{", 400),  # not UTF-8
    ],
)
async def test_changing_a_meeting_with_a_body_that_is_not_a_json_object_is_a_400(
    client: httpx.AsyncClient, body: bytes, status: int
) -> None:
    created = await make_meeting()
    response = await client.patch(
        f"/api/meetings/{created.meeting.public_id}",
        content=body,
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {created.manage_token}",
        },
    )
    assert_error(response, status)


def documented(path: str, method: str) -> set[str]:
    api_routes = [r for r in ROUTES if getattr(r, "path", "").startswith("/api/")]
    return set(SCHEMAS.get_schema(routes=api_routes)["paths"][path][method]["responses"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/meetings"),
        ("patch", "/api/meetings/{id}"),
        ("post", "/api/meetings/{id}/rsvps"),
    ],
)
def test_every_json_body_operation_documents_its_bad_body_answers(method: str, path: str) -> None:
    # Found by fuzzing: PATCH and RSVP answered 400/415 (and 413 for a huge body)
    # without documenting them.
    assert {"400", "413", "415", "422"} <= documented(path, method)


async def test_a_body_over_the_size_limit_is_a_413_in_json(client: httpx.AsyncClient) -> None:
    body = json.dumps(meeting_body(description="x" * (3 * 1024 * 1024)))
    response = await client.post(
        "/api/meetings", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 413)
    assert await Meeting.all().count() == 0


def test_a_new_meeting_documents_which_fields_it_needs() -> None:
    api_routes = [r for r in ROUTES if getattr(r, "path", "").startswith("/api/")]
    schemas = SCHEMAS.get_schema(routes=api_routes)["components"]["schemas"]
    assert set(schemas["MeetingInput"]["required"]) >= {"title", "starts_at", "ends_at", "host"}
    assert "required" not in schemas["MeetingChanges"]  # a change sends only what changes


def json_body_operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation that reads a JSON body."""
    api_routes = [r for r in ROUTES if getattr(r, "path", "").startswith("/api/")]
    paths = SCHEMAS.get_schema(routes=api_routes)["paths"]
    return [
        (method, path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]


def test_the_json_body_operations_are_the_ones_we_fuzz_by_hand() -> None:
    # A new operation with a body joins the tests below by itself; this says which we know.
    assert set(json_body_operations()) == {
        ("post", "/api/meetings"),
        ("patch", "/api/meetings/{id}"),
        ("post", "/api/meetings/{id}/rsvps"),
        ("post", "/api/meetings/{id}/report"),
        ("post", "/api/meetings/{id}/flags"),
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 5000, "nests too deeply"),  # RecursionError inside json.loads
        (b'{"a":' * 5000, "nests too deeply"),
        # Parsed fine, then flattening it ran out of stack.
        (b'{"a":' * 900 + b"1" + b"}" * 900, "more than 32 levels"),
        (b'{"title": NaN}', "NaN is not a number"),  # Python reads it; JSON has no NaN
        (b'{"capacity": -Infinity}', "-Infinity is not a number"),
        (b'{"capacity": 1e999}', "too large"),
        (b'{"capacity": ' + b"9" * 5000 + b"}", "too long"),
        (b'{"title": "x",', "line 1, column 15"),
    ],
)
@pytest.mark.parametrize(("method", "path"), json_body_operations())
async def test_a_body_that_is_not_json_is_a_400_saying_why_on_every_json_operation(
    client: httpx.AsyncClient, method: str, path: str, body: bytes, reason: str
) -> None:
    created = await make_meeting()
    response = await client.request(
        method,
        path.format(id=created.meeting.public_id),
        content=body,
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {created.manage_token}",
        },
    )
    message = assert_error(response, 400)
    assert message.startswith("The body is not valid JSON")
    assert reason in message


@pytest.mark.parametrize(
    "content_type",
    ["APPLICATION/JSON", "Application/Json; Charset=UTF-8", "application/json;charset=utf-8"],
)
async def test_the_json_media_type_is_case_insensitive_and_may_carry_parameters(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        "/api/meetings", content=json.dumps(meeting_body()), headers={"content-type": content_type}
    )
    assert response.status_code == 201, response.text
    await confirm_emailed_meeting(client, "quinn@example.org")
    rsvp = await client.post(
        f"/api/meetings/{response.json()['id']}/rsvps",
        content=json.dumps({"name": "Ana", "email": "ana@example.org"}),
        headers={"content-type": content_type},
    )
    assert rsvp.status_code == 202, rsvp.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/jsonp", "", "json"])
async def test_a_body_that_is_not_sent_as_json_is_a_415(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        "/api/meetings", content=json.dumps(meeting_body()), headers={"content-type": content_type}
    )
    assert "Content-Type: application/json" in assert_error(response, 415)


FAR_AHEAD = "The start time is more than two years ahead. Pick a time within the next two years."
PAST = "The start time is in the past. Pick a time that's still ahead."


@pytest.mark.parametrize(
    ("starts_at", "message"),
    [
        ("9999-12-31T23:30", FAR_AHEAD),  # year 10000 in UTC: OverflowError before
        ("9999-12-31T23:59-05:00", FAR_AHEAD),
        ("0001-01-01T00:00+05:00", PAST),  # year 0 in UTC
        ("0001-01-01T00:30", PAST),
        (local(800, 18), FAR_AHEAD),  # stored before, and then no page could show it
    ],
)
async def test_a_start_outside_the_next_two_years_is_refused_on_publish_and_change(
    client: httpx.AsyncClient, starts_at: str, message: str
) -> None:
    # The end is left as typed, so the start's own message is what's checked here.
    body = meeting_body(starts_at=starts_at, ends_at=starts_at)
    assert assert_error(
        await client.post("/api/meetings", **send_json(body)), 422, "starts_at"
    ) == (message)
    created = await make_meeting()
    request = send_json({"starts_at": starts_at, "ends_at": starts_at})
    response = await client.patch(
        f"/api/meetings/{created.meeting.public_id}",
        content=request["content"],
        headers={**request["headers"], "authorization": f"Bearer {created.manage_token}"},
    )
    assert assert_error(response, 422, "starts_at") == message
    assert await Meeting.all().count() == 1


async def test_an_end_at_the_calendars_end_is_refused_as_too_long(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/meetings", **send_json(meeting_body(ends_at="9999-12-31T23:30"))
    )
    assert assert_error(response, 422, "ends_at") == "A house meeting can last at most 12 hours."


@pytest.mark.parametrize("path", ["/api/meetings", "/find", "/meetings.ics"])
@pytest.mark.parametrize(
    ("name", "day"), [("from", "0001-01-01"), ("to", "9999-12-31"), ("from", "9999-12-31")]
)
async def test_a_search_date_years_away_is_a_400_naming_it(
    client: httpx.AsyncClient, path: str, name: str, day: str
) -> None:
    # Year 1 at Tokyo's midnight is year 0 in UTC; the day after 9999-12-31 doesn't exist.
    near = "Tokyo, Japan" if day.startswith("0001") else "10027"
    response = await client.get(path, params={"near": near, name: day})
    assert response.status_code == 400, response.text
    message = f"“{day}” is too far from today. Pick a date within 10 years."
    if path.startswith("/api/"):
        assert assert_error(response, 400, name) == message
    else:
        assert message in response.text
