"""A clock tests move by hand, for code that takes ``now`` (a callable) instead of
reading the real one: leases and backoffs run out without a test sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """``now()`` is fixed (the real time at creation, or ``start``) until ``advance``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)
