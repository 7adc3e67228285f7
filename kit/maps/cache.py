"""Remote geocoders' answers kept in the database: shared by every worker, kept across
restarts, as public services (Nominatim) ask of their users."""

from __future__ import annotations

import hashlib
from typing import Any

from tortoise.exceptions import IntegrityError

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
