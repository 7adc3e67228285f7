"""A host who lost the manage link gets a fresh one by email; the old ones keep working
(switching them off is an explicit action on the manage page: tests/test_identity.py)."""

from __future__ import annotations

import re

import httpx

from kit.store.models import OutboxMessage
from tests.factories import csrf_from, make_meeting


async def test_fresh_link_by_email_leaves_the_old_one_working(client: httpx.AsyncClient) -> None:
    created = await make_meeting(host={"email": "Quinn@Example.org"})
    old = f"/manage/{created.meeting.public_id}?token={created.manage_token}"
    assert (await client.get(old)).status_code == 200

    token = await csrf_from(client, "/manage/recover")
    response = await client.post(
        "/manage/recover", data={"email": "quinn@example.org", "csrf_token": token}
    )
    assert response.status_code == 200
    assert "a fresh link is on its way" in response.text

    email = await OutboxMessage.filter(kind="manage_links").get()
    assert email.recipient == "quinn@example.org"
    fresh = re.search(r"http://testserver(/manage/\S+)", email.payload["body_text"])
    assert fresh
    assert (await client.get(fresh.group(1))).status_code == 200
    assert (await client.get(old)).status_code == 200  # a printed packet's link still works


async def test_unknown_email_gets_the_same_answer_and_no_mail(client: httpx.AsyncClient) -> None:
    token = await csrf_from(client, "/manage/recover")
    response = await client.post(
        "/manage/recover", data={"email": "nobody@example.org", "csrf_token": token}
    )
    assert response.status_code == 200
    assert "a fresh link is on its way" in response.text
    assert await OutboxMessage.all().count() == 0


async def test_malformed_email_is_refused_inline(client: httpx.AsyncClient) -> None:
    token = await csrf_from(client, "/manage/recover")
    response = await client.post("/manage/recover", data={"email": "nope", "csrf_token": token})
    assert response.status_code == 422
    assert 'value="nope"' in response.text
