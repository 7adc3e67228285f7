"""Errors mapped to responses in one place (kit/web/errors.py): what is logged, and how."""

from __future__ import annotations

import logging

import pytest
from starlette.applications import Starlette
from starlette.types import Message


async def post_then_disconnect(app: Starlette, path: str) -> list[Message]:
    """A form post whose client hangs up before sending its body, as uvicorn reports it:
    the first ``receive()`` is ``http.disconnect``. Returns what the app sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"512"),
        ],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_client_gone_before_its_body_is_one_info_line(
    app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sent = await post_then_disconnect(app, "/host")
    assert sent == [], "no error page is sent to a client that is gone"
    mine = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert [(r.name, r.levelno) for r in mine] == [("kit.web", logging.INFO)]
    assert mine[0].getMessage() == "POST /host: client disconnected before its request was read"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
