"""Security headers on every response."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(tile_url: str) -> str:
    """No inline scripts anywhere; images may come from the map tile server."""
    tiles = urlsplit(tile_url.replace("{s}", "a"))
    tile_origin = (
        f"{tiles.scheme}://{tiles.netloc}".replace("://a.", "://*.") if tiles.netloc else ""
    )
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: {tile_origin}".strip(),
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, tile_url: str) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": content_security_policy(tile_url),
            "X-Content-Type-Options": "nosniff",
            # Secret links live in URLs: other sites get our origin at most, never a path.
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "X-Frame-Options": "DENY",
            "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
