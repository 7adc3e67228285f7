"""kit.toolkit.mail: queueing in the caller's transaction, MIME, transports, failures."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from itertools import takewhile
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from tortoise.transactions import in_transaction

from kit.models import OutboxEmail
from kit.notifications import unsubscribe_token
from kit.toolkit.mail import Transport, classify_failure, queue_email, to_mime, write_eml
from tests.factories import SECRET
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
    assert a["From"].addresses[0].addr_spec == "kit@example.org"


async def test_message_ids_do_not_count_the_kits_mail(db: str) -> None:
    """The outbox row id would tell every recipient how much mail the kit has sent."""
    rows = [await queue() for _ in range(3)]
    for row in rows:
        assert row.message_key and len(row.message_key) >= 12  # random, set when queued
        stored = await OutboxEmail.get(id=row.id)
        message_id = to_mime(stored, MAIL_FROM)["Message-ID"]
        created = stored.created_at.astimezone(UTC)
        assert message_id == f"<{created:%Y%m%d%H%M%S}.{stored.message_key}@example.org>"
        assert "outbox" not in message_id
    assert len({r.message_key for r in rows}) == 3


async def test_rows_queued_before_message_keys_keep_a_stable_id_without_theirs(db: str) -> None:
    old, other = await queue(), await queue("other@example.org")
    await OutboxEmail.filter(id__in=[old.id, other.id]).update(message_key=None)
    old, other = await OutboxEmail.get(id=old.id), await OutboxEmail.get(id=other.id)
    first = to_mime(old, MAIL_FROM)["Message-ID"]
    assert first == to_mime(await OutboxEmail.get(id=old.id), MAIL_FROM)["Message-ID"]
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


def test_write_eml_replaces_atomically_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    msg = EmailMessage()
    msg["Message-ID"] = "<20261123120000.k3J9x_2LqPz8@example.org>"
    msg["Subject"] = "first"
    msg.set_content("hello")
    path = write_eml(tmp_path, msg)
    msg.replace_header("Subject", "second")
    assert write_eml(tmp_path, msg) == path
    assert [p.name for p in tmp_path.iterdir()] == ["20261123120000.k3J9x_2LqPz8.eml"]
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


# --- What reaches the wire -------------------------------------------------------------

LONG_BASE_URL = "https://meetings.example-campaign.org"
LONG_ADDRESS = "alexandria.okafor-lindqvist@neighbors.example-campaign.org"


def unsubscribe_headers(address: str = LONG_ADDRESS) -> dict[str, str]:
    """What kit.notifications puts on host mail: a real token for a long address."""
    url = f"{LONG_BASE_URL}/unsubscribe/{unsubscribe_token(address, SECRET)}"
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def header_lines(raw: bytes) -> list[bytes]:
    """The header block as it was sent: one item per physical line."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    return head.split(b"\n")


def assert_one_click_unsubscribe(raw: bytes, url: str) -> None:
    lines = header_lines(raw)
    [line] = [x for x in lines if x.lower().startswith(b"list-unsubscribe:")]
    # RFC 2369 and 8058: the URL in angle brackets, not encoded words, and not folded
    # (a continuation line would start with whitespace right after it).
    assert line == f"List-Unsubscribe: <{url}>".encode()
    following = lines[lines.index(line) + 1]
    assert not following[:1].isspace()
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in lines
    assert max(len(x) for x in lines) <= 998


async def test_list_unsubscribe_goes_out_as_one_plain_line(
    db: str, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    headers = unsubscribe_headers()
    url = headers["List-Unsubscribe"].strip("<>")
    assert len(f"List-Unsubscribe: <{url}>") > 78  # longer than the line the policy folds at
    row = await queue(
        LONG_ADDRESS, headers=headers, sender_name="Zoë Ångström via House Meeting Kit"
    )
    await OutboxEmail.filter(id=row.id).update(subject="Ünïcödé: Zoë's café meeting, sign-up " * 2)
    row = await OutboxEmail.get(id=row.id)
    await Transport(smtp_server.url, tmp_path).send(to_mime(row, MAIL_FROM))

    [received] = smtp_server.received
    assert_one_click_unsubscribe(received.data, url)
    # The rest is still encoded as RFC 2047 and 5322 want: non-ASCII in encoded words,
    # long lines folded.
    lines = header_lines(received.data)
    start = next(n for n, x in enumerate(lines) if x.startswith(b"Subject:"))
    subject = [lines[start], *takewhile(lambda x: x[:1].isspace(), lines[start + 1 :])]
    assert len(subject) > 1 and all(len(x) <= 78 for x in subject)
    assert subject[0].startswith(b"Subject: =?utf-8?") and all(x.isascii() for x in subject)
    msg = received.message
    assert msg["Subject"] == row.subject
    assert msg["From"].addresses[0].display_name == "Zoë Ångström via House Meeting Kit"
    assert msg["List-Unsubscribe"] == f"<{url}>"

    eml = write_eml(tmp_path / "outbox", to_mime(row, MAIL_FROM))
    assert_one_click_unsubscribe(eml.read_bytes(), url)


def test_a_header_value_cannot_smuggle_a_line_break() -> None:
    row = OutboxEmail(
        id=1,
        message_key="k",
        to_addr="a@example.org",
        subject="Hi",
        body_text="x",
        headers={"List-Unsubscribe": "<https://x.example/u>\r\nBcc: victim@example.org"},
        attachments=[],
        created_at=datetime(2026, 11, 23, 12, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        to_mime(row, MAIL_FROM)
