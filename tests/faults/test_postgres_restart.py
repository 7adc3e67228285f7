"""PostgreSQL goes away under load and comes back: the kit answers 503, then recovers.

A private cluster (never the machine's shared server) is stopped for a few seconds
while neighbors RSVP and load pages through a real ``kit serve``. While it is down
every request gets a clear 503 with Retry-After, quickly; once it is back the same
process serves again by itself; and every RSVP that was acknowledged is stored, once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.factories import meeting_body, publish_on_server
from tests.faults.postgres import PrivateCluster
from tests.servers import KitServer, free_port, kit_env, kit_serve, run_kit
from tests.smtp import SmtpServer

pytestmark = pytest.mark.server

DOWN_FOR = 4.0  # seconds PostgreSQL stays stopped
REQUEST_BOUND = 10.0  # no request may take longer than this, up or down
RECOVERY_BOUND = 5.0  # seconds after PostgreSQL is back by which everything works again
SETTLE = 2.0  # seconds of load after the recovery bound


@dataclass(frozen=True)
class Outcome:
    kind: str  # "rsvp", "page" (HTML), "api" (JSON) or "healthz"
    started: float
    ended: float
    status: int | None  # None: no answer within REQUEST_BOUND, or the connection failed
    content_type: str = ""
    retry_after: str | None = None
    body: str = ""
    email: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400


@dataclass
class Timeline:
    down: float = 0.0  # pg_ctl stop returned: PostgreSQL is down
    restarting: float = 0.0  # pg_ctl start called
    up: float = 0.0  # pg_ctl start returned: PostgreSQL accepts connections


@dataclass
class Run:
    server: KitServer
    meeting_id: str
    outcomes: list[Outcome]
    timeline: Timeline
    retried: dict[str, int]  # email -> status of the RSVP sent again after recovery
    stored: list[tuple[str, str]]  # (email, status) of the meeting's RSVPs in the database
    pid_before: int
    pid_after: int
    smtp: SmtpServer


async def request(
    http: httpx.AsyncClient, kind: str, method: str, url: str, **kwargs: object
) -> Outcome:
    started = time.monotonic()
    try:
        response = await http.request(method, url, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        return Outcome(kind, started, time.monotonic(), None, body=repr(exc))
    return Outcome(
        kind,
        started,
        time.monotonic(),
        response.status_code,
        response.headers.get("content-type", ""),
        response.headers.get("retry-after"),
        response.text[:2000],
        email=kwargs.get("json", {}).get("email") if kind == "rsvp" else None,  # type: ignore[union-attr]
    )


async def rsvp_loop(
    server: KitServer, meeting_id: str, stop: asyncio.Event, out: list[Outcome]
) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=REQUEST_BOUND) as http:
        while not stop.is_set():
            body = {"name": "Neighbor", "email": f"n.{uuid.uuid4().hex[:12]}@example.org"}
            out.append(
                await request(http, "rsvp", "POST", f"/api/meetings/{meeting_id}/rsvps", json=body)
            )
            await asyncio.sleep(0.05)


async def page_loop(
    server: KitServer, meeting_id: str, stop: asyncio.Event, out: list[Outcome]
) -> None:
    targets = [
        ("page", f"/meetings/{meeting_id}"),
        ("api", f"/api/meetings/{meeting_id}"),
        ("page", "/"),
    ]
    async with httpx.AsyncClient(base_url=server.base, timeout=REQUEST_BOUND) as http:
        while not stop.is_set():
            for kind, url in targets:
                out.append(await request(http, kind, "GET", url))
            await asyncio.sleep(0.05)


async def health_loop(server: KitServer, stop: asyncio.Event, out: list[Outcome]) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=REQUEST_BOUND) as http:
        while not stop.is_set():
            out.append(await request(http, "healthz", "GET", "/healthz"))
            await asyncio.sleep(0.2)


async def create_meeting(server: KitServer) -> str:
    async with httpx.AsyncClient(base_url=server.base, timeout=REQUEST_BOUND) as http:
        created = await publish_on_server(http, server.database_url, meeting_body(capacity=50))
    return str(created["id"])


async def read_rsvps(url: str, meeting_id: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT p.email, r.status FROM rsvp r JOIN person p ON p.id = r.person_id"
            " JOIN meeting m ON m.id = r.meeting_id WHERE m.public_id = $1",
            meeting_id,
        )
    finally:
        await conn.close()
    return [(row["email"], row["status"]) for row in rows]


async def restart_under_load(
    server: KitServer, cluster: PrivateCluster, meeting_id: str
) -> tuple[list[Outcome], Timeline]:
    outcomes: list[Outcome] = []
    timeline = Timeline()
    stop = asyncio.Event()
    load = [
        *(asyncio.create_task(rsvp_loop(server, meeting_id, stop, outcomes)) for _ in range(3)),
        asyncio.create_task(page_loop(server, meeting_id, stop, outcomes)),
        asyncio.create_task(health_loop(server, stop, outcomes)),
    ]
    try:
        await asyncio.sleep(2)
        await asyncio.to_thread(cluster.stop)
        timeline.down = time.monotonic()
        await asyncio.sleep(DOWN_FOR)
        timeline.restarting = time.monotonic()
        await asyncio.to_thread(cluster.start)
        timeline.up = time.monotonic()
        await asyncio.sleep(RECOVERY_BOUND + SETTLE)
    finally:
        stop.set()
        await asyncio.gather(*load)
    return outcomes, timeline


@pytest.fixture(scope="module")
async def run(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Run]:
    cluster = PrivateCluster()
    smtp = SmtpServer(free_port()).start()
    try:
        await asyncio.to_thread(cluster.init)
        await asyncio.to_thread(cluster.start)
        admin = await asyncpg.connect(cluster.url())
        await admin.execute("CREATE DATABASE kit")
        await admin.close()
        url = cluster.url("kit")
        data_dir = tmp_path_factory.mktemp("pg-restart")
        migrate = await asyncio.to_thread(run_kit, kit_env(data_dir, url), "migrate")
        assert migrate.returncode == 0, migrate.stderr
        async with kit_serve(data_dir, url, KIT_SMTP_URL=smtp.url) as server:
            meeting_id = await create_meeting(server)
            pid_before = server.proc.pid
            outcomes, timeline = await restart_under_load(server, cluster, meeting_id)
            server.assert_running()
            retried: dict[str, int] = {}
            async with httpx.AsyncClient(base_url=server.base, timeout=REQUEST_BOUND) as http:
                for o in outcomes:
                    if o.kind == "rsvp" and not o.ok and o.email:
                        body = {"name": "Neighbor", "email": o.email}
                        again = await http.post(f"/api/meetings/{meeting_id}/rsvps", json=body)
                        retried[o.email] = again.status_code
            stored = await read_rsvps(url, meeting_id)
            yield Run(
                server,
                meeting_id,
                outcomes,
                timeline,
                retried,
                stored,
                pid_before,
                server.proc.pid,
                smtp,
            )
    finally:
        smtp.stop()
        await asyncio.to_thread(cluster.destroy)


def while_down(run: Run) -> list[Outcome]:
    """Requests sent and answered entirely while PostgreSQL was stopped."""
    return [
        o
        for o in run.outcomes
        if o.started >= run.timeline.down and o.ended <= run.timeline.restarting
    ]


def summary(outcomes: list[Outcome]) -> str:
    from collections import Counter

    return str(Counter((o.kind, o.status) for o in outcomes))


def test_while_postgres_is_down_pages_answer_503_with_a_message_and_retry_after(run: Run) -> None:
    pages = [o for o in while_down(run) if o.kind == "page"]
    assert len(pages) >= 5, summary(run.outcomes)
    for o in pages:
        assert o.status == 503, (o, run.server.log_text()[-3000:])
        assert o.content_type.startswith("text/html")
        assert "database" in o.body and "try again" in o.body.lower(), o.body
        assert o.retry_after is not None and int(o.retry_after) > 0


def test_while_postgres_is_down_the_api_answers_json_503(run: Run) -> None:
    api = [o for o in while_down(run) if o.kind in ("api", "rsvp")]
    assert {o.kind for o in api} == {"api", "rsvp"}, summary(run.outcomes)
    for o in api:
        assert o.status == 503, (o, run.server.log_text()[-3000:])
        assert o.content_type == "application/json"
        assert "database" in o.body and '"error"' in o.body, o.body
        assert o.retry_after is not None and int(o.retry_after) > 0


def test_healthz_reports_the_database_down_then_up(run: Run) -> None:
    health = [o for o in run.outcomes if o.kind == "healthz"]
    down = [o for o in while_down(run) if o.kind == "healthz"]
    assert down and all(o.status == 503 for o in down), summary(down)
    assert all('"ok":false' in o.body.replace(" ", "") for o in down)
    assert health[-1].status == 200, health[-1]


def test_no_request_fails_with_500_or_hangs(run: Run) -> None:
    statuses = {o.status for o in run.outcomes}
    assert statuses <= {200, 202, 503}, summary(run.outcomes)
    slowest = max(o.ended - o.started for o in run.outcomes)
    # A request may wait out the restart itself, never much more.
    assert slowest < REQUEST_BOUND / 2, slowest


def test_the_same_process_recovers_by_itself_within_seconds(run: Run) -> None:
    assert run.pid_after == run.pid_before
    run.server.assert_running()
    after = [o for o in run.outcomes if o.started >= run.timeline.up + RECOVERY_BOUND]
    assert {o.kind for o in after} == {"rsvp", "page", "api", "healthz"}, summary(after)
    assert all(o.ok for o in after), summary(after)
    first_rsvp = min(
        o.ended for o in run.outcomes if o.kind == "rsvp" and o.ok and o.started >= run.timeline.up
    )
    print(f"first RSVP stored {first_rsvp - run.timeline.up:.2f} s after PostgreSQL was back")


def test_every_acknowledged_rsvp_is_stored_once(run: Run) -> None:
    acknowledged = {o.email for o in run.outcomes if o.kind == "rsvp" and o.status == 202}
    emails = [email for email, _ in run.stored]
    assert len(emails) == len(set(emails)), "an RSVP was stored twice"
    assert acknowledged <= set(emails), f"lost: {acknowledged - set(emails)}"
    # Refused ones were sent again after the restart: each is stored once too.
    assert run.retried and set(run.retried.values()) == {202}
    assert set(emails) == acknowledged | set(run.retried)


async def test_mail_delivery_in_the_server_recovers_too(run: Run) -> None:
    """The in-process delivery loop is a long-lived task: it must not stay broken."""
    late = {
        o.email
        for o in run.outcomes
        if o.kind == "rsvp" and o.status == 202 and o.started >= run.timeline.up + RECOVERY_BOUND
    }
    assert late
    deadline = time.monotonic() + 30
    while not late <= {to for r in run.smtp.received for to in r.rcpt_tos}:
        assert time.monotonic() < deadline, "mail queued after the restart was not delivered"
        await asyncio.sleep(0.2)
    ids = run.smtp.message_ids()
    assert max(ids.values()) == 1, "an email arrived twice"
