"""/dev/outbox: the outbox as a web page, only with KIT_DEBUG=1."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from kit.core.settings import Settings
from kit.store.models import OutboxMessage
from kit.web.app import create_app
from tests.factories import make_meeting


@pytest.fixture
async def debug_client(settings: Settings, db: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(settings, debug=True), manage_db=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_the_outbox_page_is_not_there_without_debug(client: httpx.AsyncClient) -> None:
    await make_meeting()
    page = await client.get("/dev/outbox")
    assert page.status_code == 404
    assert "quinn@example.org" not in page.text


async def test_the_outbox_page_lists_emails_and_keeps_their_html_in_a_sandbox(
    debug_client: httpx.AsyncClient,
) -> None:
    await make_meeting()
    email = await OutboxMessage.filter(recipient="quinn@example.org").order_by("-id").first()
    assert email is not None
    email.payload["body_html"] = '<p>Hi</p><script>alert("x")</script>'
    await email.save(update_fields=["payload"])
    page = await debug_client.get("/dev/outbox")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "quinn@example.org" in page.text and email.payload["subject"] in page.text
    assert email.kind in page.text and "pending" in page.text
    assert email.payload["body_text"].splitlines()[0] in page.text
    assert 'sandbox="" ' in page.text
    assert '<script>alert("x")</script>' not in page.text  # only escaped, in srcdoc
    assert 'srcdoc="&lt;p&gt;Hi&lt;/p&gt;&lt;script&gt;' in page.text
