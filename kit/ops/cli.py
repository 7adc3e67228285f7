"""The ``kit`` command: serve, migrate, demo, and operators' verbs.

Every command reads Settings once; a malformed setting or an unreachable
database ends the command with one line naming the problem, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from tortoise import Tortoise

from kit import __version__
from kit.core import urls
from kit.core.errors import KitError, SettingsError
from kit.core.rendering import plural
from kit.core.settings import Settings, parse_forwarded_allow_ips
from kit.store.db import apply_migrations, tortoise_config

log = logging.getLogger("kit")

T = TypeVar("T")


class CommandError(Exception):
    """A one-line message for the operator."""


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def with_database(settings: Settings, work: Callable[[], Awaitable[int]]) -> int:
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    applied = run_async(apply_migrations(settings.database_url, secret_key=settings.secret_key))
    print(
        f"Applied {plural(len(applied), 'migration', 'migrations')}: {', '.join(applied)}"
        if applied
        else "Database is up to date."
    )
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    proxies = trusted_proxies(args, settings)
    run_async(prepare_database(settings))
    url = f"http://{args.host}:{args.port}"
    print(f"House Meeting Kit is serving at {url}  (public URL: {settings.base_url})", flush=True)
    print(describe_proxies(proxies), flush=True)
    uvicorn.run(
        "kit.web.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # Off unless the operator names a proxy: a header believed from anyone lets any
        # client pick its own address, and with it escape every per-client rate limit.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=",".join(proxies) or None,
        log_level=args.log_level,
        access_log=args.access_log,
        log_config=serve_log_config(),
    )
    return 0


def trusted_proxies(args: argparse.Namespace, settings: Settings) -> tuple[str, ...]:
    """``--forwarded-allow-ips`` if given (even empty), else KIT_FORWARDED_ALLOW_IPS."""
    if args.forwarded_allow_ips is None:
        return settings.forwarded_allow_ips
    return parse_forwarded_allow_ips("--forwarded-allow-ips", args.forwarded_allow_ips)


def describe_proxies(proxies: tuple[str, ...]) -> str:
    if not proxies:
        return (
            "Trusting no proxy's X-Forwarded-* headers: each client is the address that "
            "connects (behind a reverse proxy, set KIT_FORWARDED_ALLOW_IPS to its address)."
        )
    return f"Trusting X-Forwarded-For and X-Forwarded-Proto from: {', '.join(proxies)}"


def serve_log_config() -> dict[str, Any]:
    """uvicorn's logging, with each line naming the process that wrote it, and no secret.

    With ``--workers N`` the lines of N processes interleave in one log; the pid says
    which worker answered a request or delivered a batch of mail (the kit's own
    loggers, e.g. ``kit.outbox.delivery``, log at INFO here too). Every handler redacts the
    tokens of secret links (kit/core/log_redaction.py): logs are read by more people, and
    kept longer, than the links are meant for.
    """
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    formatters = config["formatters"]
    formatters["default"]["fmt"] = "%(levelprefix)s [%(process)d] %(message)s"
    formatters["access"]["fmt"] = (
        '%(levelprefix)s [%(process)d] %(client_addr)s - "%(request_line)s" %(status_code)s'
    )
    config["filters"] = {"redact_secrets": {"()": "kit.core.log_redaction.RedactSecrets"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact_secrets"]
    config["loggers"]["kit"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


async def prepare_database(settings: Settings) -> None:
    """Before serving: a writable database with every migration applied, or one clear line.

    Without this a read-only database starts fine and then answers 500 to every
    form, and a failed migration is a traceback that a process manager restarts
    in a loop.
    """
    from kit.ops import checks

    path = checks.sqlite_path(settings.database_url)
    if path is not None:
        writable = checks.check_sqlite_writable(path)
        if writable.status == "FAIL":
            raise CommandError(f"cannot start: {writable.message}")
    try:
        await apply_migrations(settings.database_url, secret_key=settings.secret_key)
    except Exception as exc:  # noqa: BLE001 - one line for the operator, not a traceback
        if isinstance(exc, OSError | ConnectionError) or "connect" in type(exc).__name__.lower():
            raise CommandError(f"cannot start: cannot reach the database: {exc}") from exc
        raise CommandError(
            f"cannot start: migrations could not be applied ({type(exc).__name__}: {exc}); "
            "run `kit check` for details"
        ) from exc
    if path is None:

        async def probe() -> checks.CheckResult:
            async with checks.connected(settings) as conn:
                return await checks.postgres_writable(conn)

        writable = await probe()
        if writable.status == "FAIL":
            raise CommandError(f"cannot start: {writable.message}")


def cmd_check(args: argparse.Namespace, settings: Settings | None) -> int:
    from kit.ops import checks

    loaded, configuration = checks.check_settings()
    print(configuration.line())
    if loaded is None:
        return 1
    for name, value in checks.effective_settings(loaded).items():
        print(f"        {name} = {value}")
    results = run_async(checks.run_checks(loaded))
    for result in results:
        print(result.line())
    return 1 if checks.any_failed(results) else 0


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from kit.ops.backup import backup_sqlite

    result = backup_sqlite(settings.database_url, Path(args.out))
    print(
        f"Backed up {sum(result.tables.values())} rows in {len(result.tables)} tables to "
        f"{result.path} ({result.bytes:,} bytes). To restore: stop the kit, then copy it over "
        f"{result.source} and remove {result.source.name}-wal and -shm beside it."
    )
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from kit.ops.export import export_data

    async def work() -> int:
        result = await export_data(Path(args.out))
        tables = result.manifest["tables"]
        rows = sum(t["rows"] for t in tables.values())
        print(
            f"Exported {rows} rows from {len(tables)} tables to {result.path} "
            f"(schema {result.manifest['schema_version']}). It holds personal data: "
            "store it encrypted and delete it when done."
        )
        return 0

    return run_async(with_database(settings, work))


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from kit.ops import demo, demo_bulk

    run_async(apply_migrations(settings.database_url))

    async def work() -> int:
        if args.bulk or args.meetings >= demo_bulk.BULK_FROM:
            summary = await demo_bulk.load_bulk_demo(
                settings, meetings=args.meetings, seed=args.seed
            )
        else:
            summary = await demo.load_demo(settings, meetings=args.meetings, seed=args.seed)
        print(summary.describe())
        print((await demo.demo_tour(settings)).describe())
        return 0

    return run_async(with_database(settings, work))


def cmd_approve(args: argparse.Namespace, settings: Settings) -> int:
    from kit.coordinators.moderation import approve_from_cli

    async def work() -> int:
        meeting = await approve_from_cli(args.meeting_id, site=settings)
        print(f"Published: {meeting.title} ({urls.meeting(settings.base_url, meeting.public_id)})")
        print("The host is being told by email.")
        return 0

    return run_async(with_database(settings, work))


def cmd_coordinator_add(args: argparse.Namespace, settings: Settings) -> int:
    from kit.coordinators.accounts import add_coordinator_from_cli, describe_coordinator
    from kit.store.models import CoordinatorRole

    async def work() -> int:
        coordinator, created = await add_coordinator_from_cli(
            args.email,
            name=args.name,
            is_admin=args.admin,
            campaign_slug=args.campaign,
            role=CoordinatorRole(args.role) if args.role else None,
        )
        verb = "Added" if created else "Updated"
        print(f"{verb} coordinator {await describe_coordinator(coordinator)}")
        return 0

    return run_async(with_database(settings, work))


def cmd_coordinator_remove(args: argparse.Namespace, settings: Settings) -> int:
    from kit.coordinators.accounts import remove_coordinator

    async def work() -> int:
        gone = await remove_coordinator(args.email, args.campaign)
        where = f"from {args.campaign}" if args.campaign and not gone else "and their account"
        print(f"Removed {args.email.strip().lower()} {where}; their sessions have ended.")
        return 0

    return run_async(with_database(settings, work))


def cmd_coordinator_list(args: argparse.Namespace, settings: Settings) -> int:
    from kit.coordinators.accounts import list_coordinators

    async def work() -> int:
        lines = await list_coordinators()
        print("\n".join(lines) if lines else "No coordinators yet: kit coordinator add EMAIL")
        return 0

    return run_async(with_database(settings, work))


def cmd_host_trust(args: argparse.Namespace, settings: Settings) -> int:
    from kit.coordinators.moderation import TRUSTED_MEANS, UNTRUSTED_MEANS, trust_person

    trusted = args.action == "trust"

    async def work() -> int:
        person, changed = await trust_person(args.email, trusted=trusted)
        who = f"{person.email} ({person.name})"
        if not changed:
            state = "already a trusted host" if trusted else "not a trusted host"
            print(f"{who} is {state}; nothing changed.")
        elif trusted:
            print(f"{who} is now a trusted host: {TRUSTED_MEANS}.")
        else:
            print(f"{who} is no longer trusted: {UNTRUSTED_MEANS}.")
        return 0

    return run_async(with_database(settings, work))


def cmd_outbox(args: argparse.Namespace, settings: Settings) -> int:
    from kit.outbox import queue as outbox

    async def work() -> int:
        counts = await outbox.summary()
        waiting = (
            f", oldest queued {outbox.age(counts.oldest_pending)}" if counts.oldest_pending else ""
        )
        print(
            f"Outbox: {counts.pending} pending{waiting}; {counts.sent} sent; {counts.failed} failed"
        )
        if len(counts.channels) > 1:
            for channel, each in counts.channels.items():
                print(
                    f"  {channel}: {each.pending} pending; {each.sent} sent; {each.failed} failed"
                )
        failed = await outbox.failed_messages(limit=args.limit)
        for message in failed:
            print(f"  {message.describe()}")
        if counts.failed > len(failed):
            print(f"... and {counts.failed - len(failed)} more (--limit)")
        if failed:
            print("Send again with: kit outbox retry ID [ID ...]  or  kit outbox retry --all")
        return 0

    return run_async(with_database(settings, work))


def cmd_outbox_retry(args: argparse.Namespace, settings: Settings) -> int:
    from kit.outbox import queue as outbox

    async def work() -> int:
        done = await outbox.retry(args.ids, every=args.all)
        print(
            f"Queued {plural(len(done.ids), 'message', 'messages')} again; a running kit serve "
            "or kit worker sends them within seconds."
        )
        for message in done.skipped:
            print(
                f"Left failed: #{message.id} {message.channel} {message.kind} to "
                f"{message.recipient}: {message.stale}"
            )
        return 0

    return run_async(with_database(settings, work))


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from kit.jobs.schedule import run_schedule_loop
    from kit.outbox.delivery import run_worker

    # Reminders and digests are queued by the same processes that deliver.
    schedule = [lambda stop: run_schedule_loop(settings, stop=stop)]
    return run_async(run_worker(settings, alongside=schedule))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kit",
        description="House Meeting Kit: tools for local, face-to-face meetings. "
        "Configured by KIT_* environment variables (see README).",
    )
    parser.add_argument("--version", action="version", version=f"kit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="apply migrations, then serve the web app with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="web worker processes (SQLite: one machine; PostgreSQL for more; docs/deployment.md)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        metavar="IPS",
        help="reverse proxies whose X-Forwarded-For/-Proto are believed, comma-separated "
        "(e.g. 127.0.0.1); default KIT_FORWARDED_ALLOW_IPS, unset: none",
    )
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--no-access-log", dest="access_log", action="store_false")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=cmd_migrate)

    check = sub.add_parser(
        "check",
        help="check settings, database, SMTP, PDF rendering, geocoder and base URL",
        description="One line per check: ok, warn or FAIL with what to do. "
        "Exits 1 when anything FAILs, 0 otherwise. Changes nothing.",
    )
    check.set_defaults(func=cmd_check, needs_settings=False)

    export = sub.add_parser(
        "export",
        help="write every table as JSON Lines with a manifest (PERSONAL DATA)",
        description="Write a consistent snapshot of all data: one JSON Lines file per table "
        "and manifest.json (row counts, schema version, date). WARNING: the export holds "
        "personal data (names, emails, home addresses, phone numbers): store it encrypted, "
        "share it with no one who may not see the database, and delete it when done.",
    )
    export.add_argument(
        "--out", required=True, metavar="PATH", help="a new folder, or a .zip or .tar.gz file"
    )
    export.set_defaults(func=cmd_export)

    backup = sub.add_parser(
        "backup",
        help="copy the SQLite database consistently while serving (PERSONAL DATA)",
        description="Copy the SQLite database with SQLite's online backup API: a consistent "
        "snapshot, safe while kit serve and kit worker run. To restore, stop the kit and copy "
        "the file over the database (remove any -wal/-shm files next to it). For PostgreSQL "
        "use pg_dump / pg_restore (docs/deployment.md). WARNING: the backup holds personal "
        "data: store it encrypted and keep only as many as you need.",
    )
    backup.add_argument("--out", required=True, metavar="FILE", help="a new file to write")
    backup.set_defaults(func=cmd_backup)

    demo = sub.add_parser("demo", help="fill the database with a realistic demo (idempotent)")
    demo.add_argument("--meetings", type=int, default=300, help="upcoming meetings to create")
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument(
        "--bulk",
        action="store_true",
        help="write rows in bulk instead of one meeting at a time (the default from "
        "5,000 meetings): for load tests",
    )
    demo.set_defaults(func=cmd_demo)

    worker = sub.add_parser(
        "worker", help="deliver queued emails, for deployments with several processes"
    )
    worker.set_defaults(func=cmd_worker)

    outbox = sub.add_parser(
        "outbox",
        help="show queued, sent and failed emails; send failed ones again",
        description="Without an action: counts by status and the emails delivery gave up on, "
        "with the server's last answer.",
    )
    outbox.add_argument("--limit", type=int, default=50, help="failed messages to list")
    outbox.set_defaults(func=cmd_outbox)
    outbox_sub = outbox.add_subparsers(dest="action", metavar="ACTION")
    retry = outbox_sub.add_parser(
        "retry",
        help="queue failed emails again, once the cause is mended",
        description="Named emails are sent again as they are. --all leaves out emails that "
        "would arrive too late to help (a reminder of a meeting that has started, an "
        "expired sign-in link) and lists them.",
    )
    retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="ids from `kit outbox`")
    retry.add_argument("--all", action="store_true", help="every failed email that still helps")
    retry.set_defaults(func=cmd_outbox_retry)

    approve = sub.add_parser("approve", help="publish a meeting that waits for approval")
    approve.add_argument("meeting_id", help="the id in the meeting's URL")
    approve.set_defaults(func=cmd_approve)

    coordinator = sub.add_parser("coordinator", help="manage coordinator accounts")
    coordinator_sub = coordinator.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = coordinator_sub.add_parser(
        "add", help="create a coordinator, or give one admin rights or a campaign (idempotent)"
    )
    add.add_argument("email")
    add.add_argument("--admin", action="store_true", help="may see and edit every campaign")
    add.add_argument("--campaign", default="", metavar="SLUG", help="a campaign to coordinate")
    add.add_argument("--name", default="", help="shown to hosts in messages")
    add.add_argument(
        "--role",
        choices=["coordinator", "moderator", "viewer"],
        help="what they may do in their campaigns (new accounts: coordinator)",
    )
    add.set_defaults(func=cmd_coordinator_add)
    remove = coordinator_sub.add_parser(
        "remove", help="take a campaign away, or (without --campaign) remove the account"
    )
    remove.add_argument("email")
    remove.add_argument("--campaign", default="", metavar="SLUG", help="only this campaign")
    remove.set_defaults(func=cmd_coordinator_remove)
    listing = coordinator_sub.add_parser("list", help="every coordinator, role and campaigns")
    listing.set_defaults(func=cmd_coordinator_list)

    host = sub.add_parser("host", help="trust a host, or stop trusting them")
    host_sub = host.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, says in (
        ("trust", "vouch for a host: a higher daily invitation cap, links kept in their notes"),
        ("untrust", "stop trusting a host: the standard cap, links taken out of their notes"),
    ):
        verb = host_sub.add_parser(action, help=says, description=f"{says[0].upper()}{says[1:]}.")
        verb.add_argument("email", help="the address the host publishes with")
        verb.set_defaults(func=cmd_host_trust)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # its progress is noise here
    args = build_parser().parse_args(argv)
    try:
        # `kit check` reports a bad setting as one of its checks instead of stopping.
        settings = Settings.from_env() if getattr(args, "needs_settings", True) else None
        return int(args.func(args, settings))
    except SettingsError as exc:
        print(f"kit: configuration error: {exc}", file=sys.stderr)
    except (CommandError, KitError) as exc:
        print(f"kit: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - operators get one line, not a traceback
        if not _is_database_problem(exc):
            raise
        print(f"kit: {_database_problem(exc)}: {exc}", file=sys.stderr)
    return 2


def _is_database_problem(exc: BaseException) -> bool:
    from tortoise.exceptions import BaseORMException

    return isinstance(exc, OSError | ConnectionError | BaseORMException)


def _database_problem(exc: BaseException) -> str:
    from tortoise.exceptions import DBConnectionError

    if isinstance(exc, OSError | ConnectionError | DBConnectionError):
        return "cannot reach the database"
    return "database error"


if __name__ == "__main__":
    sys.exit(main())
