"""The one choke point for mail: queue in the caller's transaction, deliver later.

``queue_email`` renders ``templates/emails/<kind>/{subject.txt,body.txt,body.html}``
and stores the result as an ``OutboxEmail`` row, inside whatever transaction the
caller holds, so an email exists if and only if the change that caused it was
committed. ``deliver_pending`` turns rows into MIME messages and sends them over
SMTP, or writes them as .eml files when no SMTP server is configured.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
import anyio
import jinja2

from kit.models import EmailStatus, Meeting, OutboxEmail
from kit.rendering import make_environment

log = logging.getLogger("kit.mail")

MAX_ATTEMPTS = 8
_env: jinja2.Environment | None = None


def _templates() -> jinja2.Environment:
    global _env
    if _env is None:
        _env = make_environment()
    return _env


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body_text: str
    body_html: str


def render_email(kind: str, context: dict[str, Any]) -> RenderedEmail:
    env = _templates()
    subject = env.get_template(f"emails/{kind}/subject.txt").render(context)
    return RenderedEmail(
        subject=" ".join(subject.split()),
        body_text=env.get_template(f"emails/{kind}/body.txt").render(context),
        body_html=env.get_template(f"emails/{kind}/body.html").render(context),
    )


async def queue_email(
    kind: str,
    *,
    to: str,
    context: dict[str, Any],
    meeting: Meeting | None = None,
    sender_name: str = "",
    reply_to: str = "",
    headers: dict[str, str] | None = None,
    attachments: list[dict[str, str]] | None = None,
) -> OutboxEmail:
    """Render and store one email; call it inside the transaction of the change it reports."""
    rendered = render_email(kind, context)
    return await OutboxEmail.create(
        kind=kind,
        to_addr=to,
        sender_name=sender_name,
        reply_to=reply_to,
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=rendered.body_html,
        headers=headers or {},
        attachments=attachments or [],
        meeting=meeting,
        next_attempt_at=datetime.now(UTC),
    )


def to_mime(email: OutboxEmail, mail_from: str) -> EmailMessage:
    msg = EmailMessage()
    sender = Address(addr_spec=mail_from.rpartition("<")[2].rstrip(">").strip())
    msg["From"] = Address(email.sender_name or "House Meeting Kit", addr_spec=sender.addr_spec)
    msg["To"] = email.to_addr
    msg["Subject"] = email.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=f"outbox-{email.id}", domain=sender.domain)
    if email.reply_to:
        msg["Reply-To"] = email.reply_to
    for name, value in email.headers.items():
        msg[name] = value
    msg.set_content(email.body_text)
    if email.body_html:
        msg.add_alternative(email.body_html, subtype="html")
    for item in email.attachments:
        maintype, _, rest = item["content_type"].partition("/")
        subtype, *params = [part.strip() for part in rest.split(";")]
        msg.add_attachment(
            item["text"].encode(),
            maintype=maintype,
            subtype=subtype,
            filename=item["filename"],
            params=dict(p.split("=", 1) for p in params if "=" in p),
        )
    return msg


class Transport:
    """Where messages go: an SMTP server, or .eml files in a folder."""

    def __init__(self, smtp_url: str | None, outbox_dir: Path) -> None:
        self.smtp_url = smtp_url
        self.outbox_dir = outbox_dir

    async def send(self, msg: EmailMessage, email_id: int) -> None:
        if self.smtp_url is None:
            await anyio.to_thread.run_sync(self._write_file, msg, email_id)
            return
        parts = urlsplit(self.smtp_url)
        implicit_tls = parts.scheme == "smtps"
        port = parts.port or (465 if implicit_tls else 587 if parts.username else 25)
        await aiosmtplib.send(
            msg,
            hostname=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit_tls,
            # STARTTLS when credentials are sent; a local relay may speak plain SMTP.
            start_tls=True if (parts.username and not implicit_tls) else None,
            timeout=30,
        )

    def _write_file(self, msg: EmailMessage, email_id: int) -> None:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        path = self.outbox_dir / f"{email_id:08d}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(msg.as_bytes())
        tmp.replace(path)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 30 s, 1 min, 2 min, ... capped at 1 hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


async def deliver_pending(transport: Transport, mail_from: str, *, limit: int = 50) -> int:
    """Send the emails that are due; return how many went out."""
    now = datetime.now(UTC)
    due = (
        await OutboxEmail.filter(status=EmailStatus.PENDING, next_attempt_at__lte=now)
        .order_by("id")
        .limit(limit)
    )
    sent = 0
    for email in due:
        try:
            await transport.send(to_mime(email, mail_from), email.id)
        except (aiosmtplib.SMTPException, OSError) as exc:
            attempts = email.attempts + 1
            status = EmailStatus.FAILED if attempts >= MAX_ATTEMPTS else EmailStatus.PENDING
            log.warning(
                "email %s to %s failed (attempt %s): %s", email.id, email.to_addr, attempts, exc
            )
            await OutboxEmail.filter(id=email.id).update(
                attempts=attempts,
                status=status,
                last_error=str(exc)[:2000],
                next_attempt_at=datetime.now(UTC) + retry_delay(attempts),
            )
            continue
        await OutboxEmail.filter(id=email.id).update(
            status=EmailStatus.SENT, sent_at=datetime.now(UTC), attempts=email.attempts + 1
        )
        sent += 1
    return sent
