"""Schemathesis fuzzes the JSON API from the app's own /openapi.json.

A real `kit serve` (uvicorn) runs on a free loopback port with the demo data, in a
data folder and a database of its own (SQLite, or ``<name>_fuzz`` beside the
suite's PostgreSQL database), so the in-process tests that empty their tables
between tests never touch it. Every generated request goes over real HTTP.

What every answer must satisfy, whatever was sent:
- never a 5xx (``not_a_server_error``);
- a status the operation documents (``status_code_conformance``);
- the documented content type and body schema (``content_type_conformance``,
  ``response_schema_conformance``, ``response_headers_conformance``).

Who asks:
- ``test_api_as_a_stranger``: every operation as generated, no credentials (path
  ids are random, so most answers on ``/api/meetings/{id}`` are 404s);
- ``test_api_as_the_host``: the operations on one meeting, sent with that
  meeting's real id and manage token, so fuzzed bodies reach the validators of
  PATCH, RSVP and the report (the report's meeting has already started). Cancel
  gets a fresh meeting each time, so the others keep a live one;
- ``test_api_as_a_coordinator``: the dashboard of the demo campaign with a real
  coordinator API token and a fuzzed slug or the real one.

``KIT_FUZZ_EXAMPLES`` sets the examples per operation (25 here, so the module runs
in about a minute; ``scripts/fuzz`` runs many more).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kit.web.openapi import SCHEMAS
from kit.web.routes import ROUTES
from tests.factories import meeting_body, publish_on_server_sync
from tests.servers import ROOT, free_port, kit_env, kit_output, kit_serve, server_database

pytestmark = pytest.mark.server

EXAMPLES = int(os.environ.get("KIT_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the checkout
    suppress_health_check=list(HealthCheck),
    # The same cases on every CI run; scripts/fuzz picks a random seed and prints it.
    derandomize="KIT_FUZZ_SEED" not in os.environ,
)


@dataclass(frozen=True)
class FuzzTarget:
    base: str
    data_dir: Path
    env: dict[str, str]
    meeting_id: str  # upcoming; the host fuzzes its PATCH and RSVPs
    meeting_token: str
    past_meeting_id: str  # already started, so a report can be filed
    past_meeting_token: str
    campaign_slug: str
    coordinator_token: str

    def new_meeting(self) -> tuple[str, str]:
        """Publish a meeting through the API, as a host would; return (id, token)."""
        # A new title each time: the same meeting twice is recognized as a repeat.
        body = meeting_body(title=f"Fuzzing night {uuid.uuid4().hex[:8]}")
        created = publish_on_server_sync(self.base, self.env["KIT_DATABASE_URL"], body)
        return created["id"], created["manage_url"].rsplit("token=", 1)[1]


async def seed_server(database_url: str, past_meeting_id: str) -> dict[str, str]:
    """Run in a subprocess on the server's database: what only the CLI or time can do.

    A coordinator with an API token (as /coordinators/account makes one), and one of
    the fuzzing host's meetings moved into the past so its report can be filed.
    """
    from datetime import UTC, datetime, timedelta

    from tortoise import Tortoise

    from kit.coordinators.accounts import add_coordinator
    from kit.coordinators.api_tokens import create_api_token
    from kit.store.db import tortoise_config
    from kit.store.models import Campaign, Meeting

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        coordinator, _ = await add_coordinator("fuzz@example.org", is_admin=True)
        token = await create_api_token(coordinator)
        now = datetime.now(UTC)
        await Meeting.filter(public_id=past_meeting_id).update(
            starts_at=now - timedelta(hours=3), ends_at=now - timedelta(hours=1)
        )
        campaign = await Campaign.all().order_by("id").first()
        assert campaign is not None, "the demo data has a campaign"
        return {"coordinator_token": token, "campaign_slug": campaign.slug}
    finally:
        await Tortoise.close_connections()


# Fuzzing sends hundreds of RSVPs, meetings and messages from one address.
UNLIMITED = {
    "KIT_RATE_LIMIT_RSVP": "1000000/minute",
    "KIT_RATE_LIMIT_HOST": "1000000/minute",
    "KIT_RATE_LIMIT_MESSAGE": "1000000/minute",
}


@pytest.fixture(scope="session")
async def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FuzzTarget]:
    data_dir = tmp_path_factory.mktemp("fuzz")
    database_url = await server_database(data_dir, "fuzz")
    port = free_port()
    kit_output(kit_env(data_dir, database_url, port=port, **UNLIMITED), "demo", "--meetings", "12")
    async with kit_serve(data_dir, database_url, port=port, **UNLIMITED) as server:
        target = FuzzTarget(server.base, data_dir, server.env, "", "", "", "", "", "")
        meeting_id, meeting_token = target.new_meeting()
        past_id, past_token = target.new_meeting()
        seeded = subprocess.run(
            [sys.executable, "-c", SEED_SCRIPT, database_url, past_id],
            env=server.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert seeded.returncode == 0, seeded.stderr
        extra = json.loads(seeded.stdout.strip().splitlines()[-1])
        yield FuzzTarget(
            server.base,
            data_dir,
            server.env,
            meeting_id,
            meeting_token,
            past_id,
            past_token,
            extra["campaign_slug"],
            extra["coordinator_token"],
        )
    # A 5xx leaves a traceback in the log: show it with the failure.
    assert "Traceback" not in server.log_text(), server.log_text()


SEED_SCRIPT = (
    "import asyncio, json, sys\n"
    "from tests.test_api_fuzz import seed_server\n"
    "print(json.dumps(asyncio.run(seed_server(sys.argv[1], sys.argv[2]))))\n"
)


def api_operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation, read from the app's route table."""
    api_routes = [r for r in ROUTES if getattr(r, "path", "").startswith("/api/")]
    paths = SCHEMAS.get_schema(routes=api_routes)["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


OPERATIONS = api_operations()
HOST_OPERATIONS = [(m, p) for m, p in OPERATIONS if p.startswith("/api/meetings/{id}")]
COORDINATOR_OPERATIONS = [(m, p) for m, p in OPERATIONS if p.startswith("/api/coordinators/")]


@pytest.fixture(scope="session")
def api_schema(fuzz_target: FuzzTarget) -> BaseSchema:
    """The schema as a client sees it: fetched from the running server."""
    return schemathesis.openapi.from_url(f"{fuzz_target.base}/openapi.json")


def fuzz(
    operation: APIOperation,
    base: str,
    prepare: Callable[[], dict[str, Any]] = dict,
) -> None:
    """Send EXAMPLES valid and invalid requests; every answer must pass CHECKS.

    ``prepare`` gives fixed parts of each request (a real id, a token), per case.
    """
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @FUZZ_SETTINGS
    @given(case=cases)
    def run(case: Case) -> None:
        fixed = prepare()
        case.path_parameters = {**(case.path_parameters or {}), **fixed.get("path", {})}
        case.headers = {**(case.headers or {}), **fixed.get("headers", {})}
        case.call_and_validate(base_url=base, checks=CHECKS, timeout=30)

    if "KIT_FUZZ_SEED" in os.environ:
        run = seed(int(os.environ["KIT_FUZZ_SEED"]))(run)
    run()


def ids(operations: list[tuple[str, str]]) -> list[str]:
    return [f"{method} {path}" for method, path in operations]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=ids(OPERATIONS))
