"""The OpenAPI document of /api/: each JSON handler's docstring holds its fragment (YAML)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.schemas import SchemaGenerator

from kit import __version__
from kit.web.openapi_schemas import COMPONENTS

SCHEMAS = SchemaGenerator(
    {
        "openapi": "3.1.0",
        "info": {
            "title": "House Meeting Kit API",
            "version": __version__,
            "description": "Find, host and report on local house meetings. Errors are "
            '`{"error": "...", "fields": {...}}` with a 4xx status.',
        },
        "components": COMPONENTS,
    }
)


async def openapi(request: Request) -> Response:
    api_routes = [r for r in request.app.routes if getattr(r, "path", "").startswith("/api/")]
    return JSONResponse(SCHEMAS.get_schema(routes=api_routes))
