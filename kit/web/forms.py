"""Reading request bodies and credentials: JSON for the API, forms for pages."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from kit.errors import KitError


class BadRequest(KitError):
    status_code = 400


class UnsupportedMediaType(KitError):
    status_code = 415


async def read_json(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise UnsupportedMediaType("Send JSON with Content-Type: application/json.")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def form_to_dict(form: FormData) -> dict[str, str]:
    """A form as a flat dict (input names like "address.street" stay dotted)."""
    return {key: value for key, value in form.items() if isinstance(value, str)}
