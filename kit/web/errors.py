"""Domain errors and HTTP errors mapped to responses, in this one place.

Under ``/api/`` every error is JSON: ``{"error": "...", "fields": {...}}``.
Elsewhere a friendly HTML page with the same message.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kit.errors import KitError, RateLimited

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
    templates = request.app.state.templates
    context: dict[str, Any] = {"status": status, "message": message, "fields": fields or {}}
    return templates.TemplateResponse(
        request, "error.html", context, status_code=status, headers=headers
    )


async def kit_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KitError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return error_response(request, exc.status_code, exc.message, exc.fields, headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = HTTP_MESSAGES.get(exc.status_code) or str(exc.detail)
    return error_response(request, exc.status_code, message, headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, HTTP_MESSAGES[500])


EXCEPTION_HANDLERS = {
    KitError: kit_error,
    HTTPException: http_error,
    Exception: server_error,
}
