"""Tortoise configuration and migrations.

Production schemas come only from the migrations in ``kit/migrations`` (Tortoise
1.x's built-in migration engine). ``TORTOISE_ORM`` serves the ``tortoise`` CLI
for ``makemigrations``; the kit itself always builds its config from Settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate

MODELS_MODULE = "kit.models"
MIGRATIONS_MODULE = "kit.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _driver_url(database_url)},
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _driver_url(database_url: str) -> str:
    """Add the SQLite pragmas the kit relies on, and make sure the folder exists."""
    if not database_url.startswith("sqlite://") or database_url == "sqlite://:memory:":
        return database_url
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # WAL + synchronous=NORMAL is durable across crashes of the process and ~5x
    # faster for single writes; busy_timeout lets a second process wait instead
    # of failing with "database is locked".
    sep = "&" if "?" in database_url else "?"
    extra = [
        p
        for p in ("synchronous=NORMAL", "busy_timeout=5000")
        if p.split("=")[0] not in database_url
    ]
    return database_url + (sep + "&".join(extra) if extra else "")


async def apply_migrations(database_url: str) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    await migrate(config=tortoise_config(database_url), progress=progress)
    await Tortoise.close_connections()
    return applied


# For the `tortoise` command-line tool (makemigrations during development).
TORTOISE_ORM = tortoise_config(os.environ.get("KIT_DATABASE_URL", "sqlite://var/dev.sqlite3"))
