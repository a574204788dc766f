"""Wrap the served app in every bound and header of limits.py, headers.py and sockets.py, at one place.

The wrappers go outside Chainlit's FastAPI app, so they see every request first, Chainlit's routes and
the socket.io transport included, and no route can be added that escapes them.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from .headers import PATH_OVERRIDES, SecurityHeaders, content_security_policy, inline_script_hashes, security_headers
from .limits import BodyLimit, RequestLimits
from .replies import install_error_replies
from .sockets import QuietSocketErrors, limit_socketio, quiet_chainlit_errors


def harden(app: FastAPI, sio, limits: RequestLimits, socket_path: str, page_html: str) -> ASGIApp:
    """`app` behind the body limit, quiet socket errors and security headers. `page_html` is the page
    Chainlit serves (its inline scripts are allowed by hash); `sio` its socket.io server."""
    install_error_replies(app)
    limit_socketio(sio, limits.max_socket_message_bytes)
    quiet_chainlit_errors()
    csp = content_security_policy(inline_script_hashes(page_html))
    served: ASGIApp = BodyLimit(app, limits.max_body_bytes)
    served = QuietSocketErrors(served, socket_path)
    return SecurityHeaders(served, security_headers(csp), PATH_OVERRIDES)
