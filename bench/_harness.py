"""What the benchmarks share: a real `kit serve` on a free port, a bench database of
their own, a minimal keep-alive HTTP client, CPU accounting and the machine line.

Every script in bench/ imports it as ``from _harness import ...`` (Python puts the
script's folder first on ``sys.path``); it puts the repository on ``sys.path`` so the
scripts can import ``kit`` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-key-not-for-production"
PROTECTED_DATABASES = {"test", "test_conc", "postgres", "template0", "template1"}
T = TypeVar("T")


# --- machine and figures -------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def machine() -> str:
    return f"{os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def for_sqlite(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # As Tortoise writes them: UTC ISO text for datetimes, 0/1 for booleans.
    return tuple(
        v.isoformat(" ") if isinstance(v, datetime) else int(v) if isinstance(v, bool) else v
        for v in row
    )


# --- databases -----------------------------------------------------------------------------


async def reset_postgres(url: str) -> None:
    """Create the bench database if needed and empty its schema (never the test database)."""
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    if name in PROTECTED_DATABASES:
        raise SystemExit(f"refusing to wipe database {name!r}: give the bench its own (--pg-url)")
    admin = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
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


async def postgres_version(url: str) -> str:
    with contextlib.suppress(OSError, asyncpg.PostgresError):
        conn = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
        try:
            return "PostgreSQL " + str(await conn.fetchval("SHOW server_version")).split()[0]
        finally:
            await conn.close()
    return "PostgreSQL not reachable"


async def fetch_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Run one read query straight through the driver (no Tortoise in the bench process)."""
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").split("?", 1)[0]
        with contextlib.closing(sqlite3.connect(path)) as db:
            return db.execute(sql).fetchall()
    conn = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def publish_confirmed(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> str:
    """Publish a meeting through the API and confirm the host's address from the link the
    server queued (read from its database), as a new host would; the meeting's id.

    Each call confirms in a session of its own, so the host's browser proof doesn't leak
    into the caller's client."""
    response = await client.post("/api/meetings", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"POST /api/meetings answered {response.status_code}: {response.text}")
    public_id = str(response.json()["id"])
    quoted = public_id.replace("'", "''")
    [(payload,)] = await fetch_rows(
        url,
        "SELECT e.payload FROM outbox_message e JOIN meeting m ON m.id = e.meeting_id "
        f"WHERE m.public_id = '{quoted}' AND e.kind = 'host_confirm'",
    )
    text = json.loads(payload)["body_text"] if isinstance(payload, str) else payload["body_text"]
    found = re.search(r"https?://[^/\s]+(/hosts/confirm/[\w-]+)", text)
    assert found, text
    async with httpx.AsyncClient(base_url=client.base_url, timeout=60) as browser:
        page = await browser.get(found.group(1))
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = {"csrf_token": csrf, "name": body["host"]["name"]}
        published = await browser.post(found.group(1), data=form)
    if published.status_code != 303:
        raise RuntimeError(f"confirming {public_id} answered {published.status_code}")
    return public_id


SEAT_COUNTERS_WRONG_SQL = """
SELECT count(*) FROM meeting m
WHERE m.seats_taken > m.capacity OR m.seats_taken <> (
    SELECT coalesce(sum(1 + r.guests), 0) FROM rsvp r
    WHERE r.meeting_id = m.id AND r.status = 'confirmed')
"""


async def seat_counters_wrong(url: str) -> int:
    """Meetings whose seats_taken is over capacity or differs from the confirmed parties."""
    [(count,)] = await fetch_rows(url, SEAT_COUNTERS_WRONG_SQL)
    return int(count)


# --- CPU accounting (Linux /proc) ----------------------------------------------------------


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds used so far by these processes."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (uvicorn's supervisor and its workers)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(found)
        tree |= found
    return sorted(tree)


async def postgres_backends(url: str) -> list[int]:
    """The server processes holding the bench database's connections (the kit's pools)."""
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


# --- the server under test -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kit_env(url: str, data_dir: Path, port: int, extra: Mapping[str, str] = {}) -> dict[str, str]:
    """This process's environment without its KIT_* settings, plus the bench's."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("KIT_")},
        "KIT_DATABASE_URL": url,
        "KIT_DATA_DIR": str(data_dir),
        "KIT_BASE_URL": f"http://127.0.0.1:{port}",
        "KIT_SECRET_KEY": SECRET,
        "KIT_MAIL_FROM": "kit@example.org",
        **extra,
    }


@dataclass(frozen=True)
class Server:
    base: str
    port: int
    pid: int
    log: Path

    def processes(self) -> list[int]:
        return process_tree(self.pid)

    def cpu_seconds(self) -> float:
        """User + system CPU the server (supervisor and workers) has used so far."""
        return cpu_seconds(self.processes())


@contextlib.asynccontextmanager
async def kit_serve(
    url: str,
    data_dir: Path,
    workers: int = 1,
    env: Mapping[str, str] = {},
    cpus: str | None = None,
) -> AsyncIterator[Server]:
    """``kit serve`` (which applies the migrations first) until the block ends; with
    ``cpus`` ("0"), pinned to those cores by ``taskset``."""
    port = free_port()
    command = [
        *(["taskset", "-c", cpus] if cpus else []),
        sys.executable, "-m", "kit.ops.cli", "serve", "--port", str(port),
        "--workers", str(workers), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    log_path = data_dir / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=kit_env(url, data_dir, port, env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", port, process.pid, log_path)
    try:
        await wait_until_up(server.base, process, log_path)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"kit serve exited:\n{log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"kit serve did not answer /healthz within 60 s:\n{log.read_text()}")


def run_kit(command: list[str], url: str, data_dir: Path) -> str:
    """Run one ``kit`` command against the bench database; its output, or exit on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "kit.ops.cli", *command],
        cwd=ROOT,
        env=kit_env(url, data_dir, 8000),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"kit {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


