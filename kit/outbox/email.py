"""The one choke point for mail: queue in the caller's transaction, deliver later.

``queue_email`` renders ``templates/emails/<kind>/{subject.txt,body.txt,body.html}``
and stores the result as an ``OutboxEmail`` row, inside whatever transaction the
caller holds, so an email exists if and only if the change that caused it was
committed. ``to_mime`` maps a row to the plain ``kit.toolkit.mail.Message`` the leaf
builds MIME from; the worker that claims rows, retries and marks them sent lives in
``kit.outbox.delivery``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import jinja2

from kit.core.rendering import make_environment
from kit.store.models import Meeting, OutboxEmail
from kit.toolkit.mail import Attachment, Message, build_message

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
    expires_at: datetime | None = None,
) -> OutboxEmail:
    """Render and store one email; call it inside the transaction of the change it reports.

    ``expires_at``: when it would arrive too late to help (``kit outbox retry --all``
    leaves it failed after that); None when it never does.
    """
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
        expires_at=expires_at,
    )
    notify()
    return email


def outbox_email_to_message(email: OutboxEmail, mail_from: str) -> Message:
    """The plain message of one outbox row, sent as ``mail_from`` (KIT_MAIL_FROM).

    Date and key come from the row, so a resend (after a crash between the server's
    250 and marking the row sent) carries the same Message-ID.
    """
    return Message(
        to=email.to_addr,
        from_addr=mail_from,
        from_name=email.sender_name,
        reply_to=email.reply_to,
        subject=email.subject,
        text=email.body_text,
        html=email.body_html,
        headers=dict(email.headers),
        attachments=tuple(
            Attachment(item["filename"], item["content_type"], item["text"])
            for item in email.attachments
        ),
        date=email.created_at,
        key=email.message_key,
    )


def to_mime(email: OutboxEmail, mail_from: str) -> EmailMessage:
    """The MIME message for one outbox row; the same bytes every time it is built."""
    return build_message(outbox_email_to_message(email, mail_from))


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
