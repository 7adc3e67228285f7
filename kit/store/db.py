"""Tortoise configuration and migrations.

Production schemas come only from the migrations in ``kit/migrations`` (Tortoise
1.x's built-in migration engine). ``TORTOISE_ORM`` serves the ``tortoise`` CLI
for ``makemigrations``; the kit itself always builds its config from Settings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tortoise import BaseDBAsyncClient, Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate

from kit.core.errors import KitError
from kit.core.rendering import plural
from kit.store.repin import ensure_public_points

MODELS_MODULE = "kit.store.models"
MIGRATIONS_MODULE = "kit.store.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(database_url)},
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


def connection_config(database_url: str) -> str | dict[str, Any]:
    """PostgreSQL and SQLite on the kit's own clients; SQLite with the kit's pragmas."""
    if database_url.startswith(("postgres://", "asyncpg://")):
        # kit.store.postgres hands a connection back to the pool when BEGIN fails (restarts).
        return {**expand_db_url(database_url), "engine": "kit.store.postgres"}
    if not database_url.startswith("sqlite://") or database_url == "sqlite://:memory:":
        return database_url
    expanded = expand_db_url(_driver_url(database_url))
    # kit.store.sqlite begins transactions IMMEDIATE, so several processes can write.
    return {**expanded, "engine": "kit.store.sqlite"}


def _driver_url(database_url: str) -> str:
    """Add the SQLite pragmas the kit relies on, and make sure the folder exists."""
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # WAL (Tortoise's default) lets readers and one writer work at once;
    # synchronous=NORMAL is durable across crashes of the process and ~5x faster
    # for single writes; busy_timeout makes a second process wait for the write
    # lock instead of failing with "database is locked" (see kit/store/sqlite.py).
    # A 64 MiB page cache per connection (the default is 2 MiB): a search near a city
    # reads a few hundred meeting rows by rowid, 0.4 µs each from the cache and about
    # four times that when SQLite has to ask the OS for the page again.
    sep = "&" if "?" in database_url else "?"
    extra = [
        p
        for p in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "busy_timeout=5000",
            "cache_size=-65536",
        )
        if p.split("=")[0] not in database_url
    ]
    return database_url + (sep + "&".join(extra) if extra else "")


class MigrationError(KitError):
    """A migration left the database inconsistent."""


async def apply_migrations(
    database_url: str, target: str | None = None, *, secret_key: str | None = None
) -> list[str]:
    """Apply pending migrations (or move to ``target``, "models.0003_..."); return the
    names applied (empty when up to date). With the site's ``secret_key``, also re-pin
    meetings whose public point predates the current scheme (kit.store.repin)."""
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    await migrate(
        config=tortoise_config(_migration_url(database_url)), target=target, progress=progress
    )
    try:
        conn = Tortoise.get_connection("default")
        if applied:  # a full scan of every table: only after a change
            await check_foreign_keys(conn)
        if target is None:  # the models declare the latest schema's indexes
            await ensure_indexes(conn)
            await ensure_seat_guards(conn)
            if secret_key is not None:
                await ensure_public_points(conn, secret_key)
    finally:
        await Tortoise.close_connections()
    return applied


def _migration_url(database_url: str) -> str:
    """SQLite, with foreign keys off while migrations run.

    Tortoise alters a SQLite column by copying the table and dropping the old one.
    With foreign keys on, that ``DROP TABLE`` cascades: rebuilding ``rsvp`` deleted
    every guest's access token and unlinked every attendee. SQLite's own procedure
    for such changes turns them off and runs ``foreign_key_check`` after, as here.
    """
    if not database_url.startswith("sqlite://") or "foreign_keys" in database_url:
        return database_url
    return database_url + ("&" if "?" in database_url else "?") + "foreign_keys=OFF"


async def check_foreign_keys(conn: BaseDBAsyncClient) -> None:
    """Fail loudly if a migration left rows pointing at rows that aren't there."""
    if conn.capabilities.dialect != "sqlite":
        return  # PostgreSQL enforces them throughout
    broken = await conn.execute_query_dict("PRAGMA foreign_key_check")
    if broken:
        tables = sorted({f"{row['table']} -> {row['parent']}" for row in broken})
        raise MigrationError(
            f"{plural(len(broken), 'row refers', 'rows refer')} to rows that don't exist "
            f"({', '.join(tables)}); restore the backup taken before migrating"
        )


