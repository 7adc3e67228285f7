"""The schema comes from the migrations, and they match the models."""

from __future__ import annotations

import os
import subprocess
import sys

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from kit.db import tortoise_config
from kit.settings import Settings


def test_migrate_on_an_up_to_date_database_does_nothing(db: str, settings: Settings) -> None:
    # A separate process, as an operator runs it, against the suite's migrated database.
    env = {**os.environ, "KIT_DATABASE_URL": db, "KIT_DATA_DIR": str(settings.data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "kit.cli", "migrate"],
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Database is up to date."


async def test_models_have_no_changes_missing_from_migrations(db: str) -> None:
    detector = MigrationAutodetector(Tortoise.apps, tortoise_config(db)["apps"])
    assert await detector.changes() == [], (
        "models changed: run `tortoise makemigrations` and commit the new migration"
    )


def test_model_docstrings_have_no_semicolons() -> None:
    # Tortoise turns a model's docstring into a table comment and splits migration
    # SQL on ";" for SQLite: a semicolon there breaks `kit migrate`.
    from tortoise.models import Model

    import kit.models

    models = [
        m
        for m in vars(kit.models).values()
        if isinstance(m, type) and issubclass(m, Model) and m is not Model
    ]
    assert models
    assert [m.__name__ for m in models if ";" in (m.__doc__ or "")] == []
