"""create_app(settings): routes, middleware, exception handlers, lifespan. Nothing else."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from tortoise.contrib.starlette import RegisterTortoise

from kit.core.settings import Settings
from kit.jobs.schedule import run_schedule_loop
from kit.meetings.feeds import FeedCache
from kit.outbox.delivery import background_delivery
from kit.printables.context import warming_up
from kit.store.db import tortoise_config
from kit.store.geocode_cache import DatabaseGeocodeCache, make_configured_geocoder
from kit.web import routes
from kit.web.errors import EXCEPTION_HANDLERS
from kit.web.request_guards import LimitRequestBody, RejectNulInUrl
from kit.web.router import IndexedRouter
from kit.web.security import SecurityHeadersMiddleware
from kit.web.templating import make_templates

MAX_BODY_BYTES = 2 * 1024 * 1024


def create_app(settings: Settings, *, manage_db: bool = True) -> Starlette:
    """The ASGI app. ``manage_db=False`` leaves the ORM to the caller (tests do that)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_db:
            yield
            return
        async with (
            RegisterTortoise(
                app, config=tortoise_config(settings.database_url), _enable_global_fallback=True
            ),
            # Reminders and digests are queued by the same processes that deliver.
            background_delivery(
                settings, alongside=[lambda stop: run_schedule_loop(settings, stop=stop)]
            ),
            warming_up(),
        ):
            yield

    app = Starlette(
        debug=settings.debug,
        middleware=[
            Middleware(SecurityHeadersMiddleware, tile_url=settings.tile_url),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie="kit_session",
                max_age=30 * 24 * 3600,
                same_site="lax",
                https_only=settings.base_url.startswith("https://"),
            ),
            Middleware(RejectNulInUrl),
            # Instead of Starlette's max_body_size, whose 413 is bare text (see the module).
            Middleware(LimitRequestBody, max_bytes=MAX_BODY_BYTES),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    # Routes looked up by first segment (see the module). No trailing-slash redirects:
    # their Location would be built from the request's Host header.
    app.router = IndexedRouter(routes.ROUTES, lifespan=lifespan, redirect_slashes=False)
    app.state.settings = settings
    app.state.templates = make_templates()
    app.state.feed_cache = FeedCache()
    app.state.geocoder = make_configured_geocoder(settings, cache=DatabaseGeocodeCache())
    return app


def app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory`` (``kit serve`` uses it for every worker)."""
    return create_app(Settings.from_env())
