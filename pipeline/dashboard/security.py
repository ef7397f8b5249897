"""The dashboard's guards: the action token, the Host check against DNS rebinding, and the response headers.

Views are open to whoever reaches the (loopback by default) address; every action needs the token, sent
in the `X-Ektp-Token` header and compared in constant time. When no token is configured one is generated
at start and written to `<run_dir>/dashboard.token` (mode 0600), so only the operator of this machine can
read it; the log names the file, never the token.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from pipeline.config import Settings

TOKEN_HEADER = "X-Ektp-Token"  # noqa: S105 (a header name, not a secret)
TOKEN_FILE = "dashboard.token"  # noqa: S105 (a file name, not a secret)
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104 (names of the wildcard, not a bind)
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

# No inline script or style, no framing, nothing from elsewhere: the page is its own three files.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def action_token(settings: Settings) -> tuple[str, Path | None]:
    """The token actions need, and the file it was written to when it had to be generated."""
    if settings.dashboard_token is not None and settings.dashboard_token.get_secret_value():
        return settings.dashboard_token.get_secret_value(), None
    path = settings.run_dir / TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT
    return token, path


def token_matches(presented: str | None, expected: str) -> bool:
    """Constant-time comparison; a missing or empty token never matches."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host header values this dashboard answers: its bound address, or loopback names when it binds all
    interfaces (a container behind a published loopback port) or loopback itself."""
    names = set(LOOPBACK_NAMES) if host in WILDCARD_HOSTS or _is_loopback(host) else set()
    if host not in WILDCARD_HOSTS:
        names.add(f"[{host}]" if ":" in host else host)
    with_port = {f"{name}:{port}" for name in names}
    return frozenset(with_port | names if port == 80 else with_port)  # a browser leaves out the default port


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def host_guard(allowed: frozenset[str]) -> Middleware:
    """Middleware: a request for another Host (a rebound DNS name) is refused before any handler sees it."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Host", "").lower() not in allowed:
            return web.json_response({"error": "unknown host"}, status=421)
        return await handler(request)

    return guard


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: the headers on every response (errors and the event stream included); the API
    is never cached."""
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
