"""Logging a background loop through an outage: one traceback, not one per retry.

The mail delivery and scheduling loops retry forever while the database or the
mail server is away. A traceback on every try buries the log an operator reads
afterwards; one traceback, then a line per try, then a line when it works again,
tells the same story.
"""

from __future__ import annotations

import logging


class FailureLog:
    """The log of one loop's run of failures."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self.log = log
        self.what = what  # "worker host:123: delivery"
        self.failures = 0

    def failed(self, exc: BaseException, retry_in: float) -> None:
        self.failures += 1
        if self.failures == 1:
            self.log.error("%s failed; trying again in %.0f s", self.what, retry_in, exc_info=exc)
        else:
            self.log.warning(
                "%s still failing (%r); trying again in %.0f s", self.what, exc, retry_in
            )

    def succeeded(self) -> None:
        if self.failures:
            self.log.info("%s works again after %s failed tries", self.what, self.failures)
        self.failures = 0
