"""Who the client is, through a real `kit serve`: X-Forwarded-For is believed only from a
proxy the operator lists. Every connection here comes from 127.0.0.1.

By default nobody is listed, so a client that sends a new X-Forwarded-For with each RSVP
is still one client (127.0.0.1) and meets the RSVP limit. Listing 127.0.0.1 (the proxy,
here) makes the header the client's address.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from kit.core.settings import Settings
from kit.ops import checks
from tests.factories import meeting_body, publish_on_server
from tests.servers import KitServer, kit_serve, server_database, until

RSVP_LIMIT = 3


async def publish(server: KitServer) -> str:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        created = await publish_on_server(http, server.database_url, meeting_body())
    return str(created["id"])


async def rsvp_as(server: KitServer, meeting_id: str, forwarded_for: str) -> httpx.Response:
    body = {"name": "Neighbor", "email": f"n-{uuid.uuid4().hex[:8]}@example.org"}
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        return await http.post(
            f"/api/meetings/{meeting_id}/rsvps",
            json=body,
            headers={"X-Forwarded-For": forwarded_for},
        )


def logged_clients(server: KitServer, meeting_id: str) -> list[str]:
    pattern = re.compile(rf'\] (\S+) - "POST /api/meetings/{meeting_id}/rsvps ')
    return [m.group(1) for m in pattern.finditer(server.log_text())]


@pytest.mark.server
async def test_by_default_a_forged_forwarded_for_does_not_escape_the_rsvp_limit(
    tmp_path: Path,
) -> None:
    url = await server_database(tmp_path, "fwd_default")
    async with kit_serve(
        tmp_path, url, access_log=True, KIT_RATE_LIMIT_RSVP=f"{RSVP_LIMIT}/minute"
    ) as server:
        assert "Trusting no proxy" in server.log_text()
        meeting_id = await publish(server)
        statuses = [
            (await rsvp_as(server, meeting_id, f"198.51.100.{n}")).status_code
            for n in range(RSVP_LIMIT + 2)
        ]
        assert statuses == [202] * RSVP_LIMIT + [429, 429]
        await until(lambda: len(logged_clients(server, meeting_id)) == RSVP_LIMIT + 2)
        assert {c.split(":")[0] for c in logged_clients(server, meeting_id)} == {"127.0.0.1"}


@pytest.mark.server
async def test_a_listed_proxy_is_believed(tmp_path: Path) -> None:
    url = await server_database(tmp_path, "fwd_listed")
    async with kit_serve(
        tmp_path,
        url,
        args=("--forwarded-allow-ips", "127.0.0.1"),
        access_log=True,
        KIT_RATE_LIMIT_RSVP=f"{RSVP_LIMIT}/minute",
    ) as server:
        assert "Trusting X-Forwarded-For and X-Forwarded-Proto from: 127.0.0.1" in (
            server.log_text()
        )
        meeting_id = await publish(server)
        # Each forwarded address is a client of its own...
        for n in range(RSVP_LIMIT + 2):
            assert (await rsvp_as(server, meeting_id, f"198.51.100.{n}")).status_code == 202
        # ...and one of them is limited as itself.
        repeated = [
            (await rsvp_as(server, meeting_id, "1.2.3.4")).status_code
            for _ in range(RSVP_LIMIT + 1)
        ]
        assert repeated == [202] * RSVP_LIMIT + [429]
        await until(lambda: len(logged_clients(server, meeting_id)) == 2 * RSVP_LIMIT + 3)
        seen = {c.split(":")[0] for c in logged_clients(server, meeting_id)}
        assert seen == {"1.2.3.4", *(f"198.51.100.{n}" for n in range(RSVP_LIMIT + 2))}


def site(**env: str) -> Settings:
    return Settings.from_env({"KIT_SECRET_KEY": "x", "KIT_DATA_DIR": "/tmp/kit-check", **env})


@pytest.mark.parametrize(
    ("env", "status", "says"),
    [
        ({}, "ok", "none believed"),
        ({"KIT_FORWARDED_ALLOW_IPS": "127.0.0.1"}, "ok", "only from 127.0.0.1"),
        ({"KIT_FORWARDED_ALLOW_IPS": "*"}, "warn", "escape the rate limits"),
        ({"KIT_FORWARDED_ALLOW_IPS": "10.0.0.1, 0.0.0.0/0"}, "warn", "from anyone"),
        ({"KIT_FORWARDED_ALLOW_IPS": "::/0"}, "warn", "from anyone"),
        ({"KIT_BASE_URL": "https://meetings.example.org"}, "warn", "share its rate limits"),
    ],
)
def test_kit_check_warns_about_whom_forwarded_headers_are_believed_from(
    env: dict[str, str], status: str, says: str
) -> None:
    result = checks.check_forwarded(site(**env))
    assert (result.status, says in result.message) == (status, True), result
