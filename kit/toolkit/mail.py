"""MIME building and SMTP transport of a plain message: a leaf that knows no outbox.

``build_message`` turns a :class:`Message` into the same MIME message every time (a
stable Message-ID and Date from the message's own ``date`` and ``key``), and a
``Transport`` sends it over SMTP or writes it as an .eml file; ``classify_failure``
says what a send error means for a retry. Rendering templates and the outbox that
queues and delivers messages live on the kit side (``kit.outbox.email``,
``kit.outbox.delivery``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy, Policy
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
import anyio

SMTP_TIMEOUT = 30.0  # seconds, per SMTP command


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # may carry parameters: "text/calendar; method=REQUEST"
    text: str  # text/* goes as text (keeping charset=utf-8); anything else as its bytes


@dataclass(frozen=True)
class Message:
    """One email as plain data; whoever stores messages maps its rows to this.

    ``date`` and ``key`` make the Message-ID, so the same stored message built twice
    (a resend after a crash) carries the same Message-ID and receivers can drop the copy.
    """

    to: str
    from_addr: str  # "Name <address>" or a bare address: only the address is used
    subject: str
    text: str
    html: str = ""
    from_name: str = ""  # shown as the sender; "House Meeting Kit" when empty
    reply_to: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    date: datetime | None = None  # when it was written; now when None
    key: str | None = None  # random and unique per message; None for rows from before keys


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


class ReusingRegistry(HeaderRegistry):
    """The header registry, keeping the parsed header of a name and value it has made.

    Most headers of the kit's mail repeat message after message (each part's
    Content-Type and Content-Transfer-Encoding, MIME-Version, the invite's
    Content-Disposition, List-Unsubscribe-Post, the host's From): parsing them again
    was about a third of building a message. A header object is an immutable string
    with its parse tree, which folding only reads, so one can serve every message;
    the bytes are the same (a test builds mail both ways). Headers unique to a message
    (To, Date, Message-ID, the unsubscribe link) are parsed as before, never kept.
    """

    KEPT = frozenset(
        {
            "content-type",
            "content-transfer-encoding",
            "content-disposition",
            "mime-version",
            "list-unsubscribe-post",
            "from",
            "reply-to",
        }
    )
    LIMIT = 4096  # distinct headers kept; past it the cache starts again

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[tuple[str, str], BaseHeader] = {}

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if name.lower() not in self.KEPT or not isinstance(value, str):
            return super().__call__(name, value)
        key = (name, value)
        header = self._made.get(key)
        if header is None:
            if len(self._made) >= self.LIMIT:
                self._made.clear()
            header = self._made[key] = super().__call__(name, value)
        return header


def _policy() -> EmailPolicy[EmailMessage]:
    registry = ReusingRegistry()
    registry.map_to_type("list-unsubscribe", OneLineHeader)
    registry.map_to_type("list-unsubscribe-post", OneLineHeader)
    registry.map_to_type("subject", EncodedTextHeader)
    return default_policy.clone(header_factory=registry)


POLICY = _policy()


def build_message(message: Message) -> EmailMessage:
    """The MIME message for ``message``; the same bytes every time it is built (its
    multipart boundaries included, unless a part contains one: ``BOUNDARIES``)."""
    msg = EmailMessage(policy=POLICY)
    sender = Address(addr_spec=message.from_addr.rpartition("<")[2].rstrip(">").strip())
    created = message.date or datetime.now(UTC)
    msg["From"] = Address(message.from_name or "House Meeting Kit", addr_spec=sender.addr_spec)
    msg["To"] = message.to
    msg["Subject"] = message.subject
    msg["Date"] = format_datetime(created.astimezone(UTC))
    msg["Message-ID"] = message_id(message, sender.domain)
    if message.reply_to:
        msg["Reply-To"] = message.reply_to
    for name, value in message.headers.items():
        msg[name] = value
    msg.set_content(message.text)
    if message.html:
        msg.add_alternative(message.html, subtype="html")
    for item in message.attachments:
        _attach(msg, item)
    _set_boundaries(msg)
    return msg


# One boundary per kind of multipart (mixed holds alternative), the same in every
# message: a boundary need only be absent from the parts it separates (RFC 2046 5.1.1).
# Python's generator would otherwise draw a random one when writing the message, parse
# the Content-Type again to add it and compile a regex to check it: about a third of
# writing a message. A part that happens to contain it keeps the random one.
BOUNDARIES = {
    "mixed": "===============kit-mixed-1==",
    "alternative": "===============kit-alternative-1==",
}


def _set_boundaries(msg: EmailMessage) -> None:
    if not msg.is_multipart():
        return
    leaves = [part.get_payload() for part in msg.walk() if not part.is_multipart()]
    for part in msg.walk():
        boundary = BOUNDARIES.get(part.get_content_subtype()) if part.is_multipart() else None
        if boundary and not any(boundary in str(leaf) for leaf in leaves):
            part.set_boundary(boundary)


def message_id(message: Message, domain: str) -> str:
    """``<20261123124500.k3J9x_2LqPz8@example.org>``: the message's random ``key``
    after its date, so stable per message and sortable, and unlike a row id it
    tells a recipient nothing about how much mail the kit sends."""
    created = (message.date or datetime.now(UTC)).astimezone(UTC)
    if message.key:
        return f"<{created:%Y%m%d%H%M%S}.{message.key}@{domain}>"
    # Rows queued before message keys existed (migration 0008). A hash of the id would
    # not hide it (ids are small numbers: try them all), and toolkit has no secret to
    # key one with, so the id is left out altogether: the exact creation time and a
    # hash of what the recipient can read anyway are just as stable and unique.
    content = "\0".join((message.to, message.subject, message.text))
    digest = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"<{created:%Y%m%d%H%M%S.%f}.{digest}@{domain}>"


def _attach(msg: EmailMessage, item: Attachment) -> None:
    maintype, _, rest = item.content_type.partition("/")
    subtype, *raw_params = [part.strip() for part in rest.split(";")]
    params = dict(p.split("=", 1) for p in raw_params if "=" in p)
    if maintype == "text":  # keeps charset=utf-8, and e.g. text/calendar's method=REQUEST
        msg.add_attachment(item.text, subtype=subtype, filename=item.filename, params=params)
    else:
        msg.add_attachment(
            item.text.encode(),
            maintype=maintype,
            subtype=subtype,
            filename=item.filename,
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

    error: str  # kept with the message (the outbox's last_error)
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
