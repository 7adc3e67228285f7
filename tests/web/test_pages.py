"""The site's own pages: About, Privacy and Contact (the operator's text or the kit's
defaults), the footer that links them, and the favicon."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kit.core.settings import Settings
from kit.web.app import create_app

PAGES = ["/about", "/privacy", "/contact"]


@pytest.fixture
async def operator_site(
    settings: Settings, db: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Path]]:
    """The kit with a data folder of its own (for pages/*.md) and a contact address."""
    site = dataclasses.replace(settings, data_dir=tmp_path, contact_email="help@example.org")
    transport = httpx.ASGITransport(app=create_app(site, manage_db=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c, tmp_path / "pages"


@pytest.mark.parametrize("path", PAGES)
async def test_site_pages_have_sensible_defaults(client: httpx.AsyncClient, path: str) -> None:
    page = await client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for link in ['href="/about"', 'href="/privacy"', 'href="/contact"', 'href="/coordinators"']:
        assert link in page.text  # the footer, on every page


async def test_the_default_privacy_page_says_what_is_stored_and_how_to_delete_it(
    client: httpx.AsyncClient,
) -> None:
    text = (await client.get("/privacy")).text
    assert "never the street" in text and "Other guests never see your email address" in text
    assert "How long, and how to have it deleted" in text
    assert 'href="mailto:kit@example.org"' in text  # no KIT_CONTACT_EMAIL: the sender address
    assert "tile.openstreetmap.org" in text
    contact = (await client.get("/contact")).text
    assert 'href="mailto:kit@example.org"' in contact


async def test_the_operator_sets_the_text_in_markdown_sanitized(
    operator_site: tuple[httpx.AsyncClient, Path],
) -> None:
    client, pages = operator_site
    assert 'href="mailto:help@example.org"' in (await client.get("/contact")).text
    pages.mkdir()
    (pages / "about.md").write_text(
        "# About the Riverside campaign\n\nRun by *volunteers*.\n\n"
        '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror="alert(1)">\n'
    )
    about = await client.get("/about")
    assert about.status_code == 200
    assert "<h1>About the Riverside campaign</h1>" in about.text
    assert "<em>volunteers</em>" in about.text
    body = about.text.split('<article class="site-page">', 1)[1].split("</article>")[0]
    assert "<script" not in body and "<img" not in body  # raw HTML shows as text
    assert 'href="javascript:' not in body
    assert "House meetings are small gatherings" not in about.text  # the default gave way
    # The place data's licenses ask for attribution: it stays under the operator's text.
    assert "GeoNames</a> (CC BY 4.0)" in body and "(ODbL 1.0)" in body
    (pages / "privacy.md").write_text("  \n")  # an empty file: the defaults stay
    assert "what we store and why" in (await client.get("/privacy")).text


async def test_the_favicon_is_linked_and_served(client: httpx.AsyncClient) -> None:
    home = (await client.get("/")).text
    assert 'rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in home
    svg = await client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg")
    for path in ["/static/favicon.png", "/favicon.ico"]:
        png = await client.get(path)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