def test_api_as_a_stranger(
    method: str, path: str, api_schema: BaseSchema, fuzz_target: FuzzTarget
) -> None:
    fuzz(api_schema[path][method], fuzz_target.base)


@pytest.mark.parametrize(("method", "path"), HOST_OPERATIONS, ids=ids(HOST_OPERATIONS))
def test_api_as_the_host(
    method: str, path: str, api_schema: BaseSchema, fuzz_target: FuzzTarget
) -> None:
    def host_of_meeting() -> dict[str, Any]:
        if path.endswith("/cancel"):
            meeting_id, token = fuzz_target.new_meeting()
        elif path.endswith("/report"):
            meeting_id, token = fuzz_target.past_meeting_id, fuzz_target.past_meeting_token
        else:
            meeting_id, token = fuzz_target.meeting_id, fuzz_target.meeting_token
        return {"path": {"id": meeting_id}, "headers": {"Authorization": f"Bearer {token}"}}

    fuzz(api_schema[path][method], fuzz_target.base, host_of_meeting)


@pytest.mark.parametrize(
    ("method", "path"), COORDINATOR_OPERATIONS, ids=ids(COORDINATOR_OPERATIONS)
)
def test_api_as_a_coordinator(
    method: str, path: str, api_schema: BaseSchema, fuzz_target: FuzzTarget
) -> None:
    asked = iter(range(10**9))

    def coordinator() -> dict[str, Any]:
        # Every other case asks for the real campaign, so its dashboard is built too.
        slug = {"slug": fuzz_target.campaign_slug} if next(asked) % 2 else {}
        auth = {"Authorization": f"Bearer {fuzz_target.coordinator_token}"}
        return {"path": slug, "headers": auth}

    fuzz(api_schema[path][method], fuzz_target.base, coordinator)
