"""The SQLite file's disk turns read-only while the kit runs: writes get a clear 503.

We run as root, and root ignores file permissions, so ``chmod`` proves nothing. The
database file and its write-ahead log are made immutable instead (``chattr +i``):
the kernel then refuses every write, even through the descriptors SQLite already
holds, exactly as a disk remounted read-only does. (The ``-shm`` index stays
writable: SQLite maps it into memory, and a refused write there is a SIGBUS, which
a read-only remount can't cause since Linux won't remount with files open for writing.)
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import meeting_body, publish_on_server_sync
from tests.servers import KitServer, kit_env, kit_serve, run_kit

pytestmark = pytest.mark.server


def chattr(flag: str, paths: list[Path]) -> None:
    done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True)
    assert done.returncode == 0, f"chattr {flag} needs root on ext4-like /tmp: {done.stderr}"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("read-only")


@pytest.fixture(scope="module")
async def server(data_dir: Path) -> AsyncIterator[KitServer]:
    url = f"sqlite://{data_dir / 'kit.sqlite3'}"
    migrate = run_kit(kit_env(data_dir, url), "migrate")
    assert migrate.returncode == 0, migrate.stderr
    async with kit_serve(data_dir, url) as server:
        yield server


@pytest.fixture(scope="module")
def meeting_id(server: KitServer) -> str:
    created = publish_on_server_sync(server.base, server.database_url, meeting_body())
    return str(created["id"])


@contextlib.contextmanager
def read_only(data_dir: Path) -> Iterator[None]:
    files = [data_dir / "kit.sqlite3", data_dir / "kit.sqlite3-wal"]
    assert all(f.exists() for f in files), sorted(p.name for p in data_dir.iterdir())
    chattr("+i", files)
    try:
        yield
    finally:
        chattr("-i", files)


@pytest.fixture
def read_only_disk(server: KitServer, meeting_id: str, data_dir: Path) -> Iterator[None]:
    with read_only(data_dir):
        yield


def rsvp(server: KitServer, meeting_id: str, email: str) -> httpx.Response:
    body = {"name": "Neighbor", "email": email}
    return httpx.post(f"{server.base}/api/meetings/{meeting_id}/rsvps", json=body, timeout=10)


def test_on_a_read_only_disk_writes_answer_503_and_reads_keep_working(
    server: KitServer, meeting_id: str, read_only_disk: None
) -> None:
    for i in range(5):  # again and again: no crash, no restart
        refused = rsvp(server, meeting_id, f"ro{i}@example.org")
        assert refused.status_code == 503, refused.text
        assert "read-only" in refused.json()["error"]
        assert int(refused.headers["retry-after"]) > 0

        page = httpx.get(f"{server.base}/meetings/{meeting_id}", timeout=10)
        assert page.status_code == 200
        assert httpx.get(f"{server.base}/api/meetings/{meeting_id}", timeout=10).status_code == 200

    new = meeting_body(title="A meeting that cannot be saved")
    hosting = httpx.post(f"{server.base}/api/meetings", json=new, timeout=10)
    assert hosting.status_code == 503 and "read-only" in hosting.json()["error"]
    server.assert_running()


def test_a_form_on_a_read_only_disk_gets_an_html_page_that_says_so(
    server: KitServer, meeting_id: str, read_only_disk: None
) -> None:
    with httpx.Client(base_url=server.base, timeout=10) as http:
        page = http.get(f"/meetings/{meeting_id}")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = {"csrf_token": token, "name": "Neighbor", "email": "form@example.org"}
        refused = http.post(f"/meetings/{meeting_id}/rsvp", data=form)
    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("text/html")
    assert "read-only" in refused.text and "changes can" in refused.text
    server.assert_running()


def test_healthz_takes_the_node_out_while_the_disk_refuses_writes(
    server: KitServer, meeting_id: str, read_only_disk: None
) -> None:
    health = httpx.get(f"{server.base}/healthz", timeout=10)
    assert health.status_code == 503, health.text
    database = health.json()["database"]
    assert (database["readable"], database["writable"]) == (True, False)
    assert database["problem"] == "read_only"
    assert health.json()["ok"] is False
    server.assert_running()


def test_once_the_disk_is_writable_again_the_same_process_saves(
    server: KitServer, meeting_id: str, data_dir: Path
) -> None:
    with read_only(data_dir):
        assert rsvp(server, meeting_id, "later@example.org").status_code == 503
    saved = rsvp(server, meeting_id, "later@example.org")
    assert saved.status_code == 202, saved.text
    health = httpx.get(f"{server.base}/healthz", timeout=10)
    assert health.status_code == 200
    server.assert_running()
