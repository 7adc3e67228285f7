"""The Jinja2 environment shared by pages, emails and printables."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import get_timezone_name
from markupsafe import Markup, escape

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # kit/, holding templates/
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"


@functools.lru_cache(maxsize=1024)
def zone(tz: str) -> ZoneInfo:
    """``ZoneInfo(tz)``, kept: ZoneInfo's own cache holds only the 8 latest zones strongly,
    so a page of meetings in many zones reloaded their files (a search's 20 results:
    about a tenth of its time). 1,024 is more zones than the tz database has."""
    return ZoneInfo(tz)


def wall_clock(value: datetime, tz: str) -> datetime:
    """A stored UTC datetime on the wall clock of the meeting's place.

    Kept in UTC when the place's clock can't show it: 9999-12-31 23:00 UTC is already
    year 10000 in Paris, past what a datetime holds. No meeting can be booked that far
    out, but a row from before that rule (or edited by hand) must not break every page
    that lists it; shown as stored, it is plain to see and to fix.
    """
    try:
        return value.astimezone(zone(tz))
    except OverflowError:
        return value.astimezone(UTC)


def local_time(value: datetime, tz: str, fmt: str = "%a %b %-d, %Y · %-I:%M %p") -> str:
    """A stored UTC datetime shown on the wall clock of the meeting's place."""
    local = wall_clock(value, tz)
    # datetime.UTC (not ZoneInfo("UTC")) only when the place's clock couldn't show it.
    return f"{local:{fmt}} UTC" if local.tzinfo is UTC else local.strftime(fmt)


def plural(count: int, one: str, many: str) -> str:
    """ "1 guest", "3 guests": a count with its noun, as people write it."""
    return f"{count} {one if count == 1 else many}"


# Zones Babel names by a place in brackets ("Unknown Region (UTC) Time") or a country
# and city ("United States (Honolulu) Time"): said plainly instead.
ZONE_NAMES = {"UTC": "UTC", "Etc/UTC": "UTC", "Pacific/Honolulu": "Hawaii Time"}


@functools.cache
def zone_name(zone: str) -> str:
    """The name people say for a time zone: "Eastern Time", not "America/New_York".

    Babel's generic long name (CLDR, US English): one name all year, since a meeting page
    shouldn't say "Standard" in summer. The IANA id stays in machine-readable places
    (data attributes, JSON, .ics); an id Babel doesn't know is shown with spaces.
    """
    if zone in ZONE_NAMES:
        return ZONE_NAMES[zone]
    try:
        name = get_timezone_name(zone, width="long", locale="en_US")
    except LookupError:
        name = zone
    return zone.replace("_", " ") if name == zone else name


Option = str | tuple[str, str]


def option_tags(options: Sequence[Option], current: str) -> Markup:
    """A select's ``<option>`` tags (value and label escaped; ``current`` selected).

    Written here rather than by a template loop: the find form's 250 countries cost a
    third of its page in Jinja; the tags of each list and choice are kept (bounded).
    """
    return _option_tags(tuple(options), current)


@functools.lru_cache(maxsize=256)
def _option_tags(options: tuple[Option, ...], current: str) -> Markup:
    tags = []
    for option in options:
        value, label = (option, option) if isinstance(option, str) else option
        selected = " selected" if str(value) == current else ""
        tags.append(f'<option value="{escape(value)}"{selected}>{escape(label)}</option>')
    return Markup("\n    ".join(tags))


def make_environment(*extra_dirs: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([TEMPLATES_DIR, *extra_dirs]),
        autoescape=jinja2.select_autoescape(("html", "htm", "xml", "svg")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local_time"] = local_time
    env.filters["zone_name"] = zone_name
    env.filters["plural"] = plural
    env.globals["option_tags"] = option_tags
    return env
