"""`kit export` and `kit backup`: what an operator gets back, read back and counted."""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import subprocess
import sys
import tarfile
import threading
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import Tortoise

from kit.ops import export as kit_export
from kit.ops.backup import BackupError, backup_sqlite
from kit.ops.demo import complete_with_report
from kit.ops.export import ExportError, export_data, read_manifest
from kit.store.models import (
    Attendee,
    Coordinator,
    Meeting,
    OutboxMessage,
    Person,
    RateCounter,
    Report,
    Rsvp,
)
from tests.factories import make_campaign
from tests.reports.test_reports import held_meeting


def kit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kit.ops.cli", *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=180,
    )


def jsonl_rows(out: Path, table: str) -> list[dict[str, object]]:
    """The rows of one table, from an export folder, .zip or .tar.gz."""
    name = f"{table}.jsonl"
    if out.suffix == ".zip":
        with zipfile.ZipFile(out) as archive:
            text = archive.read(name).decode()
    elif out.name.endswith(".tar.gz"):
        with tarfile.open(out, "r:gz") as archive:
            member = archive.extractfile(name)
            assert member is not None
            text = member.read().decode()
    else:
        text = (out / name).read_text()
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize("name", ["export", "export.zip", "export.tar.gz"])
async def test_export_writes_every_table_with_a_manifest(
    db: str, tmp_path: Path, name: str
) -> None:
    meeting, _ = await held_meeting()
    await complete_with_report(meeting, random.Random(7))
    out = tmp_path / name

    result = await export_data(out)

    manifest = read_manifest(out)
    assert manifest == result.manifest
    assert manifest["format"] == "house-meeting-kit-export/1"
    assert manifest["schema_version"].startswith("models.0")
    assert manifest["personal_data"] is True
    expected = {
        "meeting": await Meeting.all().count(),
        "rsvp": await Rsvp.all().count(),
        "report": await Report.all().count(),
        "attendee": await Attendee.all().count(),
        "person": await Person.all().count(),
        "outbox_message": await OutboxMessage.all().count(),
    }
    assert expected["rsvp"] == 2 and expected["report"] == 1 and expected["attendee"] >= 1
    for table, count in expected.items():
        assert manifest["tables"][table]["rows"] == count
        assert len(jsonl_rows(out, table)) == count
    [report] = jsonl_rows(out, "report")
    assert report["meeting_id"] == meeting.id
    emails = {row["email"] for row in jsonl_rows(out, "person")}
    assert {"zoe@example.org", "ada@example.org"} <= emails


async def test_export_covers_every_table_of_the_schema(db: str, tmp_path: Path) -> None:
    conn = Tortoise.get_connection("default")
    if conn.capabilities.dialect == "postgres":
        rows = await conn.execute_query_dict(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
        )
    else:
        rows = await conn.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    # The R*Tree behind nearby search (migration 0012) and its shadow tables index the
    # meeting rows: not data of their own, and its triggers rebuild it from meetings.
    spatial = {n for n in (r["name"] for r in rows) if n.startswith("meeting_rtree")}
    in_database = {r["name"] for r in rows} - {"tortoise_migrations"} - spatial
    manifest = (await export_data(tmp_path / "all")).manifest
    assert set(manifest["tables"]) == in_database


async def test_export_refuses_to_overwrite(db: str, tmp_path: Path) -> None:
    (tmp_path / "old.zip").write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists"):
        await export_data(tmp_path / "old.zip")
    assert (tmp_path / "old.zip").read_bytes() == b"keep me"


