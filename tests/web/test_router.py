"""Routes found by first segment answer every path as Starlette's scan of the whole
table does: the same route, full or partial (405), or none (404)."""

from __future__ import annotations

import re
from itertools import product

import pytest
from starlette.routing import BaseRoute, Match, Mount, Route

from kit.web.router import ANY, IndexedRouter, first_segment, index_routes
from kit.web.routes import ROUTES

METHODS = ("GET", "POST", "HEAD", "PATCH", "DELETE")
VALUES = ("abc", "abc.ics", "x-y_z", "1")


def linear_pick(
    routes: list[BaseRoute], scope: dict[str, object]
) -> tuple[BaseRoute, Match] | None:
    """What Starlette's Router.app picks: the first full match, else the first partial."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route, match
        if match is Match.PARTIAL and partial is None:
            partial = (route, match)
    return partial


def indexed_pick(router: IndexedRouter, scope: dict[str, object]) -> tuple[BaseRoute, Match] | None:
    return linear_pick(router.candidates(scope), scope)


def paths_of(route: BaseRoute) -> list[str]:
    """Concrete paths the route's template stands for, and near misses around it."""
    template = route.path if isinstance(route, Route | Mount) else "/"
    if isinstance(route, Mount):
        template += "/leaflet.js"
    filled = [re.sub(r"\{[^}]+\}", value, template) for value in VALUES]
    near = [p + suffix for p in filled for suffix in ("/", ".ics", "/extra", "x")]
    return filled + near + [p.upper() for p in filled]


ALL_PATHS = sorted(
    {p for route in ROUTES for p in paths_of(route)}
    | {"/", "", "/nothing", "/api", "/api/", "//", "/meetings", "/meetings/", "/static"}
)


def scope_for(path: str, method: str) -> dict[str, object]:
    return {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}


def test_every_route_is_reached_as_the_linear_scan_reaches_it() -> None:
    router = IndexedRouter(list(ROUTES), redirect_slashes=False)
    compared = 0
    for path, method in product(ALL_PATHS, METHODS):
        scope = scope_for(path, method)
        assert indexed_pick(router, scope) == linear_pick(ROUTES, scope), (method, path)
        compared += 1
    assert compared > 1000
    # Every route is the answer for some path: the comparison covered the whole table.
    reached = {
        id(picked[0])
        for path, method in product(ALL_PATHS, METHODS)
        if (picked := linear_pick(ROUTES, scope_for(path, method)))
    }
    assert reached == {id(route) for route in ROUTES}


def test_a_route_led_by_a_parameter_is_tried_for_every_path() -> None:
    async def endpoint(request: object) -> None: ...

    catch_all = Route("/{slug}", endpoint, name="catch_all")
    routes: list[BaseRoute] = [Route("/meetings/{id}", endpoint), catch_all]
    index = index_routes(routes)
    assert index["meetings"] == routes
    assert index[ANY] == [catch_all]
    router = IndexedRouter(routes, redirect_slashes=False)
    for path in ("/meetings/1", "/meetings", "/anything", "/"):
        scope = scope_for(path, "GET")
        assert indexed_pick(router, scope) == linear_pick(routes, scope), path


def test_routes_added_later_are_found() -> None:
    async def endpoint(request: object) -> None: ...

    router = IndexedRouter(list(ROUTES), redirect_slashes=False)
    assert indexed_pick(router, scope_for("/late/1", "GET")) is None
    late = Route("/late/{id}", endpoint)
    router.routes.insert(0, late)
    assert indexed_pick(router, scope_for("/late/1", "GET")) == (late, Match.FULL)


@pytest.mark.parametrize(
    ("path", "segment"),
    [("/", ""), ("/meetings/abc", "meetings"), ("/meetings.ics", "meetings.ics"), ("", "")],
)
def test_first_segment(path: str, segment: str) -> None:
    assert first_segment(path) == segment
