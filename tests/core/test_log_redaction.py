"""No secret link in the logs: a real `kit serve` writes its access log, and every token a
secret link carries (in its path or its query) comes out as ``[redacted]``."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import httpx
import pytest

from kit.core.log_redaction import REDACTED, RedactSecrets, redact_target
from tests.servers import kit_serve, server_database, until


def secret() -> str:
    return f"SECRET{secrets.token_hex(8)}"


@pytest.mark.server
async def test_the_access_log_of_kit_serve_holds_no_token(tmp_path: Path) -> None:
    url = await server_database(tmp_path, "redact")
    tokens = [secret() for _ in range(12)]
    requests = [
        ("GET", f"/manage/abcdefghijkl?token={tokens[0]}&created=1"),
        ("GET", f"/manage/abcdefghijkl/guests.csv?token={tokens[1]}"),
        ("GET", f"/meetings/abcdefghijkl/packet.pdf?token={tokens[2]}"),
        ("GET", f"/rsvp/{tokens[3]}?new=1"),
        ("POST", f"/rsvp/{tokens[4]}/cancel"),
        ("GET", f"/feeds/{tokens[5]}.ics"),
        ("GET", f"/unsubscribe/{tokens[6]}"),
        ("GET", f"/coordinators/signin/{tokens[7]}?next=/coordinators"),
        ("GET", f"/ideas/confirm/{tokens[8]}"),
        ("GET", f"/hosts/confirm/{tokens[9]}"),
        # Spelled differently, read the same by the router and the query parser.
        ("GET", f"/%72svp/{tokens[10]}"),
        ("GET", f"/manage/abcdefghijkl?%74oken={tokens[11]}"),
    ]
    async with kit_serve(tmp_path, url, access_log=True) as server:
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
            for method, path in requests:
                response = await http.request(method, path)
                assert response.status_code < 500, (path, response.status_code)
            assert (await http.get("/find?near=10027")).status_code == 200

        def logged() -> int:
            return server.log_text().count('HTTP/1.1"')

        await until(lambda: logged() >= len(requests) + 2)  # and the readiness probe
        log = server.log_text()
    leaked = [t for t in tokens if t in log]
    assert leaked == [], log
    assert log.count(REDACTED) == len(requests), log
    assert '"GET /rsvp/[redacted]?new=1 HTTP/1.1" 404' in log
    assert '"GET /feeds/[redacted].ics HTTP/1.1" 404' in log
    assert '"GET /manage/abcdefghijkl?token=[redacted]&created=1 HTTP/1.1"' in log
    assert '"GET /coordinators/signin/[redacted]?next=/coordinators HTTP/1.1"' in log
    # Lines without a secret are written as they came.
    assert '"GET /find?near=10027 HTTP/1.1" 200' in log


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        ("/rsvp/abc/feed", "/rsvp/[redacted]/feed"),
        ("/feeds/abc.ics", "/feeds/[redacted].ics"),
        ("/manage/m1?created=1&token=abc", "/manage/m1?created=1&token=[redacted]"),
        ("/manage/m1?TOKEN=abc", "/manage/m1?TOKEN=[redacted]"),
        ("/coordinators/signin?next=%2Frsvp%2Fabc", "/coordinators/signin?next=[redacted]"),
        ("/rsvp/a%0Ab%22c", "/rsvp/[redacted]"),
        ("/rsvp%2Fabc", "/rsvp/[redacted]"),
        ("/coordinators/signin?next=/coordinators/account", None),
        ("/meetings/m1?ref=flyer", None),
        ("/static/css/kit.css", None),
    ],
)
def test_secrets_in_request_targets(target: str, logged: str | None) -> None:
    assert redact_target(target) == (logged or target)


def test_other_log_lines_that_quote_a_path_are_redacted_too() -> None:
    # As kit/web/errors.py logs a request met by a database outage.
    record = logging.LogRecord(
        "kit.web", logging.WARNING, __file__, 1, "%s %s: database %s (%s: %s)",
        ("POST", "/rsvp/SEKRIT/cancel", "read-only", "OperationalError", "readonly"), None,
    )  # fmt: skip
    assert RedactSecrets().filter(record)
    assert record.getMessage() == (
        "POST /rsvp/[redacted]/cancel: database read-only (OperationalError: readonly)"
    )
