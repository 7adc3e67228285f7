"""Reading request bodies and credentials: JSON for the API, forms for pages."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.datastructures import FormData, Headers
from starlette.requests import Request

from kit.core.errors import KitError

JSON = "application/json"
# Our bodies nest two levels ({"address": {"street": ...}}). A deeper one is no request
# of ours, and flattening it (kit.core.validation.flatten) recurses once per level.
MAX_JSON_DEPTH = 32
NOT_JSON = "The body is not valid JSON"


class BadRequest(KitError):
    status_code = 400


class UnsupportedMediaType(KitError):
    status_code = 415


def media_type(headers: Headers) -> str:
    """The Content-Type without its parameters, lowercased: media types are
    case-insensitive (RFC 9110 8.3.1), so APPLICATION/JSON; charset=UTF-8 is JSON."""
    return headers.get("content-type", "").partition(";")[0].strip().lower()


async def read_json(request: Request) -> dict[str, Any]:
    if media_type(request.headers) != JSON:
        raise UnsupportedMediaType("Send JSON with Content-Type: application/json.")
    body = parse_json(await request.body())
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def parse_json(raw: bytes) -> Any:
    """JSON as RFC 8259 defines it, or BadRequest saying what is wrong with it."""
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"{NOT_JSON}: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None
    except RecursionError:  # [[[[... thousands deep: the parser's own stack ran out
        raise BadRequest(f"{NOT_JSON}: it nests too deeply.") from None
    except NotAJsonNumber as exc:
        raise BadRequest(f"{NOT_JSON}: {exc}") from None
    except UnicodeDecodeError:
        raise BadRequest(f"{NOT_JSON}: it is not UTF-8 text.") from None
    except ValueError:  # an integer past Python's 4,300-digit limit
        raise BadRequest(f"{NOT_JSON}: a number in it is too long.") from None
    if deeper_than(value, MAX_JSON_DEPTH):
        raise BadRequest(f"{NOT_JSON}: it nests more than {MAX_JSON_DEPTH} levels deep.")
    return value


class NotAJsonNumber(ValueError):
    pass


def _no_constant(name: str) -> float:
    # Python's json reads NaN, Infinity and -Infinity; JSON has no such numbers.
    raise NotAJsonNumber(f"{name} is not a number in JSON.")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 reads as inf
        raise NotAJsonNumber(f"{text[:20]} is too large a number.")
    return number


def deeper_than(value: Any, limit: int) -> bool:
    """Do arrays and objects nest more than ``limit`` levels? Without recursion, so
    any depth json.loads accepts can be measured."""
    todo = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        todo.extend((child, depth + 1) for child in children)
    return False


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def form_to_dict(form: FormData) -> dict[str, str]:
    """A form as a flat dict (input names like "address.street" stay dotted)."""
    return {key: value for key, value in form.items() if isinstance(value, str)}
