"""The deployment of docs/deployment.md, for real: `kit serve --workers 2` and two `kit worker`
processes on one database, behind a reverse proxy that ends "TLS" and forwards the client.

The proxy is a few lines of asyncio written here, set up as the nginx snippet in the docs
is: it passes the public Host, adds ``X-Forwarded-For`` (the client it saw),
``X-Forwarded-Proto: https`` and ``X-Forwarded-Host``, and opens one upstream connection
per request, so the kernel hands each to whichever web worker accepts first. Test
clients pretend to be different people with an ``X-Client-Address`` header that the
proxy turns into ``X-Forwarded-For`` (every real connection comes from 127.0.0.1).

Which worker answered is read from the server's access log: `kit serve` writes each
line with the worker's pid. Mail goes to a real aiosmtpd server.

The database is PostgreSQL (``<suite database>_deploy``, never the suite's own) when
``KIT_TEST_DATABASE_URL`` is set, else a SQLite file; both run two web workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar

from tests.factories import meeting_body, publish_on_server
from tests.servers import KitServer, free_port, kit_serve, server_database, spawn, stop, until
from tests.smtp import SmtpServer

pytestmark = pytest.mark.server

PUBLIC_HOST = "meetings.example.org"
PUBLIC = f"https://{PUBLIC_HOST}"
WEB_WORKERS = 2
RSVP_LIMIT = 5
TIMEOUT = 60.0
WORKER = ["-m", "kit.ops.cli", "worker"]


# --- The reverse proxy -------------------------------------------------------------------

HOP_BY_HOP = {
    "host",
    "connection",
    "keep-alive",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-client-address",
}


class ReverseProxy:
    """What nginx does in docs/deployment.md, one request per connection."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
            headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines]
            sent = {name.lower(): value for name, value in headers}
            client = sent.get("x-client-address", writer.get_extra_info("peername")[0])
            body = await reader.readexactly(int(sent.get("content-length", "0")))
            upstream = [request_line, f"Host: {PUBLIC_HOST}"]
            upstream += [f"{n}: {v}" for n, v in headers if n.lower() not in HOP_BY_HOP]
            upstream += [
                f"X-Forwarded-For: {client}",
                "X-Forwarded-Proto: https",
                f"X-Forwarded-Host: {PUBLIC_HOST}",
                "Connection: close",
            ]
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            up_writer.write(("\r\n".join(upstream) + "\r\n\r\n").encode("latin-1") + body)
            await up_writer.drain()
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
            up_writer.close()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


# --- The processes -----------------------------------------------------------------------


@dataclass
class Deployment:
    proxy: ReverseProxy
    web: KitServer
    smtp: SmtpServer
    worker_logs: list[Path]

    def client(self, address: str = "198.51.100.1") -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.proxy.port}",
            headers={"X-Client-Address": address},
            timeout=TIMEOUT,
        )


# No KIT_SECRET_KEY: the processes share the key the first one generates in the data
# folder (on several machines, set KIT_SECRET_KEY on all of them instead). The proxy is
# listed by address, as the docs say (nobody's X-Forwarded-For is believed otherwise).
# The publishing limit is the default one, the RSVP limit low enough to reach.
DEPLOYMENT_ENV = {
    "KIT_BASE_URL": PUBLIC,
    "KIT_FORWARDED_ALLOW_IPS": "127.0.0.1",
    "KIT_SECRET_KEY": None,
    "KIT_MAIL_FROM": "meetings@example.org",
    "KIT_RATE_LIMIT_RSVP": f"{RSVP_LIMIT}/minute",
    "KIT_RATE_LIMIT_HOST": None,
}


@pytest.fixture(scope="module")
async def deployment(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Deployment]:
    data_dir = tmp_path_factory.mktemp("deploy")
    url = await server_database(data_dir, "deploy")
    smtp = SmtpServer(free_port()).start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        async with kit_serve(
            data_dir,
            url,
            workers=WEB_WORKERS,
            access_log=True,
            KIT_SMTP_URL=smtp.url,
            **DEPLOYMENT_ENV,
        ) as web:
            proxy = ReverseProxy(web.port)
            try:
                worker_logs = [data_dir / f"worker-{n}.log" for n in (1, 2)]
                workers += [spawn(WORKER, web.env, log) for log in worker_logs]
                await proxy.start()
                deployment = Deployment(proxy, web, smtp, worker_logs)
                await until(lambda: all("delivering to" in p.read_text() for p in worker_logs))
                yield deployment
            finally:
                await proxy.stop()
                for worker in workers:
                    await asyncio.to_thread(stop, worker)
    finally:
        smtp.stop()


