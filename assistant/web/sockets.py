"""The socket.io side of Chainlit, bounded and quiet: message sizes capped, no exception text to clients.

Chainlit answers a malformed event (a `client_message` whose payload is not the shape its UI sends)
by sending the exception's text into the chat as an error message ("string indices must be
integers"), and engine.io answers a bad polling request with a body that quotes the request
("Invalid session <whatever was sent>"). Neither helps a visitor; both tell a prober what broke.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..privacy import for_log
from .present import APOLOGY

log = logging.getLogger(__name__)

SOCKET_ERROR_BODY = b"Bad request"


def limit_socketio(sio, max_bytes: int) -> None:
    """Cap one engine.io message (a websocket frame, or a polling POST) at `max_bytes`: engine.io
    closes a connection that sends more, and tells the client the limit in its handshake."""
    sio.eio.max_http_buffer_size = max_bytes


def quiet_chainlit_errors() -> None:
    """Chainlit's error messages to the chat say only APOLOGY; what they would have said is logged.

    Chainlit builds them from `chainlit.socket.ErrorMessage` (malformed events) and, inside its
    callback wrapper, from `chainlit.message.ErrorMessage`: both names are replaced. Our own
    callbacks catch their errors and apologise themselves; this covers Chainlit's code paths."""
    import chainlit.message
    import chainlit.socket

    original = chainlit.message.ErrorMessage
    if getattr(original, "quiet", False):
        return

    class QuietErrorMessage(original):  # type: ignore[misc, valid-type]
        quiet = True

        def __init__(self, content: str, author: str | None = None, fail_on_persist_error: bool = False):
            log.error("Chainlit would have shown a client this error: %s", for_log(content, 300))
            super().__init__(content=APOLOGY, fail_on_persist_error=fail_on_persist_error)

    chainlit.message.ErrorMessage = QuietErrorMessage  # type: ignore[misc]
    chainlit.socket.ErrorMessage = QuietErrorMessage  # type: ignore[attr-defined]


class QuietSocketErrors:
    """ASGI middleware: an error reply under `prefix` (socket.io's polling transport) carries a fixed
    short body instead of engine.io's, which quotes the request."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefix):
            return await self.app(scope, receive, send)
        replacing = False

        async def quiet(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start" and message["status"] >= 400:
                replacing = True
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"content-length", b"content-type", b"transfer-encoding")]
                headers += [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(SOCKET_ERROR_BODY)).encode())]
                await send({**message, "headers": headers})
                return
            if replacing and message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": SOCKET_ERROR_BODY, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, quiet)
