"""Security headers on every HTTP response: what the page may load, and that no other site may frame it.

The Content-Security-Policy grants what Chainlit's UI was measured to need in Chromium
(tests/test_web_hardening.py collects every violation while the chat loads, answers, opens a source
panel and the feedback dialog) and nothing more. Chainlit's page also links a web font and KaTeX's
CSS from CDNs: they are refused (two console errors a page load) and the page works without them.
Its two inline scripts are allowed by their SHA-256, computed from the page Chainlit actually
serves, so no other inline script can run.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def inline_script_hashes(html: str) -> list[str]:
    """CSP sources for each inline <script> of `html`: 'sha256-…' of its exact text."""
    return [f"'sha256-{base64.b64encode(hashlib.sha256(body.encode('utf-8')).digest()).decode()}'"
            for body in _INLINE_SCRIPT.findall(html)]


def content_security_policy(script_hashes: Iterable[str]) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(["'self'", *script_hashes]),
        # Measured: the UI's script adds <style> elements whose text it computes as it runs (the
        # scroll lock of dialogs, the cursor while resizing a panel), so no hash can name them. Style
        # attributes in markup are not needed (React sets styles through the CSSOM) and stay refused.
        "style-src": "'self'",
        "style-src-elem": "'self' 'unsafe-inline'",
        # Measured: the chat profile's icon and some of the UI's own icons are data: SVG images.
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",  # no site may frame the chat (clickjacking)
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",  # a page's address can carry a prefilled question
    }


# The staff console's pages post HTML forms. Under Referrer-Policy: no-referrer a browser sends
# `Origin: null` with a form post (Fetch standard, "serializing a request origin"), which the Origin
# check (origins.py) rightly refuses; same-origin sends the real origin to this server and still
# nothing to any other site.
PATH_OVERRIDES: dict[str, dict[str, str]] = {"/staff": {"Referrer-Policy": "same-origin"}}


class SecurityHeaders:
    """ASGI middleware: `headers` set on every HTTP response, replacing any the app set; under a path
    prefix of `overrides`, its headers replace those."""

    def __init__(self, app: ASGIApp, headers: dict[str, str],
                 overrides: dict[str, dict[str, str]] | None = None) -> None:
        self.app = app
        self.headers = headers
        self.overrides = {prefix: {**headers, **extra} for prefix, extra in (overrides or {}).items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        chosen = next((h for prefix, h in self.overrides.items()
                       if path == prefix or path.startswith(prefix + "/")), self.headers)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in chosen.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)