ACCESS = re.compile(r'\[(\d+)\] (\S+) - "(\w+) (\S+) HTTP/[\d.]+" (\d+)')


@dataclass(frozen=True)
class Hit:
    pid: int
    client: str
    method: str
    path: str
    status: int


def hits(log: Path, marker: str) -> list[Hit]:
    """Access-log lines for requests whose path contains ``marker``."""
    found = []
    for line in log.read_text().splitlines():
        match = ACCESS.search(line)
        if match and marker in match.group(4):
            pid, client, method, path, status = match.groups()
            found.append(Hit(int(pid), client, method, path, int(status)))
    return found


async def logged_hits(deployment: Deployment, marker: str, count: int) -> list[Hit]:
    await until(lambda: len(hits(deployment.web.log, marker)) >= count)
    return hits(deployment.web.log, marker)


@contextlib.asynccontextmanager
async def pinned_clients(
    deployment: Deployment, address: str
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One keep-alive client per web worker, to choose which worker gets a request.

    Each client holds a single connection, and a connection stays with the worker that
    accepted it; a probe through each tells which worker that is. They send what the
    proxy would add (the public Host, X-Forwarded-*), from 127.0.0.1 like the proxy.
    """
    headers = {
        "Host": PUBLIC_HOST,
        "X-Forwarded-For": address,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": PUBLIC_HOST,
    }
    by_pid: dict[int, httpx.AsyncClient] = {}
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(40):  # bounded: the kernel decides which worker accepts
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{deployment.web.port}",
                    headers=headers,
                    timeout=TIMEOUT,
                    limits=httpx.Limits(max_connections=1, keepalive_expiry=60),
                )
            )
            marker = f"pin-{uuid.uuid4().hex[:8]}"
            assert (await client.get(f"/healthz?{marker}")).status_code == 200
            [hit] = await logged_hits(deployment, marker, 1)
            by_pid.setdefault(hit.pid, client)
            if len(by_pid) == WEB_WORKERS:
                break
        assert len(by_pid) == WEB_WORKERS, "could not reach every web worker"
        yield [by_pid[pid] for pid in sorted(by_pid)]


async def publish_meeting(deployment: Deployment, capacity: int = 60) -> str:
    body = meeting_body(title=f"Deployment check {uuid.uuid4().hex[:6]}", capacity=capacity)
    async with deployment.client() as http:
        created = await publish_on_server(http, deployment.web.database_url, body)
    return str(created["id"])


def session_cookie(response: httpx.Response) -> str:
    """The session cookie as a browser on https:// would send it back (it is Secure)."""
    for value in response.headers.get_list("set-cookie"):
        if value.startswith("kit_session="):
            assert "secure" in value.lower(), "the session cookie must be Secure behind https"
            return value.split(";", 1)[0]
    raise AssertionError("no session cookie")


async def rsvp_by_form(
    deployment: Deployment, meeting_id: str, visitor: str, address: str
) -> tuple[httpx.Response, httpx.Response]:
    """Open the meeting page, then post its RSVP form, as one browser."""
    page = f"/meetings/{meeting_id}"
    async with deployment.client(address) as http:
        opened = await http.get(f"{page}?visitor={visitor}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', opened.text)
        assert token, opened.text[:500]
        form = {
            "csrf_token": token.group(1),
            "name": f"Visitor {visitor}",
            "email": f"{visitor}@example.org",
            "guests": "0",
        }
        posted = await http.post(
            f"{page}/rsvp?visitor={visitor}",
            data=form,
            headers={"Cookie": session_cookie(opened)},
        )
    return opened, posted


# --- What the deployment must do ---------------------------------------------------------


async def test_generated_urls_use_the_public_https_address(deployment: Deployment) -> None:
    meeting_id = await publish_meeting(deployment)
    opened, posted = await rsvp_by_form(deployment, meeting_id, "ada", "198.51.100.10")

    # The kit's own files are linked root-relative, whatever Host the request named...
    assert 'href="/static/css/kit.css"' in opened.text
    # ...and absolute links are built from KIT_BASE_URL: the public address.
    assert f'<meta property="og:url" content="{PUBLIC}/meetings/{meeting_id}">' in opened.text
    assert "127.0.0.1" not in opened.text
    # The redirect after the form post stays on the public site.
    assert posted.status_code == 303, posted.text[:500]
    location = posted.headers["location"]
    thanks = f"/meetings/{meeting_id}/thanks"
    assert location in (thanks, f"{PUBLIC}{thanks}"), location

    async with deployment.client() as http:
        ics = await http.get(f"/meetings/{meeting_id}.ics")
    [event] = Calendar.from_ical(ics.content).events
    assert str(event["URL"]) == f"{PUBLIC}/meetings/{meeting_id}"
    assert str(event["UID"]).endswith(f"@{PUBLIC_HOST}")

    await deployment.smtp.wait_for(1, timeout=30)
    await until(
        lambda: any(m["To"] == "ada@example.org" for m in deployment.smtp.messages), timeout=30
    )
    [mail] = [m for m in deployment.smtp.messages if m["To"] == "ada@example.org"]
    text = mail.get_body(("plain",)).get_content()
    urls = re.findall(r"https?://[^\s>\"']+", text)
    assert any(u.startswith(f"{PUBLIC}/rsvp/") for u in urls), urls
    assert not [u for u in urls if "127.0.0.1" in u or u.startswith("http://")], urls


BURSTS = 10


async def test_requests_spread_over_both_web_workers(deployment: Deployment) -> None:
    marker = f"spread-{uuid.uuid4().hex[:8]}"
    # The kernel hands each new connection to whichever worker accepts first, so one
    # burst may land on one worker by chance: send bursts on fresh connections until
    # both have answered (bounded), as a stream of real visitors would.
    sent = 0
    for _ in range(BURSTS):
        async with deployment.client("203.0.113.20") as http:
            burst = [http.get(f"/healthz?{marker}={sent + n}") for n in range(40)]
            answers = await asyncio.gather(*burst)
        sent += len(answers)
        assert {a.status_code for a in answers} == {200}
        seen = await logged_hits(deployment, marker, sent)
        if {hit.pid for hit in seen} == deployment.web.worker_pids():
            break
    workers = deployment.web.worker_pids()
    assert {hit.pid for hit in seen} == workers, deployment.web.log_text()[-3000:]
    assert len(workers) == WEB_WORKERS
    # The access log names the client the proxy saw, not the proxy itself.
    assert {hit.client for hit in seen} == {"203.0.113.20:0"}


async def test_rsvp_rate_limit_holds_across_workers(deployment: Deployment) -> None:
    meeting_id = await publish_meeting(deployment)
    marker = f"limit-{uuid.uuid4().hex[:8]}"

    async def rsvp(client: httpx.AsyncClient, n: int) -> httpx.Response:
        body = {"name": f"Guest {n}", "email": f"{marker}-{n}@example.org", "guests": 0}
        return await client.post(f"/api/meetings/{meeting_id}/rsvps?{marker}={n}", json=body)

    async with pinned_clients(deployment, "203.0.113.30") as workers:
        # Taking turns: worker 1, worker 2, worker 1, ... The limit is counted in the
        # database, so the (N+1)th is refused whichever worker gets it.
        answers = [await rsvp(workers[n % WEB_WORKERS], n) for n in range(RSVP_LIMIT + 1)]
    assert [a.status_code for a in answers] == [202] * RSVP_LIMIT + [429], [a.text for a in answers]
    refused = answers[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert "error" in refused.json()
    seen = await logged_hits(deployment, marker, RSVP_LIMIT + 1)
    assert len({hit.pid for hit in seen}) == WEB_WORKERS
    assert {hit.client for hit in seen} == {"203.0.113.30:0"}

    # Another client is counted on its own: the limit follows X-Forwarded-For.
    async with deployment.client("203.0.113.31") as other:
        assert (await rsvp(other, 999)).status_code == 202
    # Many at once from one client: still exactly the limit.
    async with deployment.client("203.0.113.32") as burst:
        statuses = Counter(
            a.status_code
            for a in await asyncio.gather(*(rsvp(burst, 1000 + n) for n in range(3 * RSVP_LIMIT)))
        )
    assert statuses == {202: RSVP_LIMIT, 429: 2 * RSVP_LIMIT}, statuses


async def test_sessions_and_csrf_tokens_work_on_every_worker(deployment: Deployment) -> None:
    meeting_id = await publish_meeting(deployment)
    page = f"/meetings/{meeting_id}"
    async with pinned_clients(deployment, "198.51.100.50") as workers:
        for n, (first, second) in enumerate([(0, 1), (1, 0)]):
            visitor = f"cross{n}-{uuid.uuid4().hex[:6]}"
            opened = await workers[first].get(f"{page}?visitor={visitor}")
            token = re.search(r'name="csrf_token" value="([^"]+)"', opened.text)
            assert token
            form = {
                "csrf_token": token.group(1),
                "name": f"Visitor {n}",
                "email": f"{visitor}@example.org",
                "guests": "0",
            }
            posted = await workers[second].post(
                f"{page}/rsvp?visitor={visitor}",
                data=form,
                headers={"Cookie": session_cookie(opened)},
            )
            assert posted.status_code == 303, posted.text[:300]
            get, post = sorted(await logged_hits(deployment, visitor, 2), key=lambda h: h.method)
            assert get.pid != post.pid, "the form went to the other worker"
            # Without the session cookie the same token is refused: it is checked.
            again = await workers[second].post(f"{page}/rsvp", data=form)
            assert again.status_code == 403


async def queue_backlog(deployment: Deployment, count: int) -> None:
    """Queue ``count`` emails straight into the outbox, as a long SMTP outage leaves it."""
    script = (
        "import asyncio, sys\n"
        "from datetime import UTC, datetime\n"
        "from tortoise import Tortoise\n"
        "from kit.store.db import tortoise_config\n"
        "from kit.store.models import OutboxMessage\n"
        "async def main():\n"
        "    await Tortoise.init(config=tortoise_config(sys.argv[1]))\n"
        "    now = datetime.now(UTC)\n"
        "    await OutboxMessage.bulk_create([OutboxMessage(kind='backlog',"
        " recipient=f'b{n}@example.org', next_attempt_at=now,"
        " payload={'subject': f'Backlog {n}', 'body_text': 'Queued during an outage.'})"
        " for n in range(int(sys.argv[2]))])\n"
        "    await Tortoise.close_connections()\n"
        "asyncio.run(main())\n"
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", script, deployment.web.database_url, str(count)],
        env=deployment.web.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


async def outbox_status(deployment: Deployment) -> Counter[str]:
    script = (
        "import asyncio, sys\n"
        "from tortoise import Tortoise\n"
        "from kit.store.db import tortoise_config\n"
        "from kit.store.models import OutboxMessage\n"
        "async def main():\n"
        "    await Tortoise.init(config=tortoise_config(sys.argv[1]))\n"
        "    for row in await OutboxMessage.all().values_list('status', flat=True):\n"
        "        print(row)\n"
        "    await Tortoise.close_connections()\n"
        "asyncio.run(main())\n"
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", script, deployment.web.database_url],
        env=deployment.web.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return Counter(done.stdout.split())


SENT = re.compile(r"worker (\S+): sent (\d+),")


def sent_by_worker(log: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    for worker, sent in SENT.findall(log.read_text()):
        counts[worker] += int(sent)
    return counts


@contextlib.contextmanager
def slow_smtp(smtp: SmtpServer, delay: float) -> Iterator[None]:
    smtp.mailbox.delay = delay
    try:
        yield
    finally:
        smtp.mailbox.delay = 0.0


async def test_each_email_is_delivered_exactly_once(deployment: Deployment) -> None:
    """Four processes deliver (two web workers, two kit workers); none sends a row twice."""

    async def settled() -> Counter[str]:
        deadline = time.monotonic() + 90
        while (status := await outbox_status(deployment))["pending"]:
            assert time.monotonic() < deadline, status
            await asyncio.sleep(0.5)
        return status

    await settled()
    before = len(deployment.smtp.received)
    # 50 a batch at 50 ms a message: each batch takes longer than the 2 s between
    # polls, so every delivering process finds work of its own.
    with slow_smtp(deployment.smtp, 0.05):
        await queue_backlog(deployment, 200)
        status = await settled()

    assert status == Counter({"sent": status["sent"]}), status
    assert len(deployment.smtp.received) == status["sent"]
    assert len(deployment.smtp.received) - before == 200
    ids = deployment.smtp.message_ids()
    assert [mid for mid, n in ids.items() if n > 1] == []
    backlog = [m for m in deployment.smtp.messages if str(m["Subject"]).startswith("Backlog ")]
    assert len({str(m["Subject"]) for m in backlog}) == 200

    web = sent_by_worker(deployment.web.log)
    workers = [sent_by_worker(log) for log in deployment.worker_logs]
    assert all(sum(w.values()) > 0 for w in workers), (web, workers)
    assert sum(web.values()) + sum(sum(w.values()) for w in workers) == status["sent"]
