"""HTML pages: parse the request, call one domain function, render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kit import health, meetings
from kit.public import public_meeting


async def home(request: Request) -> Response:
    stats = await meetings.public_stats()
    return request.app.state.templates.TemplateResponse(request, "home.html", {"stats": stats})


async def healthz(request: Request) -> Response:
    try:
        database = await health.check_database()
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        return JSONResponse(
            {"ok": False, "database": {"ok": False, "error": type(exc).__name__}}, status_code=503
        )
    return JSONResponse({"ok": True, "database": database})


async def meeting_detail(request: Request) -> Response:
    meeting = await meetings.get_meeting(request.path_params["id"])
    base = request.app.state.settings.base_url
    data = public_meeting(meeting, base, detail=True)
    return request.app.state.templates.TemplateResponse(
        request, "meetings/detail.html", {"meeting": meeting, "public": data}
    )
