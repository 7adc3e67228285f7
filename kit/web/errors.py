"""Domain errors and HTTP errors mapped to responses, in this one place.

Under ``/api/`` every error is JSON: ``{"error": "...", "fields": {...}}``.
Elsewhere a friendly HTML page with the same message.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import asyncpg
from asyncpg.exceptions import InternalClientError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ExceptionHandler
from tortoise.exceptions import BaseORMException

from kit.core.errors import KitError, database_unavailable
from kit.web.templating import render

log = logging.getLogger("kit.web")

HTTP_MESSAGES = {
    400: "The request could not be understood.",
    404: "We couldn't find that page. The link may be mistyped, or the meeting may have moved.",
    405: "That action isn't available here.",
    413: "That was more than we can accept in one go.",
    415: "Send JSON with Content-Type: application/json.",
    500: "Something went wrong on our side. Please try again in a moment.",
    503: "The service is briefly unavailable. Please try again in a moment.",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(".json")


def error_response(
    request: Request,
    status: int,
    message: str,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message, "fields": fields or {}}, status, headers=headers)
    context: dict[str, Any] = {"status": status, "message": message, "fields": fields or {}}
    return render(request, "error.html", context, status_code=status, headers=headers)


async def kit_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KitError)
    retry_after = getattr(exc, "retry_after", None)  # RateLimited, DatabaseUnavailable
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return error_response(request, exc.status_code, exc.message, exc.fields, headers)


async def database_error(request: Request, exc: Exception) -> Response:
    """503 with Retry-After while the database is down, read-only or busy.

    Any other driver or ORM error is a bug: re-raised, it reaches ``server_error``
    (a 500, logged with its traceback) exactly as before.
    """
    unavailable = database_unavailable(exc)
    if unavailable is None:
        raise exc
    # One line per request, not a traceback: an outage is an operator's problem,
    # already visible on /healthz.
    log.warning(
        "%s %s: database %s (%s: %s)",
        request.method,
        request.url.path,
        unavailable.problem.replace("_", "-"),
        type(exc).__name__,
        exc,
    )
    return await kit_error(request, unavailable)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette's 405 names only the first
    route's, and a path like /api/meetings has one route for GET and one for POST."""
    methods: set[str] = set()
    scope = {**request.scope, "method": "GET"}
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods and route.matches(scope)[0] != Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = HTTP_MESSAGES.get(exc.status_code) or str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return error_response(request, exc.status_code, message, headers=headers or None)


async def client_disconnected(conn: HTTPConnection, exc: Exception) -> None:
    """The client left before its body was read: nobody is there to answer, so nothing is
    sent (uvicorn closes the connection) and it is logged as the routine event it is."""
    log.info(
        "%s %s: client disconnected before its request was read",
        conn.scope.get("method"),
        conn.url.path,
    )


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, HTTP_MESSAGES[500])


EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    KitError: kit_error,
    HTTPException: http_error,
    ClientDisconnect: client_disconnected,
    # The shapes a database outage takes, checked by ``database_error``: Tortoise's
    # wrappers, asyncpg's own errors, the socket errors of a refused connection, and
    # sqlite3 errors that escape Tortoise's translation (commit, rollback).
    BaseORMException: database_error,
    asyncpg.PostgresError: database_error,
    asyncpg.InterfaceError: database_error,
    InternalClientError: database_error,
    OSError: database_error,
    sqlite3.Error: database_error,
    Exception: server_error,
}
