"""``kit check``: can this configuration serve? Each check returns data; the CLI prints.

Every check gives ``ok``, ``warn`` (works, but not as a production site should) or
``FAIL`` (something the kit needs is broken), with a message saying what to do.
Nothing here changes data: the database write test writes and removes a scratch
table, and SMTP is only greeted (EHLO, STARTTLS, login), never sent a message.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import sqlite3
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from kit.core.errors import SettingsError
from kit.core.settings import Settings, hide_password

Status = Literal["ok", "warn", "FAIL"]
SMTP_CHECK_TIMEOUT = 10.0  # seconds; a firewalled port would otherwise hang for minutes
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.message}"


def any_failed(results: list[CheckResult]) -> bool:
    return any(r.status == "FAIL" for r in results)


# --- Configuration ---------------------------------------------------------------------


def check_settings(environ: dict[str, str] | None = None) -> tuple[Settings | None, CheckResult]:
    try:
        settings = Settings.from_env(environ)
    except SettingsError as exc:
        return None, CheckResult("configuration", "FAIL", str(exc))
    return settings, CheckResult("configuration", "ok", "every KIT_* setting is valid")


def effective_settings(settings: Settings, environ: dict[str, str] | None = None) -> dict[str, str]:
    """What the kit will run with, secrets left out (passwords in URLs shown as ***)."""
    env = os.environ if environ is None else environ
    key_source = (
        "set in KIT_SECRET_KEY"
        if env.get("KIT_SECRET_KEY")
        else f"generated, kept in {settings.data_dir / 'secret_key'}"
    )
    return {
        "KIT_DATA_DIR": str(settings.data_dir),
        "KIT_DATABASE_URL": hide_password(settings.database_url),
        "KIT_BASE_URL": settings.base_url,
        "KIT_SECRET_KEY": f"({key_source})",
        "KIT_SMTP_URL": hide_password(settings.smtp_url)
        if settings.smtp_url
        else f"(unset: emails are written to {settings.outbox_dir})",
        "KIT_MAIL_FROM": settings.mail_from,
        "KIT_GEOCODER": settings.geocoder,
        "KIT_RATE_LIMIT_RSVP": _rate(settings.rate_limit_rsvp),
        "KIT_RATE_LIMIT_HOST": _rate(settings.rate_limit_host),
        "KIT_RATE_LIMIT_MESSAGE": _rate(settings.rate_limit_message),
        "KIT_REMINDER_HOURS": str(settings.reminder_hours),
        "KIT_FORWARDED_ALLOW_IPS": ", ".join(settings.forwarded_allow_ips) or "(unset: none)",
        "KIT_DEBUG": "1" if settings.debug else "0",
    }


def _rate(limit: Any) -> str:
    unit = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}.get(limit.seconds)
    return f"{limit.hits}/{unit}" if unit else f"{limit.hits} per {limit.seconds} s"


def check_base_url(settings: Settings) -> CheckResult:
    parts = urlsplit(settings.base_url)
    if settings.debug:
        return CheckResult(
            "base URL",
            "warn",
            f"{settings.base_url} with KIT_DEBUG=1: tracebacks are shown to visitors; "
            "set KIT_DEBUG=0 for a public site",
        )
    if (parts.hostname or "") in LOCAL_HOSTS or (parts.hostname or "").endswith(".localhost"):
        return CheckResult(
            "base URL",
            "warn",
            f"KIT_BASE_URL is {settings.base_url}: links in emails, invites and QR codes "
            "point at this machine; set it to the public https:// address",
        )
    if parts.scheme != "https":
        return CheckResult(
            "base URL",
            "warn",
            f"KIT_BASE_URL is {settings.base_url}: use https:// (TLS at the reverse proxy) "
            "so manage links and sessions are not sent in clear text",
        )
    return CheckResult("base URL", "ok", settings.base_url)


def check_forwarded(settings: Settings) -> CheckResult:
    """Whose X-Forwarded-For ``kit serve`` believes: too many, and any client picks its own
    address past every rate limit; none behind a proxy, and every visitor shares one."""
    trusted = settings.forwarded_allow_ips
    everyone = [t for t in trusted if t == "*" or ipaddress.ip_network(t).prefixlen == 0]
    if everyone:
        return CheckResult(
            "forwarded headers",
            "warn",
            f"KIT_FORWARDED_ALLOW_IPS={everyone[0]} believes X-Forwarded-For from anyone: a "
            "client can choose its own address and escape the rate limits; list only your "
            "reverse proxy's address",
        )
    if trusted:
        return CheckResult(
            "forwarded headers", "ok", f"believed only from {', '.join(trusted)} (your proxy)"
        )
    if settings.base_url.startswith("https://"):
        # kit serve speaks plain HTTP, so an https:// site has a proxy in front of it.
        return CheckResult(
            "forwarded headers",
            "warn",
            "no proxy is trusted, yet KIT_BASE_URL is https://: behind a reverse proxy every "
            "visitor would be the proxy's address and share its rate limits; set "
            "KIT_FORWARDED_ALLOW_IPS to the proxy's address (127.0.0.1 on the same machine)",
        )
    return CheckResult(
        "forwarded headers", "ok", "none believed: each client is the address that connects"
    )


def check_geocoder(settings: Settings) -> CheckResult:
    """Which geocoder answers; the bundled gazetteer is queried, remote services are not."""
    from kit.maps.gazetteer import lookup_zip
    from kit.store.geocode_cache import make_configured_geocoder

    try:
        make_configured_geocoder(settings)
        place = lookup_zip("10001")
    except SettingsError as exc:
        return CheckResult("geocoder", "FAIL", str(exc))
    except (OSError, sqlite3.Error) as exc:
        return CheckResult("geocoder", "FAIL", f"the offline gazetteer cannot load: {exc}")
    if place is None:
        return CheckResult("geocoder", "FAIL", "the offline gazetteer does not know ZIP 10001")
    if settings.geocoder == "offline":
        return CheckResult(
            "geocoder", "ok", "offline (bundled US ZIP codes and world cities; no network)"
        )
    return CheckResult(
        "geocoder",
        "ok",
        f"{settings.geocoder} via geopy, user agent {settings.geocoder_user_agent!r}, answers "
        "kept in the database, offline gazetteer as fallback (not contacted by this check)",
    )


# --- Database --------------------------------------------------------------------------


def sqlite_path(database_url: str) -> Path | None:
    if not database_url.startswith("sqlite://") or database_url == "sqlite://:memory:":
        return None
    return Path(database_url.removeprefix("sqlite://").split("?", 1)[0])


def check_sqlite_writable(path: Path) -> CheckResult:
    """The file, its folder (journal and WAL files live there) and a real committed write.

    ``os.access`` alone is not enough: root passes it on a read-only mount or an
    immutable file, so a scratch table is created and dropped in one transaction.
    """
    folder = path.parent
    if not path.exists():
        if not folder.is_dir() and not _creatable(folder):
            return CheckResult(
                "database writable", "FAIL", f"the folder {folder} is missing and can't be created"
            )
        if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
            return CheckResult(
                "database writable", "FAIL", f"the folder {folder} is not writable by this user"
            )
        return CheckResult(
            "database writable",
            "ok",
            f"{path} does not exist yet; `kit migrate` (or `kit serve`) creates it",
        )
    if not os.access(path, os.R_OK | os.W_OK):
        return CheckResult(
            "database writable",
            "FAIL",
            f"{path} is not writable: check its owner and mode, a read-only mount, "
            "or the immutable attribute (lsattr)",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        return CheckResult(
            "database writable",
            "FAIL",
            f"the folder {folder} is not writable: SQLite needs it for its journal files",
        )
    try:
        _sqlite_write_probe(path)
    except sqlite3.Error as exc:
        return CheckResult(
            "database writable",
            "FAIL",
            f"{path} refuses writes ({exc}): check the mount (read-only?), "
            "file attributes (lsattr) and free space",
        )
    return CheckResult("database writable", "ok", f"{path} accepts writes")


def _sqlite_write_probe(path: Path) -> None:
    conn = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute('CREATE TABLE "_kit_check_write" (x INTEGER)')
            conn.execute('DROP TABLE "_kit_check_write"')
        except sqlite3.Error:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")  # the commit is what touches the journal and the disk
    finally:
        conn.close()


def _creatable(folder: Path) -> bool:
    parent = next((p for p in folder.parents if p.exists()), None)
    return parent is not None and os.access(parent, os.W_OK | os.X_OK)


@contextlib.asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[Any]:
    """The default Tortoise connection for this block."""
    from tortoise import Tortoise

    from kit.store.db import tortoise_config

    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    try:
        conn = Tortoise.get_connection("default")
        await conn.execute_query("SELECT 1")
        yield conn
    finally:
        await Tortoise.close_connections()


@dataclass(frozen=True)
class MigrationState:
    applied: list[str]
    pending: list[str]
    unknown: list[str]  # applied here, but not shipped with this version of the kit

    @property
    def latest(self) -> str:
        return self.applied[-1] if self.applied else "(none)"


async def migration_state(conn: Any) -> MigrationState:
    """Applied against available migrations, read only (the plan is computed, not run)."""
    from tortoise.migrations.executor import MigrationExecutor

    from kit.store.db import MIGRATIONS_MODULE, MODELS_MODULE

    apps = {
        "models": {
            "models": [MODELS_MODULE],
            "default_connection": "default",
            "migrations": MIGRATIONS_MODULE,
        }
    }
    executor = MigrationExecutor(conn, apps)
    pending = [f"{s.migration.app_label}.{s.migration.name}" for s in await executor.plan()]
    applied = [f"{k.app_label}.{k.name}" for k in await executor.recorder.applied_migrations()]
    known = {f"{k.app_label}.{k.name}" for k in executor.loader.graph.nodes}
    unknown = [name for name in applied if name not in known]
    return MigrationState(applied, pending, unknown)


def describe_migrations(state: MigrationState) -> CheckResult:
    if state.unknown:
        return CheckResult(
            "migrations",
            "FAIL",
            f"the database has migrations this kit does not ship ({', '.join(state.unknown)}): "
            "it was migrated by a newer version; upgrade the kit",
        )
    if state.pending:
        return CheckResult(
            "migrations",
            "warn",
            f"{len(state.pending)} pending ({', '.join(state.pending)}): run `kit migrate` "
            "(`kit serve` applies them at start)",
        )
    return CheckResult("migrations", "ok", f"up to date ({state.latest})")


async def postgres_writable(conn: Any) -> CheckResult:
    """Read-only replicas and missing privileges, asked of the server without writing."""
    row = (
        await conn.execute_query_dict(
            "SELECT pg_is_in_recovery() AS standby, "
            "current_setting('transaction_read_only') AS read_only, "
            "has_schema_privilege(current_schema(), 'CREATE') AS can_create"
        )
    )[0]
    if row["standby"] or row["read_only"] == "on":
        return CheckResult(
            "database writable",
            "FAIL",
            "the server is read-only (a standby?): point at the primary",
        )
    # By oid: PostgreSQL may test the privilege before the schema filter, and by name
    # a table of another schema would not be found.
    denied = await conn.execute_query_dict(
        "SELECT c.relname AS tablename FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
        "AND NOT has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE') ORDER BY 1"
    )
    if denied:
        names = ", ".join(r["tablename"] for r in denied[:5])
        return CheckResult(
            "database writable",
            "FAIL",
            f"this role may not write to {names}: GRANT INSERT, UPDATE, DELETE on the kit's tables",
        )
    if not row["can_create"]:
        return CheckResult(
            "database writable",
            "warn",
            "this role may write rows but not create tables: run `kit migrate` as the owner",
        )
    return CheckResult("database writable", "ok", "the role can write and migrate")


async def check_database(settings: Settings) -> list[CheckResult]:
    """Reachable, migrated, writable."""
    path = sqlite_path(settings.database_url)
    if path is not None:
        writable = check_sqlite_writable(path)
        if not path.exists():  # don't create an empty file just by looking
            return [
                CheckResult("database", "warn", f"no database yet at {path}"),
                writable,
            ]
    try:
        async with connected(settings) as conn:
            dialect = conn.capabilities.dialect
            state = await migration_state(conn)
            if path is None:
                writable = await postgres_writable(conn)
            mail = await check_outbox() if not state.pending else None
    except Exception as exc:  # noqa: BLE001 - every driver error becomes one line for the operator
        failed = CheckResult(
            "database",
            "FAIL",
            f"cannot use {hide_password(settings.database_url)}: {type(exc).__name__}: {exc}",
        )
        # A read-only SQLite folder also stops it opening (WAL): say that too.
        return [failed, writable] if path is not None else [failed]
    results = [
        CheckResult("database", "ok", f"{dialect} at {hide_password(settings.database_url)}"),
        describe_migrations(state),
        writable,
    ]
    return results + ([mail] if mail else [])


STUCK_MAIL = timedelta(minutes=30)  # retries of a brief outage are done well before this


async def check_outbox(now: datetime | None = None) -> CheckResult:
    """Is mail going out? Failed emails, or a pending one long overdue, say it isn't."""
    from kit.outbox import queue as outbox

    counts = await outbox.summary()
    now = now or datetime.now(UTC)
    if counts.failed:
        return CheckResult(
            "outbox",
            "warn",
            f"{outbox.in_words(counts, 'failed')} gave up after their last try: "
            "`kit outbox` lists them with the server's answer; "
            "`kit outbox retry --all` sends them again",
        )
    if counts.oldest_pending is not None and now - counts.oldest_pending > STUCK_MAIL:
        return CheckResult(
            "outbox",
            "warn",
            f"{outbox.in_words(counts, 'pending')} waiting, the oldest queued "
            f"{outbox.age(counts.oldest_pending, now)}: is the SMTP server reachable, and is "
            "a kit serve or kit worker running?",
        )
    return CheckResult(
        "outbox", "ok", f"{counts.pending} waiting, {counts.sent} sent, none given up on"
    )


