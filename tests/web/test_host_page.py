"""Every host page (``/manage/{id}...`` in the route table) goes through the one loader,
``kit.web.host_page``: a wrong, revoked or missing manage token gets the same plain 404,
whichever route and method. A new manage route that forgets the loader fails here."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request
from starlette.routing import Route

from kit.meetings.host_access import replace_manage_links
from kit.web.host_page import manage_token
from kit.web.routes import ROUTES
from tests.factories import SITE, csrf_from, make_meeting

MANAGE_ROUTES = [r for r in ROUTES if isinstance(r, Route) and r.path.startswith("/manage/{id}")]
CALLS = [
    (route, method)
    for route in MANAGE_ROUTES
    for method in sorted((route.methods or set()) - {"HEAD"})
]


def test_the_manage_routes_are_found_in_the_table() -> None:
    names = {route.name for route in MANAGE_ROUTES}
    assert {"manage", "manage_message", "manage_invite", "report_form"} <= names
    assert "manage_recover" not in names  # /manage/recover opens no meeting


async def ask(
    client: httpx.AsyncClient,
    route: Route,
    method: str,
    public_id: str,
    *,
    token: str | None,
    csrf: str,
    url_token: str | None = None,
) -> httpx.Response:
    """``method`` on ``route`` as the manage page sends it: ``?token=`` for a GET, the
    form's ``token`` field for a POST (``url_token`` adds one to the POST's URL)."""
    path = route.path.replace("{id}", public_id)
    given = {} if token is None else {"token": token}
    if method == "GET":
        return await client.get(path, params=given)
    params = {} if url_token is None else {"token": url_token}
    return await client.post(path, params=params, data={"csrf_token": csrf, **given})


def answer(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.text


@pytest.mark.parametrize(("route", "method"), CALLS, ids=[f"{r.name}-{m}" for r, m in CALLS])
async def test_every_manage_route_refuses_a_bad_token_alike(
    client: httpx.AsyncClient, route: Route, method: str
) -> None:
    csrf = await csrf_from(client, "/host")
    mine = await make_meeting(title="Mine", host={"email": "mine@example.org"})
    other = await make_meeting(title="Other", host={"email": "other@example.org"})
    public_id = mine.meeting.public_id
    revoked = mine.manage_token
    live = await replace_manage_links(mine.meeting, SITE)

    refused = {
        "wrong": await ask(client, route, method, public_id, token="wrong" * 8, csrf=csrf),
        "another meeting's": await ask(
            client, route, method, public_id, token=other.manage_token, csrf=csrf
        ),
        "revoked": await ask(client, route, method, public_id, token=revoked, csrf=csrf),
        "missing": await ask(client, route, method, public_id, token=None, csrf=csrf),
        "empty": await ask(client, route, method, public_id, token="", csrf=csrf),
    }
    if method == "POST":  # a form's token is its field: one in the URL opens nothing
        refused["in the URL of a POST"] = await ask(
            client, route, method, public_id, token=None, url_token=live, csrf=csrf
        )
    answers = {kind: answer(response) for kind, response in refused.items()}
    assert len(set(answers.values())) == 1, {k: a[0] for k, a in answers.items()}
    status, text = answers["missing"]
    assert status == 404
    assert "Mine" not in text and "mine@example.org" not in text

    # The live token is let in: the refusal above was the token's, not the route's.
    let_in = await ask(client, route, method, public_id, token=live, csrf=csrf)
    assert answer(let_in) != (status, text)


def request_with(query: str = "", authorization: str = "", path: str = "/manage/x") -> Request:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query.encode(),
        "headers": headers,
    }
    return Request(scope)


def test_where_the_token_comes_from() -> None:
    both = request_with("token=q", "Bearer b")
    assert manage_token(both) == "q"  # a page's link first
    assert manage_token(request_with(authorization="Bearer b")) == "b"
    assert manage_token(request_with()) == ""
    assert manage_token(both, {"token": "f"}) == "f"  # a form: its field, not the URL
    assert manage_token(both, {}) == ""
    api = request_with("token=q", "Bearer b", path="/api/meetings/x/report")
    assert manage_token(api) == "b"  # JSON: the bearer header only
    assert manage_token(request_with("token=q", path="/api/meetings/x/report")) == ""
