"""What delivery asks of a channel: a sender that opens a session and sends messages.

The outbox is one queue for every channel (``OutboxMessage.channel``). Delivery
claims due rows, groups them by channel and hands each group to that channel's
``Sender``; it keeps the leases, retries and backoff, the sender knows the payload
and the wire. A worker delivers only the channels it has senders for: the rows of
any other channel wait for a worker that has one.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from kit.store.models import Channel, OutboxMessage


@dataclass(frozen=True)
class Failure:
    """Why one message was not delivered, and what that means for the rest."""

    error: str  # kept with the message (``last_error``)
    permanent: bool  # about this message (a refused recipient): retrying will not help
    stop_batch: bool  # about the far end or our configuration: the next one would fail too


class ChannelSession(Protocol):
    async def send(self, message: OutboxMessage) -> Failure | None:
        """Deliver one message: None when the far end took it, else why not. An
        exception that escapes counts as a transient failure of this message."""
        ...


class Sender(Protocol):
    channel: Channel

    def describe(self) -> str:
        """Where messages go, for the log ("smtp://mail.example.org:587")."""
        ...

    def session(self) -> AbstractAsyncContextManager[ChannelSession]:
        """One connection (or none) for a batch of this channel's messages."""
        ...
