"""kit.toolkit.mail: MIME of a plain message, transports, failures; no database."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from itertools import takewhile
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from kit.meetings.notifications import unsubscribe_token
from kit.toolkit import mail
from kit.toolkit.mail import (
    Attachment,
    Message,
    Transport,
    build_message,
    classify_failure,
    write_eml,
)
from tests.factories import SECRET
from tests.smtp import SmtpServer

MAIL_FROM = "House Meeting Kit <kit@example.org>"


def message(to: str = "guest@example.org", **fields: Any) -> Message:
    """A message as the outbox would hand it over: dated, with its random key."""
    defaults: dict[str, Any] = {
        "from_addr": MAIL_FROM,
        "subject": "Your links",
        "text": "Hello Quinn",
        "date": datetime(2026, 11, 23, 12, tzinfo=UTC),
        "key": "k3J9x_2LqPz8",
    }
    return Message(to=to, **{**defaults, **fields})


def test_a_message_built_twice_is_the_same_message() -> None:
    """A resend after a crash must carry the Message-ID receivers already saw."""
    first, again = build_message(message()), build_message(message())
    assert first.as_bytes() == again.as_bytes()
    assert first["Message-ID"] == "<20261123120000.k3J9x_2LqPz8@example.org>"
    assert first["Date"] == "Mon, 23 Nov 2026 12:00:00 +0000"
    assert first["From"].addresses[0].addr_spec == "kit@example.org"


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
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    smtp_server.mailbox.refused["nobody@example.org"] = "550 5.1.1 No such user"
    msg = build_message(message("nobody@example.org"))
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await Transport(smtp_server.url, tmp_path).send(msg)
    failure = classify_failure(refused.value)
    assert failure.permanent and not failure.stop_batch
    assert "550 5.1.1 No such user" in failure.error


async def test_greylisting_is_transient(smtp_server: SmtpServer, tmp_path: Path) -> None:
    smtp_server.mailbox.refused["new@example.org"] = "451 4.7.1 Greylisted, try again later"
    msg = build_message(message("new@example.org"))
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await Transport(smtp_server.url, tmp_path).send(msg)
    failure = classify_failure(refused.value)
    assert not failure.permanent and not failure.stop_batch


async def test_a_server_that_is_down_stops_the_batch(unused_tcp_port: int, tmp_path: Path) -> None:
    msg = build_message(message())
    with pytest.raises(aiosmtplib.SMTPConnectError) as down:
        await Transport(f"smtp://127.0.0.1:{unused_tcp_port}", tmp_path).send(msg)
    failure = classify_failure(down.value)
    assert failure.stop_batch and not failure.permanent


# --- What reaches the wire -------------------------------------------------------------

LONG_BASE_URL = "https://meetings.example-campaign.org"
LONG_ADDRESS = "alexandria.okafor-lindqvist@neighbors.example-campaign.org"


def unsubscribe_headers(address: str = LONG_ADDRESS) -> dict[str, str]:
    """What kit.meetings.notifications puts on host mail: a real token for a long address."""
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
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    headers = unsubscribe_headers()
    url = headers["List-Unsubscribe"].strip("<>")
    assert len(f"List-Unsubscribe: <{url}>") > 78  # longer than the line the policy folds at
    sent = message(
        LONG_ADDRESS,
        headers=headers,
        from_name="Zoë Ångström via House Meeting Kit",
        subject="Ünïcödé: Zoë's café meeting, sign-up " * 2,
    )
    await Transport(smtp_server.url, tmp_path).send(build_message(sent))

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
    assert msg["Subject"] == sent.subject
    assert msg["From"].addresses[0].display_name == "Zoë Ångström via House Meeting Kit"
    assert msg["List-Unsubscribe"] == f"<{url}>"

    eml = write_eml(tmp_path / "outbox", build_message(sent))
    assert_one_click_unsubscribe(eml.read_bytes(), url)


def test_a_header_value_cannot_smuggle_a_line_break() -> None:
    smuggler = message(
        "a@example.org",
        key="k",
        subject="Hi",
        text="x",
        headers={"List-Unsubscribe": "<https://x.example/u>\r\nBcc: victim@example.org"},
    )
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        build_message(smuggler)


def _plain_policy() -> EmailPolicy[EmailMessage]:
    """The kit's policy with a registry that parses every header afresh, as before
    ReusingRegistry: what the kit's mail looked like then."""
    plain = HeaderRegistry()
    for name in ("list-unsubscribe", "list-unsubscribe-post"):
        plain.map_to_type(name, mail.OneLineHeader)
    plain.map_to_type("subject", mail.EncodedTextHeader)
    return mail.POLICY.clone(header_factory=plain)


