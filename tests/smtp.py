"""A real SMTP server for tests: aiosmtpd on a free loopback port, keeping what arrives.

    async def test_x(smtp_server: SmtpServer) -> None:
        transport = Transport(smtp_server.url, tmp_path)   # or KIT_SMTP_URL=smtp_server.url
        ...
        [msg] = smtp_server.messages                      # parsed EmailMessage objects
        smtp_server.mailbox.refused["nobody@example.org"] = "550 5.1.1 No such user"

``SmtpServer(port)`` can also be built and started later in a test, to play a
server that is down at first.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


class Mailbox:
    """The aiosmtpd handler. Its hooks run on the controller's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self.refused: dict[str, str] = {}  # recipient -> reply, e.g. "550 5.1.1 No such user"
        self.delay = 0.0  # seconds before accepting each message
        self.stall_at: int | None = None  # the Nth DATA (1-based) hangs until `release`
        # The Nth DATA is kept (it arrived) but its 250 reply waits for `release`: the
        # window where the server has a message and the sender doesn't know it yet.
        self.stall_reply_at: int | None = None
        self.stalled = threading.Event()
        self.release = threading.Event()
        self._data_count = 0

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            self._data_count += 1
            number = self._data_count
        if number == self.stall_at:
            # Never accepted: the client sees no reply until it gives up or dies.
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 Stalled by the test"
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))
            )
        if number == self.stall_reply_at:
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        return "250 2.0.0 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        self.mailbox.release.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        with self.mailbox._lock:
            return list(self.mailbox.received)

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID arrived."""
        return Counter(str(m["Message-ID"]) for m in self.messages)

    async def wait_for(self, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} messages arrived")
            await asyncio.sleep(0.01)


@pytest.fixture
def smtp_server(unused_tcp_port: int) -> Iterator[SmtpServer]:
    """A running SMTP server on a free 127.0.0.1 port; ``.url`` is for KIT_SMTP_URL."""
    server = SmtpServer(unused_tcp_port).start()
    yield server
    server.stop()
