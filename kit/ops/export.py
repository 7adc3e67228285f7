"""``kit export``: every table as JSON Lines, plus a manifest, from one consistent snapshot.

All tables are read inside one transaction (REPEATABLE READ, READ ONLY on
PostgreSQL; one read transaction on SQLite, which sees a single snapshot under
WAL), so the counts in the manifest and the rows in the files agree with each
other even while the kit keeps serving. The output is a folder, a ``.zip`` or a
``.tar.gz``. It holds personal data (names, emails, addresses, phone numbers):
treat it like the database itself.
"""

from __future__ import annotations

import base64
import json
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from tortoise import BaseDBAsyncClient, Tortoise
from tortoise.fields.relational import ManyToManyFieldInstance
from tortoise.transactions import in_transaction

from kit import __version__
from kit.core.errors import KitError
from kit.ops.checks import migration_state
from kit.store.sql import SqlParams, query_dicts

FORMAT = "house-meeting-kit-export/1"
MANIFEST = "manifest.json"
PAGE = 5000  # rows per query, so a big table is not held in memory at once


class ExportError(KitError):
    """An export that can't be written where asked."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    manifest: dict[str, Any]


def output_kind(out: Path) -> str:
    name = out.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    return "dir"


def table_keys() -> dict[str, tuple[str, ...]]:
    """Each table behind the models (and many-to-many links) with its key columns, in a
    stable order. Export pages through a table in the order of its key."""
    keys: dict[str, tuple[str, ...]] = {}
    for model in Tortoise.apps["models"].values():
        keys[model._meta.db_table] = (model._meta.db_pk_column,)
        for name in model._meta.m2m_fields:
            field = cast(ManyToManyFieldInstance, model._meta.fields_map[name])
            # A link table has no key column, but its pair of foreign keys is unique
            # (Tortoise's many-to-many default): that pair is its key. The declared side
            # (not the generated reverse) names the pair in its unique index's order.
            if not field._generated:
                keys[field.through] = (field.backward_key, field.forward_key)
    return dict(sorted(keys.items()))


def kit_tables() -> list[str]:
    """The tables behind the models (and many-to-many links), in a stable order."""
    return list(table_keys())


def to_json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


async def export_data(out: Path) -> ExportResult:
    """Write the snapshot to ``out`` (a new folder, ``.zip`` or ``.tar.gz``)."""
    kind = output_kind(out)
    if out.exists() and (kind != "dir" or any(out.iterdir())):
        raise ExportError(f"{out} already exists; choose a new name or an empty folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".kit-export-", dir=out.parent) as tmp:
        folder = Path(tmp) / "export"
        folder.mkdir()
        manifest = await write_snapshot(folder)
        _publish(folder, out, kind)
    return ExportResult(out, manifest)


async def write_snapshot(folder: Path) -> dict[str, Any]:
    conn = Tortoise.get_connection("default")
    dialect = conn.capabilities.dialect
    state = await migration_state(conn)
    tables: dict[str, dict[str, Any]] = {}
    async with in_transaction() as tx:
        if dialect == "postgres":
            await tx.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for table, key in table_keys().items():
            rows = await _write_table(tx, PageQuery(dialect, table, key), folder / f"{table}.jsonl")
            tables[table] = {"file": f"{table}.jsonl", "rows": rows}
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kit_version": __version__,
        "database": dialect,
        "schema_version": state.latest,
        "migrations": state.applied,
        "tables": tables,
        "personal_data": True,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


@dataclass(frozen=True)
class PageQuery:
    """How to read one table a page at a time, in the order of its key."""

    dialect: str
    table: str
    key: tuple[str, ...]

    def sql(self, after: tuple[Any, ...] | None) -> tuple[str, list[Any]]:
        """The page that follows the row whose key is ``after`` (the first page if None).

        Keyset paging: the key condition lets the database start inside the key's
        index, where OFFSET would read and throw away every earlier row again for
        each page. ``(a, b) > (x, y)`` compares row values (SQLite 3.15+, PostgreSQL).
        """
        p = SqlParams(self.dialect)
        columns = ", ".join(f'"{c}"' for c in self.key)
        where = ""
        if after is not None:
            where = f"WHERE ({columns}) > ({', '.join(p.add(v) for v in after)}) "
        sql = f'SELECT * FROM "{self.table}" {where}ORDER BY {columns} LIMIT {PAGE}'  # noqa: S608
        return sql, p.values

    def key_of(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[c] for c in self.key)


async def _write_table(conn: BaseDBAsyncClient, query: PageQuery, path: Path) -> int:
    count = 0
    after: tuple[Any, ...] | None = None
    with path.open("w", encoding="utf-8") as f:
        while True:
            rows = await query_dicts(conn, *query.sql(after))
            for row in rows:
                record = {k: to_json_value(v) for k, v in row.items()}
                f.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            count += len(rows)
            if len(rows) < PAGE:
                return count
            after = query.key_of(rows[-1])


def _publish(folder: Path, out: Path, kind: str) -> None:
    if kind == "dir":
        out.mkdir(exist_ok=True)
        for item in folder.iterdir():
            shutil.move(item, out / item.name)
        return
    partial = out.with_name(f".{out.name}.partial")
    if kind == "zip":
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for item in sorted(folder.iterdir()):
                archive.write(item, item.name)
    else:
        with tarfile.open(partial, "w:gz") as archive:
            for item in sorted(folder.iterdir()):
                archive.add(item, item.name)
    partial.replace(out)


def read_manifest(out: Path) -> dict[str, Any]:
    """The manifest of an export folder or archive (for tests and for checking a backup)."""
    kind = output_kind(out)
    if kind == "zip":
        with zipfile.ZipFile(out) as archive:
            return dict(json.loads(archive.read(MANIFEST)))
    if kind == "tar.gz":
        with tarfile.open(out, "r:gz") as archive:
            member = archive.extractfile(MANIFEST)
            assert member is not None
            return dict(json.loads(member.read()))
    return dict(json.loads((out / MANIFEST).read_text()))
