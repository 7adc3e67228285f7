"""HTML pages: parse the request, call one domain function, render."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kit import discovery, health, meetings
from kit.discovery import InvalidQuery
from kit.web.templating import render


async def home(request: Request) -> Response:
    stats = await meetings.public_stats()
    return render(request, "home.html", {"stats": stats})


async def healthz(request: Request) -> Response:
    """200 while the database can be read and written; 503 otherwise, so that a load
    balancer takes the node out (docs/deployment.md lists the fields)."""
    database = await health.check_database()
    return JSONResponse(
        {"ok": database["ok"], "database": database}, status_code=200 if database["ok"] else 503
    )


async def find(request: Request) -> Response:
    """Search by ZIP, town or location: a plain list (no JavaScript needed) and a map."""
    near = request.query_params.get("near", "")
    context: dict[str, Any] = {"near": near, "result": None, "errors": {}}
    status = 200
    if near:
        try:
            context["result"] = await discovery.search_meetings(
                request.query_params, request.app.state.geocoder, local_radius=True
            )
        except InvalidQuery as exc:
            context["errors"] = exc.fields
            status = 400
    return render(request, "meetings/find.html", context, status_code=status)
