"""``kit backup``: a consistent copy of a SQLite database, taken while the kit serves.

sqlite3's online backup API copies the database page by page under a read lock,
so the copy is a snapshot of one moment even while other processes write (with
WAL they keep writing meanwhile). PostgreSQL is backed up with its own tool,
``pg_dump``, which gives the same guarantee from a single transaction.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kit.core.errors import KitError
from kit.ops.checks import sqlite_path


class BackupError(KitError):
    """A backup that can't be made; the message says what to do instead."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    source: Path
    bytes: int
    tables: dict[str, int]  # rows per table in the copy


def pg_dump_hint(database_url: str) -> str:
    return (
        "this database is PostgreSQL: back it up with pg_dump, e.g. "
        f"`pg_dump --format=custom --file=kit.dump '{database_url}'`, "
        "and restore with `pg_restore --clean --dbname=... kit.dump` (see docs/deployment.md)"
    )


def backup_sqlite(database_url: str, out: Path) -> BackupResult:
    """Copy the database to ``out`` (a new file) and check that the copy opens."""
    source_path = sqlite_path(database_url)
    if source_path is None:
        raise BackupError(pg_dump_hint(database_url))
    if not source_path.exists():
        raise BackupError(f"there is no database at {source_path} yet")
    if out.exists():
        raise BackupError(f"{out} already exists; choose a new file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    # Read-only: a backup must never be what changes (or locks for writing) the live file.
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # all pages in one step: one consistent snapshot
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            tables = count_rows(target)
            problem = target.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            target.close()
    finally:
        source.close()
    if problem != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed SQLite's integrity check: {problem}")
    os.replace(partial, out)  # the final name appears only for a complete copy
    return BackupResult(out, source_path, out.stat().st_size, tables)


def count_rows(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