# --- Mail and PDFs ---------------------------------------------------------------------


async def check_smtp(smtp_url: str | None, outbox_dir: Path) -> CheckResult:
    """Connect, EHLO, STARTTLS and log in as delivery would; no message is sent."""
    if smtp_url is None:
        writable = os.access(_existing(outbox_dir), os.W_OK)
        return CheckResult(
            "smtp",
            "warn" if writable else "FAIL",
            f"KIT_SMTP_URL is unset: emails are written as .eml files to {outbox_dir}"
            + ("" if writable else ", which is not writable")
            + "; set it to deliver them",
        )
    import aiosmtplib

    from kit.toolkit.mail import smtp_options

    options = smtp_options(smtp_url, timeout=SMTP_CHECK_TIMEOUT)
    where = f"{options['hostname']}:{options['port']}"
    client = aiosmtplib.SMTP(**options)
    try:
        await client.connect()  # EHLO, then STARTTLS and AUTH when the URL asks for them
        steps = ["EHLO"]
        if client.get_transport_info("sslobject") is not None:
            steps.append("TLS")
        if options["username"]:
            steps.append(f"logged in as {options['username']}")
        await client.quit()
    except aiosmtplib.SMTPAuthenticationError as exc:
        return CheckResult("smtp", "FAIL", f"{where} refused the login: {exc.code} {exc.message}")
    except (aiosmtplib.SMTPException, OSError) as exc:
        return CheckResult(
            "smtp", "FAIL", f"cannot talk to {where}: {type(exc).__name__}: {exc}".rstrip(": ")
        )
    return CheckResult("smtp", "ok", f"{where} answers ({', '.join(steps)})")


