"""Which web pages may talk to the server from a visitor's browser: its own, and those configured.

Chainlit creates its socket.io server with `cors_allowed_origins=[]`, which in python-engineio means
"no Origin check at all", so any page a visitor opened could open a chat socket (or post to the
HTTP routes) in their name. A browser always sends `Origin` on a websocket handshake and on every
POST, PUT and DELETE, and a page cannot forge it; this middleware refuses those whose Origin is
neither the origin being served (the same host and port as the request's Host header) nor listed
in CAREERS_ALLOWED_ORIGINS. Requests without an Origin (curl, the API's own clients, the test
clients) carry no visitor's cookies and prove nothing either way: they are let through, and the
session checks (sessions.py, guard.py) apply to them as to everyone.

Behind a reverse proxy that rewrites the Host header, list the public origin, e.g.
CAREERS_ALLOWED_ORIGINS=https://careers.example.org (comma-separated for several).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..errors import AssistantError

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(origin: str) -> str | None:
    """'scheme://host[:port]' in lower case without a default port, or None if it is not an
    http(s) origin (an origin has no path, query, fragment or credentials)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.path not in ("", "/") or parts.query \
            or parts.fragment or parts.username is not None or parts.password is not None:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else "")


class OriginSettingError(AssistantError, ValueError):
    """A bad CAREERS_ALLOWED_ORIGINS: the CLI prints it in one line and exits 2."""


def parse_allowed_origins(text: str) -> tuple[str, ...]:
    """CAREERS_ALLOWED_ORIGINS: comma-separated origins; OriginSettingError naming a bad one."""
    allowed = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        normal = normalise_origin(item)
        if normal is None:
            raise OriginSettingError(f"CAREERS_ALLOWED_ORIGINS: {item!r} is not an origin; write it as "
                             "scheme://host[:port], e.g. https://careers.example.org")
        allowed.append(normal)
    return tuple(allowed)


def _host_key(host: str) -> str:
    host = host.strip().lower()
    for default in (":80", ":443"):
        if host.endswith(default):
            return host[: -len(default)]
    return host


def origin_allowed(origin: str | None, host: str | None, allowed: Iterable[str] = ()) -> bool:
    """May a browser page from `origin` use this server, reached as `host` (the Host header)?"""
    if origin is None:
        return True
    normal = normalise_origin(origin)  # "null" (sandboxed frames, file: pages) is no origin: refused
    if normal is None:
        return False
    if normal in set(allowed):
        return True
    return bool(host) and _host_key(normal.split("://", 1)[1]) == _host_key(host or "")


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return None


class OriginGuard:
    """ASGI middleware: a websocket handshake, or an HTTP request that is not GET/HEAD/OPTIONS or is
    for socket.io, from a page of another origin gets 403 before anything else runs."""

    def __init__(self, app, allowed: Iterable[str] = (), socket_path: str = "/ws/socket.io") -> None:
        self.app = app
        self.allowed = frozenset(allowed)
        self.socket_path = socket_path

    async def __call__(self, scope, receive, send) -> None:
        kind = scope.get("type")
        if kind in ("http", "websocket"):
            checked = kind == "websocket" or scope.get("method") not in SAFE_METHODS \
                or scope.get("path", "").startswith(self.socket_path)
            origin = _header(scope, b"origin")
            if checked and not origin_allowed(origin, _header(scope, b"host"), self.allowed):
                log.warning("Refused a %s request from a page of another origin", kind)
                if kind == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                body = json.dumps({"detail": "Requests from other web sites are not accepted."}).encode()
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
