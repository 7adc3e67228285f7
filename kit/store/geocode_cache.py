"""Remote geocoders' answers kept in the database: shared by every worker, kept across
restarts, as public services (Nominatim) ask of their users; and the geocoder the
settings configure, in front of that cache."""

from __future__ import annotations

import hashlib
from typing import Any

from tortoise.exceptions import IntegrityError

from kit.core.errors import SettingsError
from kit.core.settings import Settings
from kit.maps.geocoding import GeocodeCache, GeocoderConfigError, make_geocoder
from kit.maps.places import Geocoder
from kit.store.models import GeocodeAnswer

KEY_MAX = 300


def _key(key: str) -> str:
    # Long queries are hashed so they fit the indexed column and stay unique.
    return key if len(key) <= KEY_MAX else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class DatabaseGeocodeCache:
    async def get(self, key: str) -> dict[str, Any] | None:
        row = await GeocodeAnswer.get_or_none(key=_key(key))
        return dict(row.value) if row is not None else None

    async def set(self, key: str, value: dict[str, Any]) -> None:
        try:
            await GeocodeAnswer.create(key=_key(key), value=value)
        except IntegrityError:  # another worker cached it first
            await GeocodeAnswer.filter(key=_key(key)).update(value=value)


def make_configured_geocoder(settings: Settings, cache: GeocodeCache | None = None) -> Geocoder:
    """``settings.geocoder`` in front of ``cache``; a bad setting is a SettingsError."""
    try:
        return make_geocoder(settings.geocoder, settings.geocoder_user_agent, cache=cache)
    except GeocoderConfigError as error:
        raise SettingsError(error.env, error.problem) from None
