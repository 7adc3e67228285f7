"""Domain errors whose messages are safe to show to the person who caused them.

The web layer maps each to a response in one place (``kit.web.errors``); the CLI
prints the message. Nothing here knows about HTTP beyond a suggested status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class KitError(Exception):
    """Base class: ``message`` is written for the user, ``fields`` names form fields."""

    status_code = 400

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, str] = dict(fields or {})


class ValidationError(KitError):
    status_code = 422

    def __init__(self, fields: Mapping[str, str], message: str | None = None) -> None:
        super().__init__(message or "Please correct the highlighted fields.", fields)


class AmbiguousPlace(ValidationError):
    """A town name several places share: ``choices`` (kit.maps.places.Place) go back to
    the host form as "Did you mean…?" options."""

    def __init__(self, field: str, message: str, choices: Sequence[Any]) -> None:
        super().__init__({field: message})
        self.choices = list(choices)


class NotFound(KitError):
    status_code = 404


class MeetingNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("We couldn't find that meeting. The link may be mistyped or revoked.")


class CampaignNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("We couldn't find that campaign.")


class PermissionDenied(KitError):
    status_code = 403


class Conflict(KitError):
    status_code = 409


class RateLimited(KitError):
    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(KitError):
    status_code = 503


class SettingsError(Exception):
    """A malformed ``KIT_*`` variable; the CLI prints it as one line and exits."""

    def __init__(self, env: str, problem: str) -> None:
        super().__init__(f"{env} {problem}")
        self.env = env


class DatabaseUnavailable(ServiceUnavailable):
    """The database can't be reached, written or locked right now: a condition that passes.

    ``problem`` is "down", "read_only" or "busy"; ``retry_after`` (seconds) says when
    trying again is worth it.
    """

    MESSAGES = {
        "down": (
            "The database is unavailable right now, so this can't be done. "
            "Please try again in a moment.",
            5,
        ),
        "read_only": (
            "The database is read-only right now (its disk can't be written), so changes "
            "can't be saved. Pages can still be read; please try again later.",
            60,
        ),
        "busy": ("The database is busy right now. Please try again in a moment.", 2),
    }

    def __init__(self, problem: str) -> None:
        message, self.retry_after = self.MESSAGES[problem]
        super().__init__(message)
        self.problem = problem


# PostgreSQL refusing or ending connections (SQLSTATE): shut down by an administrator or
# a crash, starting up, out of connection slots, or the connection itself failing. Not
# QueryCanceledError (57014, same class 57): a statement timeout is not an outage.
_PG_OUTAGE_CODES = {"57P01", "57P02", "57P03", "53300", "08000", "08001", "08003", "08004", "08006"}
# PostgreSQL refusing writes: a read-only transaction (a standby, or
# default_transaction_read_only), or a full disk.
_PG_READ_ONLY_CODES = {"25006", "53100"}
# SQLite result codes (``sqlite_errorname``); extended codes (SQLITE_IOERR_WRITE) share
# the prefix. An I/O error on write is what a read-only or failing disk gives.
_SQLITE_READ_ONLY = ("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_FULL")
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
# Where a plain OSError must come from to mean "the database connection failed"
# rather than, say, a missing file.
_DRIVER_PATHS = ("/asyncpg/", "/tortoise/backends/", "/aiosqlite/")


def database_unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """If ``exc``, or an exception it came from, says the database is down, read-only
    or busy: the matching user-facing error. Otherwise None (a bug, not an outage).

    The whole chain is read because drivers wrap and re-raise: Tortoise wraps sqlite3
    errors in its OperationalError, and asyncpg's pool raises InternalClientError while
    releasing a connection that just died, in the context of the real error.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        problem = _problem(current)
        if problem is not None:
            return DatabaseUnavailable(problem)
        todo += [current.__cause__, current.__context__]
        todo += [arg for arg in current.args if isinstance(arg, BaseException)]
    return None


def _problem(exc: BaseException) -> str | None:
    sqlite_name = getattr(exc, "sqlite_errorname", None)
    if isinstance(sqlite_name, str):
        if sqlite_name.startswith(_SQLITE_BUSY):
            return "busy"
        return "read_only" if sqlite_name.startswith(_SQLITE_READ_ONLY) else None
    if getattr(exc, "sqlstate", None) in _PG_OUTAGE_CODES:
        return "down"
    if getattr(exc, "sqlstate", None) in _PG_READ_ONLY_CODES:
        return "read_only"
    if type(exc).__name__ == "InternalClientError" and _raised_by_driver(exc):
        # asyncpg, on a pooled connection whose server just sent "terminating connection"
        # but whose socket isn't closed yet: "cannot switch to state 12; another operation
        # (2) is in progress". The pool drops that connection; the next request gets a new one.
        return "down"
    if isinstance(exc, OSError) and _raised_by_driver(exc):
        return "down"  # refused, reset, unreachable; Tortoise's DBConnectionError too
    return None


def _raised_by_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if any(part in tb.tb_frame.f_code.co_filename for part in _DRIVER_PATHS):
            return True
        tb = tb.tb_next
    return False