def _existing(path: Path) -> Path:
    return next((p for p in (path, *path.parents) if p.exists()), Path("/"))


def check_weasyprint() -> CheckResult:
    """Import WeasyPrint and render a tiny PDF: proves Pango and friends are installed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            import weasyprint

            pdf = weasyprint.HTML(string="<p>kit check</p>").write_pdf()
        except Exception as exc:  # noqa: BLE001 - missing system libraries raise OSError and more
            return CheckResult(
                "weasyprint",
                "FAIL",
                f"cannot render PDFs ({type(exc).__name__}: {exc}); install "
                "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0",
            )
    if not pdf or not pdf.startswith(b"%PDF"):
        return CheckResult("weasyprint", "FAIL", "rendered something that is not a PDF")
    notes = sorted({str(w.message).splitlines()[0] for w in caught})
    version = getattr(weasyprint, "__version__", "?")
    if notes:
        return CheckResult("weasyprint", "warn", f"{version} renders PDFs, but: {'; '.join(notes)}")
    return CheckResult("weasyprint", "ok", f"{version} renders PDFs ({len(pdf)} bytes test page)")


async def run_checks(settings: Settings) -> list[CheckResult]:
    results = await check_database(settings)
    results.append(await check_smtp(settings.smtp_url, settings.outbox_dir))
    results.append(check_weasyprint())
    results.append(check_geocoder(settings))
    results.append(check_base_url(settings))
    results.append(check_forwarded(settings))
    return results
