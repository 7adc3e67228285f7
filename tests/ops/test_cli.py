"""The `kit` command as an operator meets it, run as a real subprocess."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.servers import run_kit

MIGRATIONS = Path(__file__).resolve().parents[2] / "kit" / "store" / "migrations"


def count_meetings(env: dict[str, str]) -> int:
    with sqlite3.connect(Path(env["KIT_DATA_DIR"]) / "kit.sqlite3") as conn:
        return int(conn.execute("SELECT count(*) FROM meeting").fetchone()[0])


def test_help_lists_the_commands(clean_env: dict[str, str]) -> None:
    result = run_kit(clean_env, "--help")
    assert result.returncode == 0
    for command in ("serve", "migrate", "demo", "worker", "outbox", "check", "export", "backup"):
        assert command in result.stdout


def test_malformed_database_url_stops_with_one_line(clean_env: dict[str, str]) -> None:
    result = run_kit({**clean_env, "KIT_DATABASE_URL": "postgres//oops"}, "migrate")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "KIT_DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr


def test_unreachable_database_stops_with_one_line(clean_env: dict[str, str]) -> None:
    env = {**clean_env, "KIT_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    result = run_kit(env, "migrate")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("kit: cannot reach the database")


def test_migrate_twice_applies_then_does_nothing(clean_env: dict[str, str]) -> None:
    first = run_kit(clean_env, "migrate")
    assert first.returncode == 0, first.stderr
    migrations = sorted(p.stem for p in MIGRATIONS.glob("0*.py"))
    assert f"Applied {len(migrations)} migrations:" in first.stdout
    assert all(f"models.{name}" in first.stdout for name in migrations)
    second = run_kit(clean_env, "migrate")
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout


def test_demo_is_idempotent(clean_env: dict[str, str]) -> None:
    first = run_kit(clean_env, "demo")
    assert first.returncode == 0, first.stderr
    meetings = count_meetings(clean_env)
    assert meetings >= 300
    assert "What to try:" in first.stdout
    assert "http://127.0.0.1:8000/find?near=10027" in first.stdout
    assert re.search(r"http://127\.0\.0\.1:8000/manage/[\w-]+\?token=[\w-]+", first.stdout)
    assert "kit coordinator add you@example.org --admin" in first.stdout
    assert "/coordinators/signin" in first.stdout and "KIT_DEBUG=1" in first.stdout
    second = run_kit(clean_env, "demo")
    assert second.returncode == 0, second.stderr
    assert count_meetings(clean_env) == meetings
    assert "(0 new)" in second.stdout


def test_serve_logs_name_the_worker_process() -> None:
    from kit.ops.cli import serve_log_config

    config = serve_log_config()
    assert "%(process)d" in config["formatters"]["default"]["fmt"]
    assert "%(process)d" in config["formatters"]["access"]["fmt"]
    assert config["loggers"]["kit"]["level"] == "INFO"


def test_serve_refuses_a_proxy_list_it_cannot_read(clean_env: dict[str, str]) -> None:
    result = run_kit(clean_env, "serve", "--forwarded-allow-ips", "proxy.internal")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "kit: configuration error: --forwarded-allow-ips 'proxy.internal' is not an IP "
        "address or network like 10.0.0.0/8"
    ]
    from_env = run_kit({**clean_env, "KIT_FORWARDED_ALLOW_IPS": "10.0.0.0/33"}, "serve")
    assert from_env.returncode == 2
    assert from_env.stderr.strip().startswith("kit: configuration error: KIT_FORWARDED_ALLOW_IPS")


def test_kit_host_trust_and_untrust(clean_env: dict[str, str]) -> None:
    assert run_kit(clean_env, "migrate").returncode == 0
    database = Path(clean_env["KIT_DATA_DIR"]) / "kit.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT INTO person (name, email, created_at)"
            " VALUES ('Quinn Doe', 'quinn@example.org', '2026-11-23 00:00:00+00:00')"
        )

    def trusted() -> int:
        with sqlite3.connect(database) as conn:
            row = conn.execute("SELECT trusted FROM person WHERE email = 'quinn@example.org'")
            return int(row.fetchone()[0])

    trust = run_kit(clean_env, "host", "trust", "Quinn@Example.org")
    assert trust.returncode == 0, trust.stderr
    assert trust.stdout.splitlines() == [
        "quinn@example.org (Quinn Doe) is now a trusted host: a higher daily invitation cap, "
        "and links kept in their invitation notes."
    ]
    assert trusted() == 1
    again = run_kit(clean_env, "host", "trust", "quinn@example.org")
    assert again.stdout.strip() == (
        "quinn@example.org (Quinn Doe) is already a trusted host; nothing changed."
    )
    untrust = run_kit(clean_env, "host", "untrust", "quinn@example.org")
    assert untrust.returncode == 0
    assert "is no longer trusted: the standard invitation cap" in untrust.stdout
    assert trusted() == 0
    for email, says in (
        ("nobody@example.org", "kit: Nobody with the address nobody@example.org has hosted"),
        ("not-an-email", "kit: "),
    ):
        refused = run_kit(clean_env, "host", "trust", email)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        [line] = refused.stderr.strip().splitlines()
        assert line.startswith(says), line


def test_kit_coordinator_add_list_and_remove(clean_env: dict[str, str]) -> None:
    assert run_kit(clean_env, "migrate").returncode == 0
    added = run_kit(clean_env, "coordinator", "add", "Vi@Example.org", "--role", "viewer")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "Added coordinator vi@example.org: viewer"
    run_kit(clean_env, "coordinator", "add", "boss@example.org", "--admin")
    listed = run_kit(clean_env, "coordinator", "list")
    assert listed.stdout.splitlines() == [
        "boss@example.org: admin (every campaign)",
        "vi@example.org: viewer",
    ]
    bad_role = run_kit(clean_env, "coordinator", "add", "x@example.org", "--role", "owner")
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr
    removed = run_kit(clean_env, "coordinator", "remove", "vi@example.org")
    assert removed.returncode == 0, removed.stderr
    assert "Removed vi@example.org and their account" in removed.stdout
    assert run_kit(clean_env, "coordinator", "list").stdout.splitlines() == [
        "boss@example.org: admin (every campaign)"
    ]
    missing = run_kit(clean_env, "coordinator", "remove", "vi@example.org")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "kit: vi@example.org is not a coordinator."
    with sqlite3.connect(Path(clean_env["KIT_DATA_DIR"]) / "kit.sqlite3") as conn:
        log = conn.execute("SELECT actor_label, action FROM audit_entry ORDER BY id").fetchall()
    assert log == [
        ("cli", "coordinator.add"), ("cli", "coordinator.add"), ("cli", "coordinator.remove")
    ]  # fmt: skip
