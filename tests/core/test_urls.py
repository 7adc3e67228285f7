"""kit.core.urls: every link it builds resolves to the route it names, values are quoted, and
no other module builds links by hand."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from starlette.routing import Match

from kit.core import urls
from kit.web.routes import ROUTES

BASE = "https://kit.example.org"
ID = "Ab3-x_9Q"
TOKEN = "tok_EN-123abc"
SLUG = "spring-drive"

# builder call -> (route name, path params it must carry, query it must carry)
CASES: list[tuple[Callable[[], str], str, dict[str, str], dict[str, str]]] = [
    (lambda: urls.meeting(BASE, ID), "meeting_detail", {"id": ID}, {}),
    (lambda: urls.meeting_short(BASE, ID), "meeting_short_link", {"id": ID}, {}),
    (lambda: urls.manage(BASE, ID, TOKEN), "manage", {"id": ID}, {"token": TOKEN}),
    (lambda: urls.host_confirm(BASE, TOKEN), "host_confirm", {"token": TOKEN}, {}),
    (lambda: urls.manage_recover(BASE), "manage_recover", {}, {}),
    (lambda: urls.report_form(BASE, ID, TOKEN), "report_form", {"id": ID}, {"token": TOKEN}),
    (lambda: urls.rsvp_manage(BASE, TOKEN), "rsvp_manage", {"token": TOKEN}, {}),
    (lambda: urls.unsubscribe(BASE, TOKEN), "unsubscribe", {"token": TOKEN}, {}),
    (lambda: urls.person_feed(BASE, TOKEN), "person_feed", {"token": TOKEN}, {}),
    (lambda: urls.campaign(BASE, SLUG), "campaign_detail", {"slug": SLUG}, {}),
    (lambda: urls.campaign_feed(BASE, SLUG), "campaign_feed", {"slug": SLUG}, {}),
    (lambda: urls.idea_confirm(BASE, TOKEN), "idea_confirm", {"token": TOKEN}, {}),
    (
        lambda: urls.coordinator_signin(BASE, TOKEN),
        "coordinators_signin_link",
        {"token": TOKEN},
        {},
    ),
    (lambda: urls.find(BASE, {"near": "69001"}), "find", {}, {"near": "69001"}),
    (
        lambda: urls.host_form(BASE, {"host.name": "Ada", "grew_from": ID}),
        "host_form",
        {},
        {"host.name": "Ada", "grew_from": ID},
    ),
]


def resolve(url: str) -> tuple[str, dict[str, str]]:
    """The name and path params of the first route answering a GET of ``url``, as the app's
    router would pick it (routes are tried in order; the first full match wins)."""
    path = unquote(urlsplit(url).path)
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    for route in ROUTES:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "name", "")), dict(child.get("path_params", {}))
    raise AssertionError(f"no route answers GET {path}")


@pytest.mark.parametrize(("build", "name", "params", "query"), CASES, ids=[c[1] for c in CASES])
def test_each_url_resolves_to_its_route(
    build: Callable[[], str], name: str, params: dict[str, str], query: dict[str, str]
) -> None:
    url = build()
    assert url.startswith(BASE + "/")
    assert resolve(url) == (name, params)
    assert {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()} == query


def test_every_builder_is_covered() -> None:
    builders = {
        name
        for name, value in vars(urls).items()
        if inspect.isfunction(value) and value.__module__ == urls.__name__ and name[0] != "_"
    }
    called = {name for build, *_ in CASES for name in build.__code__.co_names}
    assert builders <= called


def test_links_are_byte_identical_to_the_hand_built_ones() -> None:
    assert urls.meeting(BASE, ID) == f"{BASE}/meetings/{ID}"
    assert urls.manage(BASE, ID, TOKEN) == f"{BASE}/manage/{ID}?token={TOKEN}"
    assert urls.report_form(BASE, ID, TOKEN) == f"{BASE}/manage/{ID}/report?token={TOKEN}"
    assert urls.person_feed(BASE, TOKEN) == f"{BASE}/feeds/{TOKEN}.ics"
    signed = "ImFAYi5jIg.Zx-9_q"  # an itsdangerous token keeps its dots and dashes
    assert urls.unsubscribe(BASE, signed) == f"{BASE}/unsubscribe/{signed}"


def test_odd_values_are_quoted() -> None:
    odd = "a/b c?d#e&f=g"
    assert urls.rsvp_manage(BASE, odd) == f"{BASE}/rsvp/a%2Fb%20c%3Fd%23e%26f%3Dg"
    assert urls.meeting(BASE, odd).endswith("/meetings/a%2Fb%20c%3Fd%23e%26f%3Dg")
    assert urls.campaign_feed(BASE, "é x").endswith("/campaigns/%C3%A9%20x/meetings.ics")
    managed = urlsplit(urls.manage(BASE, "x", odd))
    assert managed.path == "/manage/x" and not managed.fragment
    assert parse_qs(managed.query) == {"token": [odd]}
    found = urlsplit(urls.find(BASE, {"near": "Saint-Étienne & co"}))
    assert parse_qs(found.query) == {"near": ["Saint-Étienne & co"]}


KIT = Path(__file__).resolve().parents[2] / "kit"
HAND_BUILT = re.compile(r"base_url\}/|base_url\s*\+\s*[\"']/")


def test_no_module_builds_links_by_hand() -> None:
    found: dict[str, int] = {}
    for path in sorted(KIT.rglob("*.py")):
        rel = path.relative_to(KIT).as_posix()
        if rel == "core/urls.py":
            continue
        hits = len(HAND_BUILT.findall(path.read_text(encoding="utf-8")))
        if hits:
            found[rel] = hits
    assert found == {}


def test_urls_imports_nothing_of_the_kit() -> None:
    """kit.core.urls moves into kit.core (issue #14): plain values in, no models, no domain."""
    tree = ast.parse((KIT / "core" / "urls.py").read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {m for m in imported if m and (m == "kit" or m.startswith("kit."))}


def test_a_path_segment_is_quoted_as_quote_would_whatever_it_holds() -> None:
    from urllib.parse import quote

    from kit.core.urls import _part

    for value in ("abc-DEF_1.2~x", "a b", "é", "", "../x", "a/b", "%41", "?#&=", "x\n"):
        assert _part(value) == quote(value, safe=""), value
