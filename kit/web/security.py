"""Security headers on every response, and stricter ones where the URL is a secret."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

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


# Pages whose URL is someone's key (a host's manage link, a guest's RSVP, a private feed,
# sign-in and confirmation links), and so is what they show: no cache may keep a copy
# (a shared computer's browser cache, a proxy), and no link on them may send the URL
# on as a Referer. Public pages keep their own caching.
PRIVATE_PREFIXES = (
    "/manage/",
    "/rsvp/",
    "/feeds/",
    "/unsubscribe/",
    "/coordinators/signin/",
    "/ideas/confirm/",
    "/hosts/confirm/",
)
PRIVATE_HEADERS = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


def is_private(scope: Scope) -> bool:
    """A secret in the path, or a ``token`` in the query (a meeting's packet, by link)."""
    if str(scope.get("path", "")).startswith(PRIVATE_PREFIXES):
        return True
    query = scope.get("query_string", b"").decode("latin-1")
    return "token" in query and any(name == "token" for name, _ in parse_qsl(query))


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

        private = is_private(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if private:  # whatever the handler said
                    headers.update(PRIVATE_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
