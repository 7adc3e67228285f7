"""kit.toolkit.mail: queueing in the caller's transaction, MIME, transports, failures."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from tortoise.transactions import in_transaction

from kit.models import OutboxEmail
from kit.toolkit.mail import Transport, classify_failure, queue_email, to_mime, write_eml
from tests.smtp import SmtpServer

CONTEXT = {"host": {"first_name": "Quinn"}, "links": []}
MAIL_FROM = "House Meeting Kit <kit@example.org>"


class _Rollback(Exception):
    pass


async def queue(to: str = "guest@example.org", **kwargs: Any) -> OutboxEmail:
    return await queue_email("manage_links", to=to, context=CONTEXT, **kwargs)


async def test_queue_email_is_stored_only_if_the_transaction_commits(db: str) -> None:
    with pytest.raises(_Rollback):
        async with in_transaction():
            await queue("lost@example.org")
            raise _Rollback
    async with in_transaction():
        await queue("kept@example.org")
    assert [e.to_addr for e in await OutboxEmail.all()] == ["kept@example.org"]


async def test_to_mime_gives_a_row_the_same_message_id_and_date_every_time(db: str) -> None:
    first, second = await queue(), await queue()
    a, b = to_mime(first, MAIL_FROM), to_mime(first, MAIL_FROM)
    assert a["Date"] == b["Date"]
    assert a["Message-ID"] == b["Message-ID"] != to_mime(second, MAIL_FROM)["Message-ID"]
    assert a["Message-ID"].endswith(f".outbox-{first.id}@example.org>")
    assert a["From"].addresses[0].addr_spec == "kit@example.org"


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


def test_write_eml_replaces_atomically_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    msg = EmailMessage()
    msg["Message-ID"] = "<20261123120000.000001.outbox-7@example.org>"
    msg["Subject"] = "first"
    msg.set_content("hello")
    path = write_eml(tmp_path, msg)
    msg.replace_header("Subject", "second")
    assert write_eml(tmp_path, msg) == path
    assert [p.name for p in tmp_path.iterdir()] == ["20261123120000.000001.outbox-7.eml"]
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "second"


async def test_a_refused_recipient_is_permanent_and_keeps_the_batch_going(
    db: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    smtp_server.mailbox.refused["nobody@example.org"] = "550 5.1.1 No such user"
    msg = to_mime(await queue("nobody@example.org"), MAIL_FROM)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await Transport(smtp_server.url, tmp_path).send(msg)
    failure = classify_failure(refused.value)
    assert failure.permanent and not failure.stop_batch
    assert "550 5.1.1 No such user" in failure.error


async def test_greylisting_is_transient(db: str, smtp_server: SmtpServer, tmp_path: Path) -> None:
    smtp_server.mailbox.refused["new@example.org"] = "451 4.7.1 Greylisted, try again later"
    msg = to_mime(await queue("new@example.org"), MAIL_FROM)
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await Transport(smtp_server.url, tmp_path).send(msg)
    failure = classify_failure(refused.value)
    assert not failure.permanent and not failure.stop_batch


async def test_a_server_that_is_down_stops_the_batch(
    db: str, unused_tcp_port: int, tmp_path: Path
) -> None:
    msg = to_mime(await queue(), MAIL_FROM)
    with pytest.raises(aiosmtplib.SMTPConnectError) as down:
        await Transport(f"smtp://127.0.0.1:{unused_tcp_port}", tmp_path).send(msg)
    failure = classify_failure(down.value)
    assert failure.stop_batch and not failure.permanent