async def test_export_pages_through_big_tables_in_key_order(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tables longer than a page come out whole: each row once, in primary-key order."""
    monkeypatch.setattr(kit_export, "PAGE", 3)
    campaigns = [await make_campaign(f"campaign-{n}") for n in range(8)]
    coordinators = [
        await Coordinator.create(email=f"c{n}@example.org", name=f"C{n}") for n in range(3)
    ]
    # Linked out of key order, so the order of insertion is not the order of the key.
    links = {0: [7, 2, 5, 0], 1: [6, 1, 3], 2: [4, 0, 7, 2]}
    for who, which in links.items():
        for n in which:
            await coordinators[who].campaigns.add(campaigns[n])
    window = datetime.now(UTC)
    keys = [f"client-{n:02d}" for n in (9, 3, 11, 0, 7, 1, 10, 4, 8, 2, 6, 5)]
    for key in keys:
        await RateCounter.create(key=key, window_start=window, hits=1)
    out = tmp_path / "paged"

    manifest = (await export_data(out)).manifest

    assert [row["key"] for row in jsonl_rows(out, "rate_counter")] == sorted(keys)
    assert [row["id"] for row in jsonl_rows(out, "campaign")] == sorted(c.id for c in campaigns)
    pairs = [
        (row["coordinator_id"], row["campaign_id"])
        for row in jsonl_rows(out, "coordinator_campaign")
    ]
    assert pairs == sorted(  # key order, each pair once
        (coordinators[who].id, campaigns[n].id) for who, which in links.items() for n in which
    )
    for table in ("rate_counter", "campaign", "coordinator_campaign"):
        assert manifest["tables"][table]["rows"] == len(jsonl_rows(out, table)) > 3


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A SQLite install filled by `kit demo` (meetings, RSVPs, reports, ideas)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("KIT_")}
    env["KIT_DATA_DIR"] = str(tmp_path_factory.mktemp("export-demo"))
    env["KIT_SECRET_KEY"] = "export-test-secret"
    result = kit(env, "demo", "--meetings", "30")
    assert result.returncode == 0, result.stderr
    return env


def database_of(env: dict[str, str]) -> Path:
    return Path(env["KIT_DATA_DIR"]) / "kit.sqlite3"


def table_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall() for n in names}


def test_kit_export_from_the_command_line_matches_the_database(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "snapshot.tar.gz"
    result = kit(demo_env, "export", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "personal data" in result.stdout
    manifest = read_manifest(out)
    source = table_rows(database_of(demo_env))
    for table in ("meeting", "rsvp", "report", "attendee", "idea", "commitment"):
        assert len(source[table]) > 0, table
        assert manifest["tables"][table]["rows"] == len(source[table])
        assert len(jsonl_rows(out, table)) == len(source[table])


def test_export_help_warns_about_personal_data(demo_env: dict[str, str]) -> None:
    for command in ("export", "backup"):
        result = kit(demo_env, command, "--help")
        assert "personal data" in " ".join(result.stdout.split())


def test_kit_backup_restores_to_the_same_rows(demo_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "backups" / "kit-backup.sqlite3"
    result = kit(demo_env, "backup", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"to {out}" in result.stdout
    # "Restore" it as the help says: it is the database file, ready to be copied back.
    restored = tmp_path / "restored" / "kit.sqlite3"
    restored.parent.mkdir()
    restored.write_bytes(out.read_bytes())
    assert table_rows(restored) == table_rows(database_of(demo_env))
    env = {**demo_env, "KIT_DATA_DIR": str(restored.parent)}
    check = kit(env, "check")
    assert "ok    migrations: up to date" in check.stdout
    assert "ok    database writable" in check.stdout


def test_backup_while_another_process_writes_is_consistent(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    """A writer commits pairs of rows while backups are taken: every copy has whole pairs."""
    source = database_of(demo_env)
    with contextlib.closing(sqlite3.connect(source)) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS pair_probe (n INTEGER, half INTEGER)")
        conn.commit()
    stop = threading.Event()

    def write_pairs() -> None:
        with contextlib.closing(sqlite3.connect(source, timeout=10)) as conn:
            n = 0
            while not stop.is_set():
                with conn:  # one transaction: both halves or neither
                    conn.execute("INSERT INTO pair_probe VALUES (?, 1)", (n,))
                    conn.execute("INSERT INTO pair_probe VALUES (?, 2)", (n,))
                n += 1

    writer = threading.Thread(target=write_pairs)
    writer.start()
    try:
        copies = [backup_sqlite(f"sqlite://{source}", tmp_path / f"b{i}.sqlite3") for i in range(5)]
    finally:
        stop.set()
        writer.join()
    for copy in copies:
        with contextlib.closing(sqlite3.connect(copy.path)) as conn:
            halves = conn.execute("SELECT count(*) FROM pair_probe").fetchone()[0]
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert halves % 2 == 0
    assert copies[-1].tables["pair_probe"] > 0
    with contextlib.closing(sqlite3.connect(source)) as conn:
        conn.execute("DROP TABLE pair_probe")
        conn.commit()


def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="pg_dump"):
        backup_sqlite("postgres://kit@127.0.0.1:5432/kit", tmp_path / "x")


def test_backup_never_overwrites(demo_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "taken.sqlite3"
    out.write_text("an older backup")
    result = kit(demo_env, "backup", "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.strip() == f"kit: {out} already exists; choose a new file name"
    assert out.read_text() == "an older backup"
