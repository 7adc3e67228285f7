"""Shared fixtures: one real database per run (SQLite file, or PostgreSQL when
``KIT_TEST_DATABASE_URL`` is set), built by the real migrations, emptied after
every test; the real ASGI app reached over httpx.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from tortoise import Tortoise

from kit.core.settings import Settings
from kit.ops.export import kit_tables
from kit.store.db import apply_migrations, tortoise_config
from kit.web.app import create_app
from tests.smtp import smtp_server  # noqa: F401 - fixture
from tests.writes import writes  # noqa: F401 - fixture

TEST_DATABASE_URL = os.environ.get("KIT_TEST_DATABASE_URL", "")


def is_postgres() -> bool:
    return TEST_DATABASE_URL.startswith(("postgres", "asyncpg"))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kit-data")


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    url = TEST_DATABASE_URL or f"sqlite://{data_dir / 'test.sqlite3'}"
    return Settings.from_env(
        {
            "KIT_DATA_DIR": str(data_dir),
            "KIT_DATABASE_URL": url,
            "KIT_BASE_URL": "http://testserver",
            "KIT_SECRET_KEY": "test-secret-key-not-for-production",
            "KIT_MAIL_FROM": "kit@example.org",
        }
    )


async def _reset_postgres(url: str) -> None:
    """Start from an empty schema so the migrations run from scratch."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("asyncpg://", "postgres://"))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database(settings: Settings) -> AsyncIterator[str]:
    if is_postgres():
        await _reset_postgres(settings.database_url)
    applied = await apply_migrations(settings.database_url)
    assert applied, "a fresh database must get the migrations"
    await Tortoise.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
    yield settings.database_url
    await Tortoise.close_connections()


async def empty_all_tables() -> None:
    conn = Tortoise.get_connection("default")
    tables = kit_tables()  # many-to-many link tables too: SQLite doesn't cascade here
    if conn.capabilities.dialect == "postgres":
        quoted = ", ".join('"' + t + '"' for t in tables)
        await conn.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE;")
    else:
        await conn.execute_script(
            "PRAGMA foreign_keys=OFF;"
            + "".join(f'DELETE FROM "{t}";' for t in tables)
            # Deleting meetings ran the map_cell triggers (migrations 0013, 0016): empty
            # their tables again.
            + 'DELETE FROM "map_cell"; DELETE FROM "map_cell_span";'
            + "PRAGMA foreign_keys=ON;"
        )


@pytest.fixture
async def db(database: str) -> AsyncIterator[str]:
    """A database with the schema and no rows; emptied again after the test."""
    yield database
    await empty_all_tables()


@pytest.fixture
def app(settings: Settings, db: str):  # noqa: ANN201
    return create_app(settings, manage_db=False)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment with no KIT_* variables, for CLI subprocess tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIT_")}
    env["KIT_DATA_DIR"] = str(tmp_path / "var")
    yield env
