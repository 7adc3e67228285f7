"""Small field checks shared by every input the kit accepts.

Each collects problems into a ``Problems`` dict keyed by field name (dotted,
matching the JSON body and the HTML form input names), so that one submission
reports every mistake at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

Problems = dict[str, str]

# The local part refuses control characters and broken UTF-16 too: invitation lists
# are split and checked with this alone, and PostgreSQL refuses a NUL in them.
EMAIL_RE = re.compile(
    r"^[^@\s<>(),;:\"\[\]\x00-\x1f\x7f\ud800-\udfff]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{5,25}$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A NUL byte (PostgreSQL refuses it in text) or half of a UTF-16 pair (a JSON
# "\ud83d" without its partner; no database can store it as UTF-8). Refused with a
# message rather than dropped, so both databases answer the same and nobody's
# text is silently changed.
UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


def text(
    data: Mapping[str, Any],
    name: str,
    problems: Problems,
    *,
    label: str,
    max_length: int,
    required: bool = False,
    multiline: bool = False,
) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems[name] = f"{label} must be text."
        return ""
    if UNSTORABLE_RE.search(value):
        problems[name] = (
            f"{label} contains a character we can't store (a NUL byte or a broken "
            "emoji). Please retype it."
        )
        return UNSTORABLE_RE.sub("", value)
    value = CONTROL_RE.sub("", value).strip()
    if not multiline:
        value = " ".join(value.split())
    if required and not value:
        problems[name] = f"Please enter {label.lower()}."
    elif len(value) > max_length:
        problems[name] = f"{label} is too long: {len(value)} characters, at most {max_length}."
    return value


def email(data: Mapping[str, Any], name: str, problems: Problems, *, required: bool = True) -> str:
    value = text(data, name, problems, label="An email address", max_length=254, required=required)
    if value and name not in problems and not EMAIL_RE.match(value):
        problems[name] = f"“{value}” doesn't look like an email address (name@example.org)."
    return value.lower()


def phone(data: Mapping[str, Any], name: str, problems: Problems) -> str | None:
    value = text(data, name, problems, label="A phone number", max_length=40)
    if value and name not in problems and not PHONE_RE.match(value):
        problems[name] = "Use digits, spaces and an optional leading +, e.g. +1 212 555 0100."
    return value or None


def integer(
    data: Mapping[str, Any],
    name: str,
    problems: Problems,
    *,
    label: str,
    default: int | None,
    minimum: int,
    maximum: int,
) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        problems[name] = f"{label} must be a whole number."
        return default
    try:
        number = int(value)
    except ValueError:
        problems[name] = f"{label} must be a whole number."
        return default
    if not minimum <= number <= maximum:
        problems[name] = f"{label} must be between {minimum} and {maximum}."
    return number


def choice(
    data: Mapping[str, Any],
    name: str,
    problems: Problems,
    *,
    label: str,
    options: tuple[str, ...],
    default: str,
) -> str:
    value = data.get(name) or default
    if value not in options:
        problems[name] = f"{label} must be one of: {', '.join(options)}."
        return default
    return str(value)


def boolean(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name)
    if isinstance(value, str):
        return value.lower() in {"1", "true", "on", "yes"}
    return bool(value)


def local_datetime(
    data: Mapping[str, Any],
    name: str,
    problems: Problems,
    *,
    label: str,
) -> datetime | None:
    """A datetime as typed: naive means "local time at the meeting's place"."""
    value = data.get(name)
    if not value:
        problems[name] = f"Please enter {label.lower()}."
        return None
    if not isinstance(value, str) or len(value) > 40:
        problems[name] = f"{label} must look like 2026-12-05T18:30."
        return None
    try:
        return datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        problems[name] = f"{label} must be a date and time like 2026-12-05T18:30."
        return None


def can_be_key(value: str | None, max_length: int) -> bool:
    """Could ``value`` (from a URL) be a stored id, slug or code of at most ``max_length``?

    Looking up one that can't makes the ORM refuse the length or PostgreSQL the NUL
    byte, which would be a 500; answering "not found" straight away is the truth.
    """
    return bool(value) and len(value) <= max_length and not UNSTORABLE_RE.search(value)


def in_zone(value: datetime, tz: str) -> datetime:
    """Naive → that zone's wall clock; aware (an explicit offset) is kept as given."""
    if value.tzinfo is None:
        return value.replace(tzinfo=ZoneInfo(tz))
    return value


def flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten {"address": {"street": ...}} to {"address.street": ...}.

    JSON bodies nest, HTML forms name inputs "address.street": both end up the
    same shape, so one validator serves both and error keys match input names.
    """
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            for inner, inner_value in flatten(value).items():
                flat[f"{key}.{inner}"] = inner_value
        else:
            flat[key] = value
    return flat
