"""Page templates: the shared environment plus what every page needs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from kit.core.rendering import make_environment
from kit.web.csrf import csrf_token

# Where the kit's own files are served (kit/web/routes.py mounts them here). Pages link
# to them by root-relative path: Starlette's url_for builds absolute URLs from the
# request's Host header, which the client chooses (a forged Host ended up in the page,
# and in any cache that kept it), and walks the route table for every link.
STATIC_MOUNTS = {
    "static": "/static",
    "leaflet": "/static/leaflet",
    "markercluster": "/static/markercluster",
}


def asset_url(mount: str, path: str) -> str:
    """``asset_url('static', 'css/kit.css')`` → ``/static/css/kit.css``."""
    return f"{STATIC_MOUNTS[mount]}/{path}"


def _page_context(request: Request) -> dict[str, Any]:
    # The public view only: a page has no use for the secret key or the SMTP password.
    return {"csrf_token": csrf_token(request), "settings": request.app.state.settings.public}


def make_templates() -> Jinja2Templates:
    env = make_environment()
    env.globals["asset_url"] = asset_url
    return Jinja2Templates(env=env, context_processors=[_page_context])


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A page from the app's templates: the one way handlers render HTML."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, template, context, status_code=status_code, headers=headers
    )