# --- load ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names; repeated ones joined by "\n"
    body: bytes


class KeepAlive:
    """HTTP/1.1 over one keep-alive connection, written by hand.

    httpx spends about 2 ms of CPU a request here; on a 2-core machine that caps
    the figures at what the client can do. This costs a few hundredths of that.
    """

    IDLE_S = 4.0  # uvicorn closes keep-alive connections idle for 5 s

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: Mapping[str, str] = {},
    ) -> Reply:
        if self.writer is None or time.monotonic() - self.used > self.IDLE_S:
            await self.close()
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body or method != "GET":
            head.append(f"Content-Length: {len(body)}")
        try:
            self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            reply = await read_reply(self.reader)
        except BaseException:
            await self.close()
            raise
        self.used = time.monotonic()
        if reply.headers.get("connection", "").lower() == "close":
            await self.close()
        return reply

    async def get(self, path: str) -> int:
        return (await self.request("GET", path)).status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def read_reply(reader: asyncio.StreamReader) -> Reply:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *lines = head.rstrip("\r\n").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}\n{value.strip()}" if key in headers else value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await read_chunks(reader)
    else:
        raise RuntimeError(f"no Content-Length in {head[:200]!r}")
    return Reply(int(status_line.split(" ", 2)[1]), headers, body)


async def read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")  # no trailers
    return b"".join(parts)


@contextlib.asynccontextmanager
async def keepalive_getter(server: Server) -> AsyncIterator[Callable[[str], Awaitable[int]]]:
    """GET over one keep-alive connection of its own."""
    connection = KeepAlive(server.port)
    try:
        yield connection.get
    finally:
        await connection.close()


async def drain(items: Iterable[T], runners: list[Callable[[T], Awaitable[None]]]) -> float:
    """Bounded closed-loop load: each runner takes the next item when its last one is done,
    so exactly ``len(runners)`` are in flight. Returns the seconds it took."""
    todo = iter(items)

    async def run(do: Callable[[T], Awaitable[None]]) -> None:
        for item in todo:
            await do(item)

    started = time.perf_counter()
    await asyncio.gather(*(run(do) for do in runners))
    return time.perf_counter() - started


def cookies_from(reply: Reply) -> dict[str, str]:
    cookies = {}
    for line in reply.headers.get("set-cookie", "").split("\n"):
        if "=" in line:
            name, _, rest = line.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
    return cookies


CSRF_FIELD = re.compile(rb'name="csrf_token" value="([^"]+)"')


@dataclass
class Tally:
    """Latencies and answers of one kind of request."""

    latencies: list[float] = field(default_factory=list)
    codes: dict[int, int] = field(default_factory=dict)  # -1: no answer (transport error)

    def add(self, status: int, seconds: float) -> None:
        self.codes[status] = self.codes.get(status, 0) + 1
        if status > 0:
            self.latencies.append(seconds)

    def count(self, low: int, high: int) -> int:
        return sum(n for code, n in self.codes.items() if low <= code <= high)
