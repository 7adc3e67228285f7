"""Starlette's Router, with each request's candidate routes found by its first path
segment instead of trying the whole table in order.

Starlette matches a request against every route in turn, a regular expression each:
with the kit's 90 routes, a request for ``/api/meetings`` tried about 70 of them first,
which cost more than a hello-world's whole request (about 1 µs a route; two thirds of
a 404's time in-process). A route whose path starts with a literal segment
(``/meetings/{id}`` starts with ``meetings``; ``/meetings.ics`` with ``meetings.ics``)
can only match paths with that first segment, so each request need only try the routes
of its own first segment and those that start with a parameter, in the table's order.
The first full match, else the first partial one (a 405), is then the same route the
linear scan picks: ``tests/web/test_router.py`` holds the two equal over every route's
paths, near misses and unknown paths.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send

# The bucket of routes whose first segment is not a literal (tried for every path).
ANY = ""


def first_segment(path: str) -> str:
    """``/meetings/abc`` -> ``meetings``; ``/`` -> ``""``."""
    return path[1:].split("/", 1)[0] if path.startswith("/") else path.split("/", 1)[0]


def route_segment(route: BaseRoute) -> str | None:
    """The literal first segment every path the route matches starts with, or None when
    it has none (a parameter in it, a host route, anything unknown)."""
    if isinstance(route, Route | WebSocketRoute | Mount):
        segment = first_segment(route.path)
        return segment if segment and "{" not in segment else None
    return None


def index_routes(routes: Sequence[BaseRoute]) -> dict[str, list[BaseRoute]]:
    """Per literal first segment, the routes a path starting with it may match, in table
    order; ``ANY``: those for a path whose first segment no route names."""
    segments = [route_segment(route) for route in routes]
    index = {
        literal: [r for r, s in zip(routes, segments, strict=True) if s in (literal, None)]
        for literal in {s for s in segments if s is not None}
    }
    index[ANY] = [r for r, s in zip(routes, segments, strict=True) if s is None]
    return index


class IndexedRouter(Router):
    """``Router`` for the kit's app: no slash redirects (their Location would come from
    the Host header), routes tried by first segment. The route table may change before
    the first request or in tests (``routes`` stays the whole list): the index follows
    its length."""

    _index: dict[str, list[BaseRoute]]
    _indexed: tuple[int, int] = (0, -1)

    def candidates(self, scope: Scope) -> list[BaseRoute]:
        key = (id(self.routes), len(self.routes))
        if key != self._indexed:
            self._index, self._indexed = index_routes(self.routes), key
        index = self._index
        return index.get(first_segment(get_route_path(scope)), index[ANY])

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        partial = partial_scope = None
        for route in self.candidates(scope):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None and partial_scope is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        await self.default(scope, receive, send)
