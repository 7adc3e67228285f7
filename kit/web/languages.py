"""What the visitor's browser says about where they may be: Accept-Language."""

from __future__ import annotations

import re
from functools import cache

# "fr-CH", "de", "zh-Hant-TW", "*"; each with an optional ";q=0.8".
_RANGE = re.compile(
    r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$"
)
MAX_HEADER = 500  # longer headers are truncated: nobody reads 50 languages
MAX_RANGES = 12


@cache
def _likely_subtags() -> dict[str, str]:
    from babel.core import get_global

    return dict(get_global("likely_subtags"))


def main_country(language: str) -> str:
    """A language's most likely country from CLDR: "fr" -> "FR", "de" -> "DE"; "" if none."""
    likely = _likely_subtags().get(language.lower(), "")  # "fr_Latn_FR"
    region = likely.split("_")[-1] if likely.count("_") >= 1 else ""
    return region if len(region) == 2 and region.isalpha() else ""


def hint_countries(header: str) -> tuple[str, ...]:
    """The countries an Accept-Language header points to, the most preferred first.

    A range's own region counts ("fr-CA" -> CA), else its language's main country
    ("fr" -> FR). Ranges with q=0, malformed ones and "*" say nothing.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:MAX_HEADER].split(",")[:MAX_RANGES]):
        match = _RANGE.match(part)
        if match is None or match.group(1) == "*":
            continue
        weight = _weight(match.group(2))
        country = _country_of(match.group(1))
        if weight > 0 and country:
            ranked.append((-weight, position, country))
    return tuple(dict.fromkeys(country for _, _, country in sorted(ranked)))


def _weight(text: str | None) -> float:
    try:
        return min(1.0, float(text)) if text else 1.0
    except ValueError:
        return 0.0


def _country_of(tag: str) -> str:
    language, *subtags = tag.split("-")
    regions = [s.upper() for s in subtags if len(s) == 2 and s.isalpha()]
    return regions[0] if regions else main_country(language)
