"""The schema comes from the migrations, and they match the models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector

from kit.core.settings import Settings
from kit.store.db import tortoise_config
from tests.servers import ROOT


def test_migrate_on_an_up_to_date_database_does_nothing(db: str, settings: Settings) -> None:
    # A separate process, as an operator runs it, against the suite's migrated database.
    env = {**os.environ, "KIT_DATABASE_URL": db, "KIT_DATA_DIR": str(settings.data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "kit.ops.cli", "migrate"],
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

    import kit.store.models

    models = [
        m
        for m in vars(kit.store.models).values()
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
    # search then scanned every meeting); kit.store.db.ensure_indexes puts them back.
    from kit.store.db import declared_indexes, sqlite_indexes

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


UPGRADE = r"""
import asyncio, json, sqlite3, sys
from kit.store.db import apply_migrations

url, path = sys.argv[1], sys.argv[2]
asyncio.run(apply_migrations(url, target="models.0003_host_agenda"))
now = "2026-11-01 18:00:00+00:00"
with sqlite3.connect(path) as db:
    db.executescript(f'''
    INSERT INTO person (id, name, email, created_at) VALUES
        (1, 'Quinn', 'quinn@example.org', '{now}'), (2, 'Ada', 'ada@example.org', '{now}');
    INSERT INTO meeting (id, public_id, title, description, host_note, starts_at, ends_at,
        timezone, street, directions, lat, lon, locality, region, postal_code, country,
        approx_lat, approx_lon, kind, capacity, seats_taken, visibility, status,
        reply_to_host, created_at, updated_at, host_id)
    VALUES (1, 'm1', 'Kitchen table talk', '', '', '{now}', '{now}', 'America/Chicago',
        '1 Main St', '', 44.98, -93.27, 'Minneapolis', 'MN', '55401', 'US', 44.98, -93.27,
        'home', 10, 1, 'public', 'published', 0, '{now}', '{now}', 1);
    INSERT INTO rsvp (id, guests, status, source, ref, note, consent, created_at,
        updated_at, meeting_id, person_id)
    VALUES (1, 0, 'confirmed', 'direct', '', '', 1, '{now}', '{now}', 1, 2);
    INSERT INTO access_token (token_hash, kind, created_at, meeting_id, person_id, rsvp_id)
    VALUES ('h1', 'meeting_manage', '{now}', 1, NULL, NULL),
           ('h2', 'rsvp_manage', '{now}', NULL, 2, 1),
           ('h3', 'person_feed', '{now}', NULL, 2, NULL);
    ''')
asyncio.run(apply_migrations(url))
with sqlite3.connect(path) as db:
    tables = ("person", "meeting", "rsvp", "access_token")
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    counts["tokens_of_rsvps"] = db.execute(
        "SELECT count(*) FROM access_token WHERE rsvp_id = 1").fetchone()[0]
print(json.dumps(counts))
"""


def test_upgrading_a_sqlite_database_keeps_every_row(tmp_path: Path) -> None:
    """Later migrations rebuild SQLite tables (meeting, access_token, report): the
    host's manage link and a guest's private link survive them."""
    path = tmp_path / "old.sqlite3"
    result = subprocess.run(
        [sys.executable, "-c", UPGRADE, f"sqlite://{path}", str(path)],
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts == {
        "person": 2,
        "meeting": 1,
        "rsvp": 1,
        "access_token": 3,
        "tokens_of_rsvps": 1,
    }