def _without_boundaries(data: bytes) -> bytes:
    return re.sub(rb"===============[\w-]+==", b"BOUNDARY", data)


def test_reused_headers_make_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Headers kept by the registry (each part's Content-Type, the host's From, ...)
    serve message after message; what goes out is byte for byte what a fresh parse
    of every header writes (MIME boundaries are random either way)."""
    plain = _plain_policy()

    invite = Attachment(
        "invite.ics", "text/calendar; method=REQUEST; charset=UTF-8", "BEGIN:VCALENDAR\r\n"
    )
    messages = [
        message(
            to=f"guest{i}@example.org",
            from_name=name,
            reply_to="quinn@example.org" if i % 2 else "",
            subject=subject,
            text=f"Hi {i}, café ·" if i % 3 else "Hello",
            html="<p>Zoë</p>" if i % 2 else "",
            headers={
                "List-Unsubscribe": f"<http://testserver/unsubscribe/{i}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            attachments=(invite,) if i % 4 == 1 else (),
            key=f"key{i:09d}",
        )
        for i in range(12)
        for name, subject in [
            ("Quinn via House Meeting Kit", "You're in: Neighbors talk schools"),
            ("Zoë via House Meeting Kit", "Zoë's café night … a very long title " * 3),
        ]
    ]
    for msg in messages + messages:  # the second round reuses every kept header
        kept = build_message(msg).as_bytes()
        with monkeypatch.context() as patch:
            patch.setattr(mail, "POLICY", plain)
            fresh = build_message(msg).as_bytes()
        assert _without_boundaries(kept) == _without_boundaries(fresh)


def test_mail_with_parts_is_the_same_bytes_every_time_it_is_built() -> None:
    """Text, HTML and an invite: the boundaries are the kit's own, so a resend after a
    crash is the very same message, and what a reader parses is what was written."""
    invite = Attachment("invite.ics", "text/calendar; method=REQUEST; charset=UTF-8", "BEGIN:X")
    msg = message(text="Hello Zoë", html="<p>Hello Zoë</p>", attachments=(invite,))
    first = build_message(msg).as_bytes()
    assert build_message(msg).as_bytes() == first
    parsed = email.message_from_bytes(first, policy=email.policy.default)
    assert parsed.get_boundary() == mail.BOUNDARIES["mixed"]
    body = parsed.get_body(("plain",))
    assert body is not None and body.get_content() == "Hello Zoë\n"
    html = parsed.get_body(("html",))
    assert html is not None and html.get_content() == "<p>Hello Zoë</p>\n"
    [attached] = parsed.iter_attachments()
    assert attached.get_content() == "BEGIN:X\n" and attached.get_param("method") == "REQUEST"


def test_a_part_holding_the_boundary_gets_a_random_one() -> None:
    """Someone could type the kit's boundary into a note that an email quotes: that
    message is written with a random boundary instead, and reads back whole."""
    text = f"Note: {mail.BOUNDARIES['alternative']}\n--{mail.BOUNDARIES['alternative']}--"
    built = build_message(message(text=text, html="<p>hi</p>")).as_bytes()
    parsed = email.message_from_bytes(built, policy=email.policy.default)
    assert parsed.get_boundary() not in (None, mail.BOUNDARIES["alternative"])
    body = parsed.get_body(("plain",))
    assert body is not None and body.get_content() == text + "\n"
