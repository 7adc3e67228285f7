"""A real `kit serve` (uvicorn) with demo data, and Debian's chromium driven by Playwright.

Browser tests fail, never skip, when chromium is missing: ./scripts/setup --test
installs it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = os.environ.get("KIT_TEST_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("live")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIT_")}
    env.update(
        {
            "KIT_DATA_DIR": str(data_dir),
            "KIT_BASE_URL": f"http://127.0.0.1:{port}",
            # No tile server here: the page must work without tiles.
            "KIT_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png",
        }
    )
    demo = subprocess.run(
        [sys.executable, "-m", "kit.cli", "demo", "--meetings", "80"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr
    log = (Path(data_dir) / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "kit.cli", "serve", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail(
                "kit serve did not become healthy: " + (Path(data_dir) / "server.log").read_text()
            )
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run ./scripts/setup --test"
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        await browser.close()
