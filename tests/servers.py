"""Real `kit` processes for the tests that need them: `kit serve` on a free port, `kit`
commands, workers, and a database of their own beside the suite's.

A server never shares the suite's database: the in-process tests empty its tables
between tests. It gets a SQLite file in its data folder or, on the PostgreSQL run, a
sibling database ``<suite database>_<suffix>`` that is created and emptied first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from kit.core.settings import Settings
from tests.conftest import TEST_DATABASE_URL, is_postgres

ROOT = Path(__file__).resolve().parents[1]
SECRET = "server-test-secret-key"


async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait (bounded) for something another task or process does."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- Environments and commands ------------------------------------------------------------


def kit_env(
    data_dir: Path | str, database_url: str, *, port: int = 9, **extra: str | None
) -> dict[str, str]:
    """This process's environment without its KIT_* variables, plus a kit's own.

    Every request comes from 127.0.0.1, so the per-client rate limits are lifted. No
    proxy is trusted (KIT_FORWARDED_ALLOW_IPS unset) unless a test lists one.
    ``extra`` adds or replaces KIT_* variables; ``None`` leaves one out (its default).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIT_")}
    kit: dict[str, str | None] = {
        "KIT_DATA_DIR": str(data_dir),
        "KIT_DATABASE_URL": database_url,
        "KIT_BASE_URL": f"http://127.0.0.1:{port}",
        "KIT_SECRET_KEY": SECRET,
        "KIT_MAIL_FROM": "kit@example.org",
        "KIT_RATE_LIMIT_RSVP": "100000/minute",
        "KIT_RATE_LIMIT_HOST": "100000/hour",
    }
    kit |= extra
    return env | {k: v for k, v in kit.items() if v is not None}


def settings_env(settings: Settings, **extra: str | None) -> dict[str, str]:
    """The environment that gives a subprocess the in-process tests' settings."""
    return kit_env(
        settings.data_dir,
        settings.database_url,
        KIT_BASE_URL=settings.base_url,
        KIT_SECRET_KEY=settings.secret_key,
        KIT_MAIL_FROM=settings.mail_from,
        **extra,
    )


def run_kit(
    env: dict[str, str], *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """``kit <args>`` to completion; its exit code and output are the caller's to check."""
    return subprocess.run(
        [sys.executable, "-m", "kit.ops.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def kit_output(env: dict[str, str], *args: str, timeout: float = 240) -> str:
    """``kit <args>``, which must succeed; its stdout."""
    done = run_kit(env, *args, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout


def spawn(argv: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python <argv>`` in the background, stdout and stderr to ``log``."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *argv], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# --- Databases of their own ---------------------------------------------------------------


def sibling_postgres_url(suffix: str, url: str = TEST_DATABASE_URL) -> str:
    """The suite's PostgreSQL URL with ``_<suffix>`` appended to the database name."""
    parts = urlsplit(url.replace("asyncpg://", "postgres://", 1))
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{suffix}"))


async def reset_postgres(url: str) -> None:
    """Create the database if it is missing, and empty its public schema."""
    import asyncpg

    parts = urlsplit(url)
    name = parts.path.strip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres", query="")))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def server_database(data_dir: Path, suffix: str) -> str:
    """An empty database for a server: ``<suite database>_<suffix>`` on the PostgreSQL
    run, else a SQLite file in its data folder."""
    if not is_postgres():
        return f"sqlite://{data_dir / 'kit.sqlite3'}"
    url = sibling_postgres_url(suffix)
    await reset_postgres(url)
    return url


# --- kit serve ----------------------------------------------------------------------------


@dataclass
class KitServer:
    base: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    @property
    def database_url(self) -> str:
        return self.env["KIT_DATABASE_URL"]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def assert_running(self) -> None:
        assert self.proc.poll() is None, f"kit serve exited: {self.log_text()[-3000:]}"

    def worker_pids(self) -> set[int]:
        """The worker processes uvicorn's supervisor spawned (not multiprocessing's helpers).

        Read from /proc, not ``ps``: ps may cut a long command line short and hide the
        very word that tells a worker from multiprocessing's resource tracker.
        """
        pid = self.proc.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return {
            int(child)
            for child in children
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
        }


@contextlib.asynccontextmanager
async def kit_serve(
    data_dir: Path,
    database_url: str,
    *,
    port: int | None = None,
    workers: int = 1,
    args: Sequence[str] = (),
    access_log: bool = False,
    **env_extra: str | None,
) -> AsyncIterator[KitServer]:
    """``kit serve`` (uvicorn) on a free port (or ``port``) with :func:`kit_env`'s
    environment, once /healthz answers; stopped at the end."""
    port = port or free_port()
    env = kit_env(data_dir, database_url, port=port, **env_extra)
    argv = ["-m", "kit.ops.cli", "serve", "--port", str(port), "--workers", str(workers), *args]
    if not access_log:
        argv.append("--no-access-log")
    log = data_dir / f"serve-{port}.log"
    server = KitServer(f"http://127.0.0.1:{port}", port, spawn(argv, env, log), log, env)
    try:
        await wait_healthy(server)
        yield server
    finally:
        await asyncio.to_thread(stop, server.proc)


async def wait_healthy(server: KitServer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=server.base, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                pytest.fail(f"kit serve exited ({server.proc.returncode}): {server.log_text()}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    pytest.fail(f"kit serve did not become healthy: {server.log_text()}")
