"""Domain errors whose messages are safe to show to the person who caused them.

The web layer maps each to a response in one place (``kit.web.errors``); the CLI
prints the message. Nothing here knows about HTTP beyond a suggested status.
"""

from __future__ import annotations

from collections.abc import Mapping


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
