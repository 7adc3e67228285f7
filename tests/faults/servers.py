"""A real ``kit serve`` subprocess for fault tests, and the small helpers around it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "faults-test-secret-key"
SERVE = [sys.executable, "-m", "kit.cli", "serve"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kit_env(data_dir: Path, database_url: str, port: int = 9, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIT_")}
    env |= {
        "KIT_DATA_DIR": str(data_dir),
        "KIT_DATABASE_URL": database_url,
        "KIT_BASE_URL": f"http://127.0.0.1:{port}",
        "KIT_SECRET_KEY": SECRET,
        "KIT_MAIL_FROM": "kit@example.org",
        "KIT_RATE_LIMIT_RSVP": "100000/minute",
        "KIT_RATE_LIMIT_HOST": "100000/hour",
    }
    return env | extra


def run_kit(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kit.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class KitServer:
    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def assert_running(self) -> None:
        assert self.proc.poll() is None, f"kit serve exited: {self.log_text()[-3000:]}"


@contextlib.asynccontextmanager
async def kit_serve(data_dir: Path, database_url: str, **extra: str) -> AsyncIterator[KitServer]:
    """``kit serve`` (uvicorn, one worker) on a free port; stopped at the end."""
    port = free_port()
    log_path = data_dir / f"serve-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            SERVE + ["--port", str(port), "--no-access-log"],
            cwd=ROOT,
            env=kit_env(data_dir, database_url, port, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = KitServer(f"http://127.0.0.1:{port}", proc, log_path)
    try:
        await wait_healthy(server)
        yield server
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
            await asyncio.to_thread(proc.wait, 5)


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