def declared_indexes() -> dict[str, set[tuple[tuple[str, ...], bool]]]:
    """Per table, the (columns, unique) indexes the models ask for."""
    wanted: dict[str, set[tuple[tuple[str, ...], bool]]] = {}
    for model in Tortoise.apps["models"].values():
        meta = model._meta
        table = wanted.setdefault(meta.db_table, set())

        for name, field in meta.fields_map.items():
            if field.unique and not field.pk and name in meta.fields_db_projection:
                table.add(((meta.fields_db_projection[name],), True))
        for together in meta.unique_together:
            table.add((tuple(meta.fields_db_projection.get(f, f + "_id") for f in together), True))
        for index in meta.indexes:
            fields = index if isinstance(index, tuple) else tuple(index.fields)
            table.add((tuple(meta.fields_db_projection.get(f, f) for f in fields), False))
        for m2m in meta.m2m_fields:
            field = meta.fields_map[m2m]
            if getattr(field, "_generated", False):
                continue
            through = wanted.setdefault(field.through, set())
            through.add(((field.backward_key, field.forward_key), True))
    return wanted


async def ensure_indexes(conn: BaseDBAsyncClient) -> list[str]:
    """Recreate indexes a SQLite table rebuild lost; return the statements run.

    Tortoise 1.1.9 applies AlterField/RemoveField on SQLite by rebuilding the
    table and forgets its indexes and UNIQUE constraints: the nearby search then
    scans a million rows and a meeting could get two reports. PostgreSQL alters
    in place and keeps them, so there this finds nothing to do.
    """
    if conn.capabilities.dialect != "sqlite":
        return []
    created = []
    for table, wanted in declared_indexes().items():
        have = await sqlite_indexes(conn, table)
        for columns, unique in sorted(wanted):
            if (columns, unique) in have or (not unique and (columns, True) in have):
                continue
            kind = "UNIQUE INDEX" if unique else "INDEX"
            name = f"{'uidx' if unique else 'idx'}_{table}_{'_'.join(columns)}"[:60]
            cols = ", ".join(f'"{c}"' for c in columns)
            sql = f'CREATE {kind} IF NOT EXISTS "{name}" ON "{table}" ({cols})'
            await conn.execute_script(sql)
            created.append(sql)
    return created


SEAT_GUARD = "meeting_seats_in_range"


async def ensure_seat_guards(conn: BaseDBAsyncClient) -> None:
    """On SQLite, refuse any write that leaves a meeting with fewer than 0 or more seats
    taken than it has (PostgreSQL has the same rule as a CHECK constraint, migration 0008).

    Triggers, because SQLite can't add a CHECK to an existing table; recreated after
    every migration, because a Tortoise table rebuild drops them with the old table.
    """
    if conn.capabilities.dialect != "sqlite":
        return
    when = "WHEN NEW.seats_taken < 0 OR NEW.seats_taken > NEW.capacity"
    fail = f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: {SEAT_GUARD}'); END"
    for event in ("INSERT", "UPDATE OF seats_taken, capacity"):
        name = f"{SEAT_GUARD}_{event.split()[0].lower()}"
        await conn.execute_query(
            f'CREATE TRIGGER IF NOT EXISTS "{name}" BEFORE {event} ON meeting {when} {fail}'
        )


async def sqlite_indexes(conn: BaseDBAsyncClient, table: str) -> set[tuple[tuple[str, ...], bool]]:
    found = set()
    for index in await conn.execute_query_dict(f'PRAGMA index_list("{table}")'):
        info = await conn.execute_query_dict(f'PRAGMA index_info("{index["name"]}")')
        columns = tuple(row["name"] for row in sorted(info, key=lambda r: r["seqno"]))
        found.add((columns, bool(index["unique"])))
    return found


# For the `tortoise` command-line tool (makemigrations during development).
TORTOISE_ORM = tortoise_config(os.environ.get("KIT_DATABASE_URL", "sqlite://var/dev.sqlite3"))
