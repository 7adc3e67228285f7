"""The one choke point for mail: queue in the caller's transaction, deliver later.

``queue_email`` renders ``templates/emails/<kind>/{subject.txt,body.txt,body.html}``
and stores the result as an ``OutboxEmail`` row, inside whatever transaction the
caller holds, so an email exists if and only if the change that caused it was
committed. ``to_mime`` turns a row into the same MIME message every time (stable
Message-ID and Date), and a ``Transport`` sends it over SMTP or writes it as an
.eml file. The worker that claims rows, retries and marks them sent lives in
``kit.toolkit.delivery``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy, Policy
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import anyio
import jinja2

from kit.models import Meeting, OutboxEmail
from kit.rendering import make_environment

if TYPE_CHECKING:
    from kit.settings import Settings

log = logging.getLogger("kit.mail")

SMTP_TIMEOUT = 30.0  # seconds, per SMTP command
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
    email = await OutboxEmail.create(
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
    notify()
    return email


# RFC 5322's hard limit for a line, CRLF excluded.
MAX_LINE = 998


class OneLineHeader(UnstructuredHeader, BaseHeader):  # the MRO the registry builds
    """A header written as it is, on one line: List-Unsubscribe and List-Unsubscribe-Post.

    The default policy folds lines past 78 characters; a URL has no space to fold at,
    so it RFC 2047-encodes the whole value instead (``=?utf-8?q?=3Chttps=3A//...?=``),
    and mail providers, which look for ``<https://...>`` (RFC 2369, 8058), offer no
    one-click unsubscribe. The object folds itself, so the generator aiosmtplib uses
    (its own SMTP policy) writes it the same way as ``as_bytes()`` for an .eml file.
    """

    def fold(self, *, policy: Policy) -> str:
        line = f"{self.name}: {self}"
        if not str(self).isascii() or len(line) > MAX_LINE:
            return str(super().fold(policy=policy))  # not our unsubscribe URLs: ASCII, short
        return line + policy.linesep


class EncodedTextHeader(UnstructuredHeader, BaseHeader):  # the MRO the registry builds
    """Subject: non-ASCII text in encoded words that keep every space.

    Python 3.11's folder drops the space between two encoded words that meet at a fold
    (CPython gh-144156, fixed in later versions), so a title such as "Zoë's café night
    …" could arrive with two words run together. The older ``email.header.Header``
    puts the spaces inside its encoded words, where decoding keeps them.
    """

    def fold(self, *, policy: Policy) -> str:
        if str(self).isascii():
            return str(super().fold(policy=policy))
        width = min(policy.max_line_length or 78, 78)
        text = Header(str(self), "utf-8", header_name=self.name).encode(
            linesep=policy.linesep, maxlinelen=width
        )
        return f"{self.name}: {text}{policy.linesep}"


def _policy() -> EmailPolicy[EmailMessage]:
    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", OneLineHeader)
    registry.map_to_type("list-unsubscribe-post", OneLineHeader)
    registry.map_to_type("subject", EncodedTextHeader)
    return default_policy.clone(header_factory=registry)


POLICY = _policy()


def to_mime(email: OutboxEmail, mail_from: str) -> EmailMessage:
    """The message for one outbox row; the same bytes every time it is built.

    Message-ID and Date come from the row, so a resend (after a crash between
    the server's 250 and marking the row sent) carries the same Message-ID and
    receivers can recognise the duplicate.
    """
    msg = EmailMessage(policy=POLICY)
    sender = Address(addr_spec=mail_from.rpartition("<")[2].rstrip(">").strip())
    created = email.created_at or datetime.now(UTC)
    msg["From"] = Address(email.sender_name or "House Meeting Kit", addr_spec=sender.addr_spec)
    msg["To"] = email.to_addr
    msg["Subject"] = email.subject
    msg["Date"] = format_datetime(created.astimezone(UTC))
    msg["Message-ID"] = message_id(email, sender.domain)
    if email.reply_to:
        msg["Reply-To"] = email.reply_to
    for name, value in email.headers.items():
        msg[name] = value
    msg.set_content(email.body_text)
    if email.body_html:
        msg.add_alternative(email.body_html, subtype="html")
    for item in email.attachments:
        _attach(msg, item)
    return msg


def message_id(email: OutboxEmail, domain: str) -> str:
    """``<20261123124500.k3J9x_2LqPz8@example.org>``: the row's random ``message_key``
    after its creation time, so stable per row and sortable, and unlike the row id it
    tells a recipient nothing about how much mail the kit sends."""
    created = (email.created_at or datetime.now(UTC)).astimezone(UTC)
    if email.message_key:
        return f"<{created:%Y%m%d%H%M%S}.{email.message_key}@{domain}>"
    # Rows queued before message keys existed (migration 0008). A hash of the id would
    # not hide it (ids are small numbers: try them all), and toolkit has no secret to
    # key one with, so the id is left out altogether: the exact creation time and a
    # hash of what the recipient can read anyway are just as stable and unique.
    content = "\0".join((email.to_addr, email.subject, email.body_text))
    digest = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"<{created:%Y%m%d%H%M%S.%f}.{digest}@{domain}>"


def _attach(msg: EmailMessage, item: dict[str, str]) -> None:
    maintype, _, rest = item["content_type"].partition("/")
    subtype, *raw_params = [part.strip() for part in rest.split(";")]
    params = dict(p.split("=", 1) for p in raw_params if "=" in p)
    if maintype == "text":  # keeps charset=utf-8, and e.g. text/calendar's method=REQUEST
        msg.add_attachment(item["text"], subtype=subtype, filename=item["filename"], params=params)
    else:
        msg.add_attachment(
            item["text"].encode(),
            maintype=maintype,
            subtype=subtype,
            filename=item["filename"],
            params=params,
        )


# --- Transports ------------------------------------------------------------------------


class MailSession(Protocol):
    async def send(self, msg: EmailMessage) -> None: ...


class Transport:
    """Where messages go: an SMTP server, or .eml files in a folder."""

    def __init__(self, smtp_url: str | None, outbox_dir: Path) -> None:
        self.smtp_url = smtp_url
        self.outbox_dir = outbox_dir

    @classmethod
    def from_settings(cls, settings: Settings) -> Transport:
        return cls(settings.smtp_url, settings.outbox_dir)

    def describe(self) -> str:
        if self.smtp_url is None:
            return f"files in {self.outbox_dir}"
        parts = urlsplit(self.smtp_url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}".rstrip(":")

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        """One connection for a batch of messages; it connects on the first send."""
        session: _SmtpSession | _FileSession
        if self.smtp_url is None:
            session = _FileSession(self.outbox_dir)
        else:
            session = _SmtpSession(self.smtp_url)
        try:
            yield session
        finally:
            await session.close()

    async def send(self, msg: EmailMessage) -> None:
        async with self.session() as session:
            await session.send(msg)


def smtp_options(smtp_url: str, timeout: float = SMTP_TIMEOUT) -> dict[str, Any]:
    """aiosmtplib.SMTP's arguments for KIT_SMTP_URL (``kit check`` connects with the same)."""
    parts = urlsplit(smtp_url)
    implicit_tls = parts.scheme == "smtps"
    return {
        "hostname": parts.hostname,
        "port": parts.port or (465 if implicit_tls else 587 if parts.username else 25),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_tls": implicit_tls,
        # STARTTLS when credentials are sent; a local relay may speak plain SMTP
        # (None: STARTTLS only if the server offers it).
        "start_tls": True if (parts.username and not implicit_tls) else None,
        "timeout": timeout,
    }


class _SmtpSession:
    def __init__(self, smtp_url: str) -> None:
        self._options = smtp_options(smtp_url)
        self._client: aiosmtplib.SMTP | None = None

    async def send(self, msg: EmailMessage) -> None:
        if self._client is None or not self._client.is_connected:
            client = aiosmtplib.SMTP(**self._options)
            await client.connect()  # logs in too when the URL has credentials
            self._client = client
        await self._client.send_message(msg)

    async def close(self) -> None:
        if self._client is None or not self._client.is_connected:
            return
        try:
            await self._client.quit()
        except (aiosmtplib.SMTPException, OSError):
            self._client.close()


class _FileSession:
    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir

    async def send(self, msg: EmailMessage) -> None:
        await anyio.to_thread.run_sync(write_eml, self.outbox_dir, msg)

    async def close(self) -> None:
        pass


def write_eml(outbox_dir: Path, msg: EmailMessage) -> Path:
    """Write ``<message-id local part>.eml`` atomically: readers never see half a file.

    The name comes from the Message-ID, so writing the same row twice replaces
    the file instead of adding a second one.
    """
    outbox_dir.mkdir(parents=True, exist_ok=True)
    msgid = str(msg["Message-ID"] or make_msgid()).strip("<>")
    name = "".join(c if c.isalnum() or c in ".-_" else "_" for c in msgid.partition("@")[0])
    path = outbox_dir / f"{name}.eml"
    tmp = outbox_dir / f".{name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(msg.as_bytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


# --- Failures and retries --------------------------------------------------------------


@dataclass(frozen=True)
class SendFailure:
    """What a failed send means for the row and for the rest of the batch."""

    error: str  # kept in OutboxEmail.last_error
    permanent: bool  # about this message (a refused recipient): retrying will not help
    stop_batch: bool  # about the server or our configuration: the next message would fail too


_SERVER_ERRORS = (
    aiosmtplib.SMTPConnectError,
    aiosmtplib.SMTPAuthenticationError,
    aiosmtplib.SMTPHeloError,
    aiosmtplib.SMTPSenderRefused,
)


def classify_failure(exc: BaseException) -> SendFailure:
    """Sort a send error: this message (maybe permanent), or the server (stop the batch)."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        error = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        permanent = bool(codes) and all(code >= 500 for code in codes)
        return SendFailure(f"recipient refused: {error}", permanent, stop_batch=False)
    if isinstance(exc, _SERVER_ERRORS) or getattr(exc, "code", None) == 421:
        # Can't connect, log in, or send as KIT_MAIL_FROM; or "421 closing channel".
        return SendFailure(_describe(exc), permanent=False, stop_batch=True)
    if isinstance(exc, aiosmtplib.SMTPResponseException):  # e.g. DATA refused: this message
        return SendFailure(_describe(exc), permanent=exc.code >= 500, stop_batch=False)
    if isinstance(exc, OSError):  # refused, reset, timed out, disk full
        return SendFailure(_describe(exc), permanent=False, stop_batch=True)
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):  # e.g. SMTPUTF8, bad address
        return SendFailure(_describe(exc), permanent=True, stop_batch=False)
    # STARTTLS not offered, an unexpected bug: don't burn the whole batch on it.
    return SendFailure(_describe(exc), permanent=False, stop_batch=True)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.code} {exc.message}"
    return f"{type(exc).__name__}: {exc}"


# --- Waking the delivery loop ----------------------------------------------------------

_listeners: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()


def notify() -> None:
    """Wake this process's delivery loops early; a no-op when none runs.

    ``queue_email`` calls it before the caller commits, so the loop waits a moment
    (``delivery.NOTIFY_DEBOUNCE``) before it looks; a transaction that takes longer is
    picked up by the next regular poll.
    """
    for loop, event in list(_listeners):
        with contextlib.suppress(RuntimeError):  # that loop has closed
            loop.call_soon_threadsafe(event.set)


@contextlib.contextmanager
def listen(event: asyncio.Event) -> Iterator[None]:
    """Have ``notify()`` set ``event`` while the block runs."""
    item = (asyncio.get_running_loop(), event)
    _listeners.add(item)
    try:
        yield
    finally:
        _listeners.discard(item)
