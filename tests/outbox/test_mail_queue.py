"""kit.outbox.email: queueing in the caller's transaction, and an outbox row's MIME."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC
from email.message import EmailMessage
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from kit.outbox.email import queue_email, to_mime
from kit.store.models import OutboxMessage

CONTEXT = {"host": {"first_name": "Quinn"}, "links": []}
MAIL_FROM = "House Meeting Kit <kit@example.org>"


class _Rollback(Exception):
    pass


async def queue(to: str = "guest@example.org", **kwargs: Any) -> OutboxMessage:
    return await queue_email("manage_links", to=to, context=CONTEXT, **kwargs)


async def test_queue_email_is_stored_only_if_the_transaction_commits(db: str) -> None:
    with pytest.raises(_Rollback):
        async with in_transaction():
            await queue("lost@example.org")
            raise _Rollback
    async with in_transaction():
        await queue("kept@example.org")
    assert [e.recipient for e in await OutboxMessage.all()] == ["kept@example.org"]


async def test_to_mime_gives_a_row_the_same_message_id_and_date_every_time(db: str) -> None:
    first, second = await queue(), await queue()
    a, b = to_mime(first, MAIL_FROM), to_mime(first, MAIL_FROM)
    assert a["Date"] == b["Date"]
    assert a["Message-ID"] == b["Message-ID"] != to_mime(second, MAIL_FROM)["Message-ID"]
    assert a["From"].addresses[0].addr_spec == "kit@example.org"


async def test_message_ids_do_not_count_the_kits_mail(db: str) -> None:
    """The outbox row id would tell every recipient how much mail the kit has sent."""
    rows = [await queue() for _ in range(3)]
    for row in rows:
        assert row.message_key and len(row.message_key) >= 12  # random, set when queued
        stored = await OutboxMessage.get(id=row.id)
        message_id = to_mime(stored, MAIL_FROM)["Message-ID"]
        created = stored.created_at.astimezone(UTC)
        assert message_id == f"<{created:%Y%m%d%H%M%S}.{stored.message_key}@example.org>"
        assert "outbox" not in message_id
    assert len({r.message_key for r in rows}) == 3


async def test_rows_queued_before_message_keys_keep_a_stable_id_without_theirs(db: str) -> None:
    old, other = await queue(), await queue("other@example.org")
    await OutboxMessage.filter(id__in=[old.id, other.id]).update(message_key=None)
    old, other = await OutboxMessage.get(id=old.id), await OutboxMessage.get(id=other.id)
    first = to_mime(old, MAIL_FROM)["Message-ID"]
    assert first == to_mime(await OutboxMessage.get(id=old.id), MAIL_FROM)["Message-ID"]
    assert first != to_mime(other, MAIL_FROM)["Message-ID"]
    assert "outbox" not in first
    old.id += 1000  # the id is no part of it: nothing to read back, or to guess from
    assert to_mime(old, MAIL_FROM)["Message-ID"] == first


async def test_text_attachments_keep_their_charset_and_parameters(db: str) -> None:
    ics = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:Café night\r\nEND:VCALENDAR\r\n"
    row = await queue(
        attachments=[
            {"filename": "invite.ics", "content_type": "text/calendar; method=REQUEST", "text": ics}
        ]
    )
    parsed = email.message_from_bytes(
        to_mime(row, MAIL_FROM).as_bytes(), policy=email.policy.default
    )
    assert isinstance(parsed, EmailMessage)
    [part] = parsed.iter_attachments()
    assert part.get_content_type() == "text/calendar"
    assert part.get_param("method") == "REQUEST"
    assert part.get_content_charset() == "utf-8"
    assert part.get_content().replace("\r\n", "\n") == ics.replace("\r\n", "\n")
