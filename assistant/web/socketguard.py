"""The chat socket: who may connect as which session, which events are heard, where files go.

Chainlit 2.12 registers its socket.io handlers on import (chainlit/socket.py) and keeps them in
`sio.handlers["/"]`; they are wrapped or replaced here at start-up, before the port opens:

- `connect` accepts only a canonical UUID session id, from a browser holding the cookie secret the
  session is bound to (sessions.py); it drops a client-sent thread id (thread resume is off, so a
  thread is always the server's own fresh one, never someone else's) and the user environment.
- every event Chainlit handles for a feature this server turns off (editing a sent message,
  favourites, audio, chat settings, messages from a host window) is refused here, whatever the UI's
  flags say: `edit_message` rewrote stored questions and deleted the later steps.
- the events left act only on the connection's own session (looked up by socket id).

`guard_files` makes each session's folder `.files/<uuid>`, proved to be inside `.files/`, since
Chainlit writes side-panel files there and deletes the folder recursively when the session ends.
Pinned to chainlit 2.12.x: tests/test_web_security.py fails on an event nobody classified.
"""

from __future__ import annotations

import logging

from .sessions import SessionRegistry, is_session_id, session_folder, token_from_cookie_header

log = logging.getLogger(__name__)

GUARDED_EVENTS = frozenset({"connect"})
# Chainlit's own handlers, each acting on the session of the socket that sent it.
ALLOWED_EVENTS = frozenset({"connection_successful", "clear_session", "disconnect", "stop", "client_message"})
REFUSED_EVENTS = frozenset({"edit_message", "message_favorite", "fetch_favorites", "window_message", "audio_start",
                            "audio_chunk", "audio_end", "chat_settings_change", "chat_settings_edit"})
QUIET_EVENTS = frozenset({"fetch_favorites"})  # the browser sends it on every connect: not worth a log line
CLIENT_TYPES = frozenset({"webapp"})  # the web page; the copilot widget, Slack and Teams are not served


def _refuse(event: str):
    async def refused(sid, *args) -> None:
        if event not in QUIET_EVENTS:
            log.warning("Refused socket event %s: that feature is turned off on this server", event)
        return None

    refused.__name__ = f"refused_{event}"
    return refused


def clean_auth(auth: object) -> dict | None:
    """The handshake's auth as Chainlit's connect handler may see it, or None to refuse it."""
    if not isinstance(auth, dict) or not is_session_id(auth.get("sessionId")) \
            or auth.get("clientType") not in CLIENT_TYPES:
        return None
    profile = auth.get("chatProfile")
    return {"sessionId": auth["sessionId"], "clientType": auth["clientType"], "threadId": "", "userEnv": "{}",
            "chatProfile": profile if isinstance(profile, str) and len(profile) <= 200 else ""}


def guard_socket(sio, registry: SessionRegistry) -> None:
    from socketio.exceptions import ConnectionRefusedError

    handlers = sio.handlers.setdefault("/", {})
    if getattr(handlers.get("connect"), "careers_guarded", False):
        return  # installed already (tests install on the one global app)
    chainlit_connect = handlers["connect"]

    async def connect(sid, environ, auth=None):
        clean = clean_auth(auth)
        if clean is None:
            log.warning("Refused a chat connection: its session id is not a UUID or its client type is unknown")
            raise ConnectionRefusedError("The session id must be a UUID. Reload the page.")
        token = token_from_cookie_header(environ.get("HTTP_COOKIE"))
        if token is None or not registry.claim(clean["sessionId"], token):
            log.warning("Refused a chat connection: the session is not this browser's")
            raise ConnectionRefusedError("This chat session does not belong to this browser. Reload the page.")
        return await chainlit_connect(sid, environ, clean)

    connect.careers_guarded = True  # type: ignore[attr-defined]
    handlers["connect"] = connect
    for event in sorted(set(handlers) - GUARDED_EVENTS - ALLOWED_EVENTS):
        if event not in REFUSED_EVENTS:
            log.warning("Refusing socket event %s: an event this server does not know (a Chainlit upgrade?)", event)
        handlers[event] = _refuse(event)
    for event in REFUSED_EVENTS:  # also those a later Chainlit might register lazily
        handlers[event] = _refuse(event)


def guard_files() -> None:
    """Chainlit's `BaseSession.files_dir` is `.files/<session id>` with no check: make it provably a
    folder directly inside `.files/` (ValueError otherwise, so nothing is written or deleted)."""
    from chainlit.config import FILES_DIRECTORY
    from chainlit.session import BaseSession

    def files_dir(self):
        return session_folder(FILES_DIRECTORY, self.id)

    BaseSession.files_dir = property(files_dir)  # type: ignore[method-assign,assignment]
