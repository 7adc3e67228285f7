"""Waking this process's delivery loops as soon as something is queued."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

_listeners: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()


def notify() -> None:
    """Wake this process's delivery loops early; a no-op when none runs.

    Queuing calls it before the caller commits, so the loop waits a moment
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
