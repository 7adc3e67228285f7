"""The one choke point for mail: queue in the caller's transaction, deliver later.

``queue_email`` renders ``templates/emails/<kind>/{subject.txt,body.txt,body.html}``
and stores the result as an email ``OutboxMessage``, inside whatever transaction the
caller holds, so an email exists if and only if the change that caused it was
committed.

Rendering can wait for the commit. Inside ``rendering_after_commit()`` a message that
comes with its *facts* (``queue_email(..., facts=...)``: the renderer's name and the ids
and values it renders from) is stored as those facts only; once the transaction has
committed, the caller renders every such message from what it has in memory and writes
the result onto its row. A process that dies in between leaves facts-only rows, which
come due after ``RENDER_GRACE`` (so delivery doesn't race the process that will render
them a moment later): the email channel renders them at delivery through the renderer
registered under that name (``register_renderer``; the layer that writes the emails
registers them, so this one needs to know nothing of meetings), the same email either
way.

``EmailSender`` is the email channel of delivery: it maps a row to the plain
``kit.toolkit.mail.Message`` the leaf builds MIME from and sends it over SMTP
(or into .eml files). The loop that claims rows, retries and marks them sent is
``kit.outbox.delivery``, the same for every channel.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import jinja2
from tortoise import Tortoise
from tortoise.fields.data import JSON_DUMPS

from kit.core.rendering import make_environment
from kit.core.settings import Settings
from kit.outbox.channels import Failure
from kit.outbox.wake import notify
from kit.store.models import Channel, Meeting, OutboxMessage
from kit.store.sql import SqlParams
from kit.toolkit.mail import (
    Attachment,
    MailSession,
    Message,
    Transport,
    build_message,
    classify_failure,
)

log = logging.getLogger("kit.outbox.email")

_env: jinja2.Environment | None = None


def _templates() -> jinja2.Environment:
    global _env
    if _env is None:
        _env = make_environment()
        # Compiled once and kept: without this, every email stats each of its
        # templates' files to see whether it changed under the running process.
        _env.auto_reload = False
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


Payload = dict[str, Any]
# How long a row queued as facts waits for the process that queued it to render it.
RENDER_GRACE = timedelta(seconds=30)
# Renders the payload of a facts-only row (kind, facts, the site): see the module's doc.
FactsRenderer = Callable[[str, dict[str, Any], Settings], Awaitable[Payload]]
_renderers: dict[str, FactsRenderer] = {}


def register_renderer(name: str, render: FactsRenderer) -> None:
    _renderers[name] = render


class Deferred:
    """The messages of one transaction whose rendering waits for its commit."""

    def __init__(self) -> None:
        self.rows: list[tuple[OutboxMessage, Callable[[], Payload]]] = []

    def clear(self) -> None:
        """Start over: call it as the transaction (or a retry of it) begins."""
        self.rows.clear()

    async def render(self) -> None:
        """Render each message and store them on their rows, in one UPDATE: after the
        commit."""
        rows, self.rows = self.rows, []
        if not rows:
            return
        conn = Tortoise.get_connection("default")
        p = SqlParams(conn.capabilities.dialect)
        cast = "::jsonb" if p.postgres else ""
        ids, cases = [], []
        for email, render in rows:
            email.payload = render()
            ids.append(p.add(email.id))
            cases.append(f"WHEN {ids[-1]} THEN {p.add(JSON_DUMPS(email.payload))}{cast}")
        due = p.time(datetime.now(UTC))
        await conn.execute_query(
            f"UPDATE outbox_message SET payload = CASE id {' '.join(cases)} END, "
            f"next_attempt_at = {due} WHERE id IN ({', '.join(ids)})",
            p.values,
        )
        notify()


_deferred: ContextVar[Deferred | None] = ContextVar("kit_outbox_deferred", default=None)


@asynccontextmanager
async def rendering_after_commit() -> AsyncIterator[Deferred]:
    """Messages queued with facts in this block are rendered when it ends without an
    error; wrap the whole transaction (and clear() at the start of each attempt)."""
    deferred = Deferred()
    token = _deferred.set(deferred)
    try:
        yield deferred
    finally:
        _deferred.reset(token)
    await deferred.render()


def email_payload(
    kind: str,
    context: dict[str, Any],
    *,
    sender_name: str = "",
    reply_to: str = "",
    headers: dict[str, str] | None = None,
    attachments: list[dict[str, str]] | None = None,
) -> Payload:
    """What an email row holds once rendered."""
    rendered = render_email(kind, context)
    return {
        "sender_name": sender_name,
        "reply_to": reply_to,
        "subject": rendered.subject,
        "body_text": rendered.body_text,
        "body_html": rendered.body_html,
        "headers": headers or {},
        "attachments": attachments or [],
    }


async def queue_email(
    kind: str,
    *,
    to: str,
    context: dict[str, Any],
    meeting: Meeting | None = None,
    sender_name: str = "",
    reply_to: str = "",
    headers: dict[str, str] | None = None,
    attachments: Callable[[], list[dict[str, str]]] | list[dict[str, str]] | None = None,
    expires_at: datetime | None = None,
    facts: dict[str, Any] | None = None,
) -> OutboxMessage:
    """Render and store one email; call it inside the transaction of the change it reports.

    ``expires_at``: when it would arrive too late to help (``kit outbox retry --all``
    leaves it failed after that); None when it never does. ``facts`` (with the
    ``renderer`` registered for them): what lets rendering wait for the commit, inside
    ``rendering_after_commit()``. ``attachments`` may be a function, called when rendering.
    """

    def render() -> Payload:
        attached = attachments() if callable(attachments) else attachments
        return email_payload(
            kind,
            context,
            sender_name=sender_name,
            reply_to=reply_to,
            headers=headers,
            attachments=attached,
        )

    deferred = _deferred.get() if facts is not None else None
    now = datetime.now(UTC)
    email = await OutboxMessage.create(
        channel=Channel.EMAIL,
        kind=kind,
        recipient=to,
        payload={"facts": facts} if deferred is not None else render(),
        meeting=meeting,
        # A row of facts waits for its process to render it (which makes it due now):
        # delivery renders it only if that process died.
        next_attempt_at=now + RENDER_GRACE if deferred is not None else now,
        expires_at=expires_at,
    )
    if deferred is not None:
        deferred.rows.append((email, render))
    else:
        notify()
    return email


async def render_facts(email: OutboxMessage, site: Settings) -> Payload:
    """Render a facts-only row (its process died before it could) and store the result."""
    facts = email.payload["facts"]
    render = _renderers.get(facts.get("renderer", ""))
    if render is None:
        raise LookupError(f"no renderer {facts.get('renderer')!r} registered in this process")
    email.payload = await render(email.kind, facts, site)
    await OutboxMessage.filter(id=email.id).update(payload=email.payload)
    return email.payload


def outbox_email_to_message(email: OutboxMessage, mail_from: str) -> Message:
    """The plain message of one email row, sent as ``mail_from`` (KIT_MAIL_FROM).

    Date and key come from the row, so a resend (after a crash between the server's
    250 and marking the row sent) carries the same Message-ID.
    """
    content = email.payload
    return Message(
        to=email.recipient,
        from_addr=mail_from,
        from_name=content.get("sender_name", ""),
        reply_to=content.get("reply_to", ""),
        subject=content["subject"],
        text=content["body_text"],
        html=content.get("body_html", ""),
        headers=dict(content.get("headers") or {}),
        attachments=tuple(
            Attachment(item["filename"], item["content_type"], item["text"])
            for item in content.get("attachments") or ()
        ),
        date=email.created_at,
        key=email.message_key,
    )


def to_mime(email: OutboxMessage, mail_from: str) -> EmailMessage:
    """The MIME message for one email row; the same bytes every time it is built."""
    return build_message(outbox_email_to_message(email, mail_from))


# --- The email channel -----------------------------------------------------------------


class EmailSender:
    """Delivery's email channel: one SMTP connection per batch (or .eml files)."""

    channel = Channel.EMAIL

    def __init__(self, transport: Transport, mail_from: str, site: Settings | None = None) -> None:
        self.transport = transport
        self.mail_from = mail_from
        self.site = site  # to render rows queued as facts (see the module's doc)

    def describe(self) -> str:
        return self.transport.describe()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[_EmailSession]:
        async with self.transport.session() as smtp:
            yield _EmailSession(smtp, self.mail_from, self.site)


class _EmailSession:
    def __init__(self, smtp: MailSession, mail_from: str, site: Settings | None) -> None:
        self.smtp = smtp
        self.mail_from = mail_from
        self.site = site

    async def send(self, message: OutboxMessage) -> Failure | None:
        if "facts" in message.payload:
            if self.site is None:
                return Failure("queued as facts, and no site to render them", False, False)
            try:
                await render_facts(message, self.site)
            except Exception as exc:  # noqa: BLE001 - recorded on the row, tried again
                log.exception("cannot render email %s", message.id)
                return Failure(f"cannot render: {exc!r}", permanent=False, stop_batch=False)
        try:
            mime = to_mime(message, self.mail_from)
        except Exception as exc:  # a malformed row: trying again won't help
            log.exception("cannot build email %s", message.id)
            return Failure(f"cannot build: {exc!r}", permanent=True, stop_batch=False)
        try:
            await self.smtp.send(mime)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
            failure = classify_failure(exc)
            return Failure(failure.error, failure.permanent, failure.stop_batch)
        return None
