"""Small field checks shared by every input the kit accepts.

Each collects problems into a ``Problems`` dict keyed by field name (dotted,
matching the JSON body and the HTML form input names), so that one submission
reports every mistake at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from kit.core.errors import ValidationError

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
    return value is not None and 0 < len(value) <= max_length and not UNSTORABLE_RE.search(value)


FOLDS = ("first", "second")  # which of a time the clocks show twice (PEP 495's fold 0 or 1)


def fold(data: Mapping[str, Any], name: str, problems: Problems) -> str:
    """ "first", "second", or "" (not said): only asked for when the time is ambiguous."""
    value = data.get(name) or ""
    if value != "" and value not in FOLDS:
        problems[name] = "Choose “first” or “second”."
        return ""
    return str(value)


def fold_of(local: datetime) -> str:
    """How ``fold`` names an aware wall time: "first"/"second" when the clocks show it
    twice, else "" (nothing to choose)."""
    return FOLDS[local.fold] if repeated(local) else ""


def in_zone(value: datetime, tz: str, name: str = "starts_at", which: str = "") -> datetime:
    """The moment a host means, in UTC. Naive is the wall clock in zone ``tz``; aware
    (an explicit offset) is kept as given.

    A wall time the zone skips (spring forward) or shows twice (fall back, unless
    ``which`` is "first" or "second") raises ValidationError on ``name``: guessing
    would put the meeting an hour off without anyone noticing.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz), fold=int(which == "second"))
        if skipped(value):
            raise ValidationError({name: skipped_message(value)})
        if repeated(value) and which not in FOLDS:
            first, second = value.replace(fold=0), value.replace(fold=1)
            raise ValidationError(
                {
                    name: repeated_message(value),
                    f"{name}_fold": (
                        f"Choose the first {_clock(value)} ({_zone(first)}) "
                        f"or the second ({_zone(second)})."
                    ),
                }
            )
    return _utc(value)


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # Year 1 or 9999 on a clock ahead of or behind UTC: no datetime can hold that
        # moment. It lies far outside what meeting_input.check_times allows, so it is
        # clamped to the calendar's end for check_times to refuse in its own words.
        return (datetime.max if value.year > 1 else datetime.min).replace(tzinfo=UTC)


def skipped(local: datetime) -> bool:
    """Do the clocks of ``local``'s zone jump over this wall time (a spring-forward gap)?"""
    try:
        back = local.astimezone(UTC).astimezone(local.tzinfo)
    except OverflowError:
        return False
    return back.replace(tzinfo=None, fold=0) != local.replace(tzinfo=None, fold=0)


def repeated(local: datetime) -> bool:
    """Do the clocks show this wall time twice (the hour a fall-back repeats)?"""
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


def skipped_message(local: datetime) -> str:
    # PEP 495: in a gap, fold=0 reads the time with the offset from before the jump,
    # which lands after the gap; fold=1 with the offset from after it, before the gap.
    after, before = (local.replace(fold=f).astimezone(UTC) for f in (0, 1))
    jump_from, jump_to = _clocks_around(before, after, local.tzinfo)
    zone = local.tzinfo
    return (
        f"{_clock(local)} doesn't exist on {local:%B %-d} in this time zone "
        f"(clocks jump {_jump(jump_from, jump_to, local)}). "
        f"Pick {_clock(before.astimezone(zone), local)} or {_clock(after.astimezone(zone), local)}."
    )


def repeated_message(local: datetime) -> str:
    first, second = (local.replace(fold=f).astimezone(UTC) for f in (0, 1))
    back_from, back_to = _clocks_around(first, second, local.tzinfo)
    return (
        f"{_clock(local)} happens twice on {local:%B %-d} in this time zone "
        f"(clocks go back {_jump(back_from, back_to, local)}). "
        f"Which one do you mean: the first ({_zone(local.replace(fold=0))}) "
        f"or the second ({_zone(local.replace(fold=1))})?"
    )


def _clocks_around(lo: datetime, hi: datetime, zone: tzinfo | None) -> tuple[datetime, datetime]:
    """The wall clock just before and at the offset change between UTC moments ``lo``
    and ``hi`` (2:00 and 3:00 for New York's spring forward). zoneinfo keeps its
    transitions private, so the change is found by halving, to the second."""
    old = lo.astimezone(zone).utcoffset()
    low, high = int(lo.timestamp()), int(hi.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == old:
            low = middle
        else:
            high = middle
    change = datetime.fromtimestamp(high, UTC)
    assert old is not None
    return (change + old).replace(tzinfo=None), change.astimezone(zone).replace(tzinfo=None)


def _clock(moment: datetime, day_of: datetime | None = None) -> str:
    """ "2:30 AM", with the day too when it isn't that of ``day_of``."""
    if day_of is not None and moment.date() != day_of.date():
        return moment.strftime("%-I:%M %p on %B %-d")
    return moment.strftime("%-I:%M %p")


def _jump(start: datetime, end: datetime, day_of: datetime) -> str:
    """ "from 2:00 to 3:00", as people say it; in full when it crosses midnight."""
    plain = all(m.date() == day_of.date() and m.hour not in {0, 12} for m in (start, end))
    if plain:
        return f"from {start:%-I:%M} to {end:%-I:%M}"
    return f"from {_clock(start, day_of)} to {_clock(end, day_of)}"


def _zone(moment: datetime) -> str:
    """EDT, CET; "UTC+10:30" where the zone has no letters for it (tzdata writes "+1030")."""
    name = moment.tzname() or ""
    if name[:1].isalpha():
        return name
    offset = moment.utcoffset() or timedelta()
    sign, minutes = ("-" if offset < timedelta() else "+"), abs(offset) // timedelta(minutes=1)
    return f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


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
