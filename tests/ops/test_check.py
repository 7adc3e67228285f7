"""`kit check` as an operator runs it: one line per check, exit 1 when anything FAILs.

Everything is real: a migrated SQLite file, an aiosmtpd server, a closed port, a
read-only mount (``unshare -m`` + ``mount -o ro,bind``: we run as root, and root
writes through file modes, but not through a read-only filesystem), an immutable
file (``chattr +i``), and WeasyPrint rendering a page.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from kit.core.settings import Settings
from kit.ops import checks
from tests.conftest import is_postgres
from tests.outbox.test_outbox import NOW, write_email_row
from tests.servers import free_port, reset_postgres, run_kit, sibling_postgres_url
from tests.smtp import SmtpServer

PUBLIC = "https://meetings.example.org"


def lines_by_check(stdout: str) -> dict[str, str]:
    """{"smtp": "ok    smtp: 127.0.0.1:2525 answers (EHLO)", ...}"""
    found = {}
    for line in stdout.splitlines():
        if line[:1] != " " and ": " in line:
            found[line[6:].split(":", 1)[0]] = line
    return found


@pytest.fixture
def migrated_env(clean_env: dict[str, str]) -> dict[str, str]:
    env = {**clean_env, "KIT_BASE_URL": PUBLIC, "KIT_SECRET_KEY": "check-test-secret"}
    result = run_kit(env, "migrate")
    assert result.returncode == 0, result.stderr
    return env


def database_file(env: dict[str, str]) -> Path:
    return Path(env["KIT_DATA_DIR"]).resolve() / "kit.sqlite3"


def test_check_passes_with_a_migrated_database_and_a_real_smtp_server(
    migrated_env: dict[str, str], smtp_server: SmtpServer
) -> None:
    result = run_kit({**migrated_env, "KIT_SMTP_URL": smtp_server.url}, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = lines_by_check(result.stdout)
    for name in ("configuration", "database", "migrations", "database writable", "smtp"):
        assert lines[name].startswith("ok "), lines[name]
    assert lines["weasyprint"].startswith(("ok ", "warn ")), lines["weasyprint"]
    assert f"127.0.0.1:{smtp_server.port} answers (EHLO)" in lines["smtp"]
    assert "up to date" in lines["migrations"]
    assert lines["base URL"] == f"ok    base URL: {PUBLIC}"
    assert "offline" in lines["geocoder"]
    assert lines["outbox"] == "ok    outbox: 0 waiting, 0 sent, none given up on"
    # The check greets the server; it never sends anyone a message.
    assert smtp_server.received == []
    assert "Traceback" not in result.stderr


def test_check_warns_when_mail_is_not_going_out(migrated_env: dict[str, str]) -> None:
    database = database_file(migrated_env)
    write_email_row(database, status="pending", attempts=3, created_at=NOW - timedelta(hours=2))
    stuck = run_kit(migrated_env, "check")
    assert lines_by_check(stuck.stdout)["outbox"] == (
        "warn  outbox: 1 email waiting, the oldest queued 2 h ago: is the SMTP server "
        "reachable, and is a kit serve or kit worker running?"
    )
    write_email_row(database, status="failed", attempts=8)
    failed = run_kit(migrated_env, "check")
    assert "1 email gave up" in lines_by_check(failed.stdout)["outbox"]
    assert "`kit outbox retry --all`" in lines_by_check(failed.stdout)["outbox"]
    assert failed.returncode == stuck.returncode == 0, "a warning, not a failure"


def test_check_shows_the_effective_settings_without_secrets(
    migrated_env: dict[str, str], smtp_server: SmtpServer
) -> None:
    url = f"smtp://mailer:hunter2-secret@127.0.0.1:{smtp_server.port}"
    result = run_kit({**migrated_env, "KIT_SMTP_URL": url}, "check")
    assert "KIT_BASE_URL = https://meetings.example.org" in result.stdout
    assert f"KIT_SMTP_URL = smtp://mailer:***@127.0.0.1:{smtp_server.port}" in result.stdout
    assert "KIT_SECRET_KEY = (set in KIT_SECRET_KEY)" in result.stdout
    assert "hunter2" not in result.stdout + result.stderr
    assert "check-test-secret" not in result.stdout + result.stderr
    # Credentials in the URL mean STARTTLS first, as delivery does; this server has none.
    smtp = lines_by_check(result.stdout)["smtp"]
    assert smtp.startswith("FAIL  smtp: cannot talk to 127.0.0.1"), smtp
    assert "STARTTLS" in smtp
    assert result.returncode == 1


def test_check_fails_when_nothing_listens_on_the_smtp_port(migrated_env: dict[str, str]) -> None:
    port = free_port()  # bound for a moment, then closed: nothing listens
    result = run_kit({**migrated_env, "KIT_SMTP_URL": f"smtp://127.0.0.1:{port}"}, "check")
    assert result.returncode == 1
    smtp = lines_by_check(result.stdout)["smtp"]
    assert smtp.startswith(f"FAIL  smtp: cannot talk to 127.0.0.1:{port}"), smtp
    assert lines_by_check(result.stdout)["database"].startswith("ok ")


def test_check_reports_a_malformed_setting_as_a_failed_check(clean_env: dict[str, str]) -> None:
    result = run_kit({**clean_env, "KIT_RATE_LIMIT_RSVP": "lots"}, "check")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("FAIL  configuration: KIT_RATE_LIMIT_RSVP")
    assert "Traceback" not in result.stderr


def test_check_on_a_new_install_says_the_database_will_be_created(
    clean_env: dict[str, str],
) -> None:
    result = run_kit(clean_env, "check")
    lines = lines_by_check(result.stdout)
    assert lines["database"].startswith("warn  database: no database yet")
    assert "creates it" in lines["database writable"]
    assert "KIT_SMTP_URL is unset" in lines["smtp"]
    assert lines["base URL"].startswith("warn  base URL: KIT_BASE_URL is http://127.0.0.1:8000")
    assert result.returncode == 0, result.stdout
    # Looking must not create the database.
    assert not database_file(clean_env).exists()


def test_check_warns_about_pending_migrations(clean_env: dict[str, str]) -> None:
    script = (
        "import asyncio, sys\n"
        "from tortoise import Tortoise\n"
        "from tortoise.migrations.api import migrate\n"
        "from kit.store.db import tortoise_config\n"
        "async def main():\n"
        "    await migrate(config=tortoise_config(sys.argv[1]), target='models.0001_initial')\n"
        "    await Tortoise.close_connections()\n"
        "asyncio.run(main())\n"
    )
    url = f"sqlite://{database_file(clean_env)}"
    done = subprocess.run(
        [sys.executable, "-c", script, url], env=clean_env, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = run_kit(clean_env, "check")
    migrations = lines_by_check(result.stdout)["migrations"]
    assert migrations.startswith("warn  migrations: "), migrations
    assert "models.0002_rsvp_mail_limits" in migrations and "kit migrate" in migrations
    assert "models.0001_initial" not in migrations


def test_check_fails_on_a_database_migrated_by_a_newer_kit(migrated_env: dict[str, str]) -> None:
    with contextlib.closing(sqlite3.connect(database_file(migrated_env))) as conn:
        conn.execute(
            "INSERT INTO tortoise_migrations (app, name, applied_at) "
            "VALUES ('models', '0099_from_the_future', '2030-01-01T00:00:00+00:00')"
        )
        conn.commit()
    result = run_kit(migrated_env, "check")
    assert result.returncode == 1
    migrations = lines_by_check(result.stdout)["migrations"]
    assert migrations.startswith("FAIL  migrations: ")
    assert "models.0099_from_the_future" in migrations and "upgrade the kit" in migrations


def read_only_mount(folder: Path, *command: str) -> list[str]:
    """``command`` in a private mount namespace where ``folder`` is mounted read-only."""
    return [
        "unshare",
        "-m",
        "sh",
        "-c",
        'mount --bind -o ro "$0" "$0" && exec "$@"',
        str(folder),
        *command,
    ]


def test_check_and_serve_refuse_a_database_on_a_read_only_mount(
    migrated_env: dict[str, str],
) -> None:
    folder = database_file(migrated_env).parent
    check = subprocess.run(
        read_only_mount(folder, sys.executable, "-m", "kit.ops.cli", "check"),
        env=migrated_env,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert check.returncode == 1, check.stdout + check.stderr
    writable = lines_by_check(check.stdout)["database writable"]
    assert writable.startswith(f"FAIL  database writable: {folder / 'kit.sqlite3'} is not writable")

    serve = subprocess.run(
        read_only_mount(folder, sys.executable, "-m", "kit.ops.cli", "serve", "--port", "9"),
        env=migrated_env,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert serve.returncode == 2
    assert serve.stderr.strip().splitlines() == [f"kit: cannot start: {writable.split(': ', 1)[1]}"]
    assert "serving" not in serve.stdout


def test_serve_refuses_with_one_line_when_migrations_cannot_be_applied(
    clean_env: dict[str, str],
) -> None:
    path = database_file(clean_env)
    path.parent.mkdir(parents=True)
    path.write_text("this is not a database\n" * 100)
    result = run_kit(clean_env, "serve", "--port", "9", timeout=60)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("kit: cannot start: ")
    assert "not a database" in line


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_sqlite_write_check_fails_for_an_immutable_file_even_as_root(tmp_path: Path) -> None:
    path = tmp_path / "kit.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE t (x)")
    assert checks.check_sqlite_writable(path).status == "ok"
    with immutable(path):
        result = checks.check_sqlite_writable(path)
    assert result.status == "FAIL"
    assert "lsattr" in result.message
    assert checks.check_sqlite_writable(path).status == "ok"


def test_sqlite_write_check_writes_for_real(tmp_path: Path) -> None:
    """os.access passes for this file; only the write itself finds the problem."""
    path = tmp_path / "kit.sqlite3"
    path.write_bytes(b"not sqlite at all " * 1000)
    result = checks.check_sqlite_writable(path)
    assert result.status == "FAIL"
    assert "refuses writes (file is not a database)" in result.message


def test_sqlite_write_check_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "kit.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE t (x)")
    assert checks.check_sqlite_writable(path).status == "ok"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    assert names == ["t"]


def site(**env: str) -> Settings:
    return Settings.from_env({"KIT_SECRET_KEY": "x", "KIT_DATA_DIR": "/tmp/kit-check", **env})


@pytest.mark.parametrize(
    ("env", "status", "says"),
    [
        ({"KIT_BASE_URL": "https://meetings.example.org"}, "ok", "https://meetings.example.org"),
        ({"KIT_BASE_URL": "http://meetings.example.org"}, "warn", "use https://"),
        ({"KIT_BASE_URL": "http://localhost:8000"}, "warn", "point at this machine"),
        ({"KIT_BASE_URL": "https://127.0.0.1"}, "warn", "point at this machine"),
        ({"KIT_BASE_URL": "http://127.0.0.1:8000", "KIT_DEBUG": "1"}, "warn", "KIT_DEBUG=1"),
    ],
)
def test_base_url_check(env: dict[str, str], status: str, says: str) -> None:
    result = checks.check_base_url(site(**env))
    assert (result.status, says in result.message) == (status, True), result


def test_geocoder_check_names_a_remote_geocoder_without_calling_it() -> None:
    result = checks.check_geocoder(
        site(KIT_GEOCODER="nominatim", KIT_GEOCODER_USER_AGENT="kit-tests/1.0 (ops@example.org)")
    )
    assert result.status == "ok"
    assert result.message.startswith("nominatim via geopy, user agent 'kit-tests/1.0")


def test_weasyprint_check_renders_a_pdf() -> None:
    result = checks.check_weasyprint()
    assert result.status in {"ok", "warn"}
    assert "renders PDFs" in result.message


# PostgreSQL's own permissions: collected on the PostgreSQL run only (the SQLite run asks
# the same question of a read-only mount, above).
if is_postgres():

    async def run_sql(url: str, *statements: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    @pytest.fixture
    async def read_only_role() -> AsyncIterator[tuple[str, str]]:
        """A database of this test's own, and a LOGIN role that is dropped afterwards.

        Roles belong to the whole server, not to a database: one left behind outlives the
        suite. Its own name keeps runs that share the server from meeting each other's.
        """
        owner = sibling_postgres_url("check")
        await reset_postgres(owner)
        role = f"kit_reader_{secrets.token_hex(4)}"
        await run_sql(owner, f'CREATE ROLE "{role}" LOGIN')
        try:
            yield owner, role
        finally:
            await run_sql(
                owner,
                # A kit process that has just exited may leave its backend behind a moment.
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'",
                f'DROP OWNED BY "{role}"',  # revokes its grants here, or DROP ROLE refuses
                f'DROP ROLE "{role}"',
            )

    async def test_check_on_postgresql_fails_for_a_role_that_may_not_write(
        clean_env: dict[str, str], read_only_role: tuple[str, str]
    ) -> None:
        """The suite's PostgreSQL server, a database of this test's own, a read-only role."""
        owner, role = read_only_role
        env = {**clean_env, "KIT_DATABASE_URL": owner}
        assert run_kit(env, "migrate").returncode == 0
        await run_sql(
            owner,
            f'GRANT USAGE ON SCHEMA public TO "{role}"',
            f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"',
        )
        ok = run_kit(env, "check")
        assert lines_by_check(ok.stdout)["database writable"].startswith("ok "), ok.stdout
        parts = urlsplit(owner)
        reader = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))
        result = run_kit({**env, "KIT_DATABASE_URL": reader}, "check")
        assert result.returncode == 1
        writable = lines_by_check(result.stdout)["database writable"]
        assert writable.startswith("FAIL  database writable: this role may not write to "), writable
        assert "GRANT INSERT, UPDATE, DELETE" in writable
