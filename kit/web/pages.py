"""HTML pages: parse the request, call one domain function, render."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from kit.core.rendering import STATIC_DIR
from kit.meetings import service as meetings
from kit.store import health
from kit.toolkit.markdown import markdown_to_html
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


# --- About, Privacy, Contact: text the operator may set ----------------------------------


def operator_text(data_dir: Path, name: str) -> Markup | None:
    """The operator's own text for a page (KIT_DATA_DIR/pages/NAME.md), as sanitized HTML;
    None when there is none, so the page shows the kit's defaults."""
    path = data_dir / "pages" / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    return Markup(markdown_to_html(text)) if text.strip() else None


def site_page(name: str) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of /about, /privacy or /contact: the operator's Markdown, or the kit's
    defaults."""

    async def endpoint(request: Request) -> Response:
        custom = operator_text(request.app.state.settings.data_dir, name)
        return render(request, f"pages/{name}.html", {"name": name, "custom": custom})

    return endpoint


about, privacy, contact = site_page("about"), site_page("privacy"), site_page("contact")


async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico whatever the page links; a PNG answers as well."""
    return FileResponse(STATIC_DIR / "favicon.png", media_type="image/png", headers=ICON_CACHE)


ICON_CACHE = {"Cache-Control": "public, max-age=86400"}
