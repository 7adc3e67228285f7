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


PG_INDEXES = """
SELECT ix.indisunique AS is_unique, array_agg(a.attname ORDER BY k.n) AS columns
FROM pg_index ix
JOIN pg_class t ON t.oid = ix.indrelid
JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n) ON true
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE t.relname = $1 AND NOT ix.indisprimary
GROUP BY ix.indexrelid, ix.indisunique
"""


async def test_database_has_every_index_the_models_declare(db: str) -> None:
    # SQLite table rebuilds in migrations used to drop indexes silently (the nearby
    # search then scanned every meeting); kit.db.ensure_indexes puts them back.
    from kit.db import declared_indexes, sqlite_indexes

    conn = Tortoise.get_connection("default")
    missing = []
    for table, wanted in declared_indexes().items():
        if conn.capabilities.dialect == "sqlite":
            have = await sqlite_indexes(conn, table)
        else:
            rows = await conn.execute_query_dict(PG_INDEXES, [table])
            have = {(tuple(r["columns"]), bool(r["is_unique"])) for r in rows}
        for columns, unique in wanted:
            if (columns, unique) not in have and (columns, True) not in have:
                missing.append((table, columns, unique))
    assert missing == []
