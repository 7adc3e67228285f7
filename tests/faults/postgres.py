"""A private PostgreSQL cluster a test may stop and start (never the machine's shared one).

``initdb`` into a fresh folder under /tmp, served on a free loopback port by
``pg_ctl`` run as the ``postgres`` OS user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.servers import free_port


def postgres_bin() -> Path:
    """The newest installed server's bin folder, e.g. /usr/lib/postgresql/15/bin."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    assert found, "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
    return Path(found[-1]).parent


class PrivateCluster:
    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        # Not under pytest's tmp_path: the postgres user can't enter root's 0700 folders.
        self.root = Path(tempfile.mkdtemp(prefix="kit-faults-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "postgres.log"
        self.sockets.mkdir()
        owner = pwd.getpwnam("postgres")
        for path in (self.root, self.sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout}{done.stderr}"

    def init(self) -> None:
        initdb = str(self.bin / "initdb")
        self._as_postgres(initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c max_connections=40"
        )
        pg_ctl = str(self.bin / "pg_ctl")
        self._as_postgres(
            pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"
        )

    def stop(self) -> None:
        pg_ctl = str(self.bin / "pg_ctl")
        self._as_postgres(pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
