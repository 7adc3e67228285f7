"""What every visitor and API client meets first: home, health, errors, headers."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import httpx
from openapi_spec_validator import validate

import kit
from kit.printables import context as printing
from kit.store.models import Meeting, MeetingStatus
from kit.web.routes import ROUTES
from tests.factories import make_campaign, make_meeting, rsvp_link


async def test_home_page_leads_to_find_and_host(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="en">' in html
    assert 'href="/find"' in html
    assert 'href="/host"' in html
    assert "Find a meeting near you" in html


async def test_healthz_checks_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["database"]["ok"] is True


async def test_unknown_page_is_a_friendly_html_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "find" in response.text.lower()


async def test_unknown_api_url_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/no-such-thing")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"error", "fields"}
    assert body["error"]


async def test_security_headers_on_every_response(client: httpx.AsyncClient) -> None:
    for path in ("/", "/healthz", "/api/campaigns", "/missing"):
        headers = (await client.get(path)).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_pages_have_no_inline_scripts_or_styles(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    assert "<script>" not in html and "<script type" not in html
    assert " style=" not in html
    assert " onclick=" not in html


async def test_openapi_is_valid_and_lists_every_api_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    api_paths = {r.path for r in ROUTES if getattr(r, "path", "").startswith("/api/")}
    assert api_paths
    assert api_paths <= set(spec["paths"])


async def test_session_cookie_is_signed_and_http_only(client: httpx.AsyncClient) -> None:
    response = await client.get("/host")  # a page with a form: its CSRF token is in the session
    cookie = response.headers.get("set-cookie", "")
    assert cookie.startswith("kit_session=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()


async def test_a_page_without_a_form_sets_no_cookie(client: httpx.AsyncClient) -> None:
    for path in ("/", "/about", "/find?near=10027"):
        response = await client.get(path)
        assert response.status_code == 200
        assert "set-cookie" not in response.headers, path


async def test_a_wrong_method_names_every_method_the_path_takes(
    client: httpx.AsyncClient,
) -> None:
    # /api/meetings is two routes (search, publish): the 405 must offer both.
    response = await client.delete("/api/meetings")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert "error" in response.json()
    created = await make_meeting()
    one = await client.put(f"/api/meetings/{created.meeting.public_id}")
    assert set(one.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH"}


async def test_home_page_counts_upcoming_public_meetings_towns_and_countries(
    client: httpx.AsyncClient,
) -> None:
    await make_meeting(title="One")
    await make_meeting(title="Two")  # same town
    await make_meeting(
        title="Three", address={"locality": "Lyon", "postal_code": "", "country": "FR"}
    )
    called_off = await make_meeting(
        title="Four", address={"locality": "Oakland", "postal_code": "94612", "country": "US"}
    )
    await Meeting.filter(id=called_off.meeting.id).update(status=MeetingStatus.CANCELLED)
    html = (await client.get("/")).text
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "3 upcoming meetings in 2 towns across 2 countries." in text


async def test_pages_behind_a_secret_link_are_never_cached_nor_referred(
    client: httpx.AsyncClient,
) -> None:
    created = await make_meeting()
    meeting_id, token = created.meeting.public_id, created.manage_token
    await client.post(
        f"/api/meetings/{meeting_id}/rsvps", json={"name": "Ada", "email": "ada@example.org"}
    )
    rsvp_path = await rsvp_link("ada@example.org")
    private = {
        f"/manage/{meeting_id}?token={token}": 200,
        f"/manage/{meeting_id}/guests.csv?token={token}": 200,
        f"/meetings/{meeting_id}/packet.pdf?token={token}": 200,
        rsvp_path: 200,
        f"/manage/{meeting_id}?token=wrong": 404,
        "/manage/recover": 200,
        "/rsvp/not-a-token": 404,
        "/feeds/not-a-token.ics": 404,
        "/unsubscribe/not-a-token": 404,
        "/coordinators/signin/not-a-token": 404,
        "/ideas/confirm/not-a-token": 404,
        "/hosts/confirm/not-a-token": 404,
    }
    for path, status in private.items():
        response = await client.get(path)
        assert response.status_code == status, path
        assert response.headers["cache-control"] == "private, no-store", path
        assert response.headers["referrer-policy"] == "no-referrer", path
    # Public pages keep their own caching and the site-wide referrer policy.
    public = ["/", "/find", f"/meetings/{meeting_id}", f"/meetings/{meeting_id}.ics"]
    for path in [*public, "/static/css/kit.css", f"/meetings/{meeting_id}/flyer.pdf"]:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("cache-control", ""), path
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin", path
    assert "etag" in (await client.get("/static/css/kit.css")).headers


async def test_a_forged_host_header_never_reaches_a_page(client: httpx.AsyncClient) -> None:
    await make_campaign("winter")
    created = await make_meeting(campaign="winter")
    meeting_id = created.meeting.public_id
    pages = [
        "/",
        "/find",
        "/find?near=10027",
        f"/meetings/{meeting_id}",
        f"/manage/{meeting_id}?token={created.manage_token}",
        "/campaigns/winter",
    ]
    for path in pages:
        response = await client.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 200, path
        assert "evil.example" not in response.text, path
        # The kit's own files are linked root-relative, and each of them is there.
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', response.text)
        assert "/static/css/kit.css" in assets, path
        for asset in assets:
            assert (await client.get(asset)).status_code == 200, asset


async def test_no_redirect_points_at_a_forged_host(client: httpx.AsyncClient) -> None:
    # Starlette's trailing-slash redirect builds its Location from the Host header.
    for path in ("/find/", "/host/", "/coordinators/"):
        response = await client.get(path, headers={"Host": "evil.example"})
        assert "evil.example" not in response.headers.get("location", ""), path
        assert response.status_code == 404, path


def test_templates_link_assets_without_url_for() -> None:
    # url_for builds absolute URLs from the request's Host header: asset_url() instead.
    templates = Path(kit.__file__).parent / "templates"
    users = [p.name for p in templates.rglob("*.html") if "url_for(" in p.read_text()]
    assert users == []


def test_every_route_has_its_own_endpoint() -> None:
    """A handler serves one route (GET and POST of one form are one route): none guesses
    what to do from the path it was called on."""
    from collections import Counter

    from starlette.routing import Route

    shared = Counter(route.endpoint for route in ROUTES if isinstance(route, Route))
    assert [e.__qualname__ for e, n in shared.items() if n > 1] == []
    dispatch = re.compile(r"url\.path\.rsplit|url\.path\.endswith\(\"/|\[request\.url\.path\]")
    for path in Path(kit.__file__).parent.joinpath("web").glob("*.py"):
        assert not dispatch.search(path.read_text(encoding="utf-8")), path


def test_web_workers_import_weasyprint_only_to_print() -> None:
    """WeasyPrint is a third of a worker's start-up import (and 26 MB): it comes with the
    first PDF or the background warm-up, not with the app."""
    script = "import sys, kit.web.app; print(sorted(m for m in sys.modules if 'weasyprint' in m))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


async def test_pdf_warm_up_runs_in_the_background() -> None:
    printing.printables._shared.clear()
    loop_ticks = 0
    async with printing.warming_up() as warming:
        # The block runs at once, and the event loop stays free while the thread works.
        while not warming.done():
            await asyncio.sleep(0.005)
            loop_ticks += 1
    assert loop_ticks > 0
    assert printing.printables._shared, "the stylesheet is parsed and the fonts loaded"
