"""Chat session ids and who owns them.

Chainlit 2.12 takes a session id from the browser (the socket.io handshake's `auth.sessionId`, the
body of /feedback, /project/action, /project/element, the `session_id` query of /project/file) and
trusts it twice over: as the name of a folder (`.files/<id>`, deleted recursively when the session
ends, so `../data` deleted the database) and as proof of ownership (anyone who knew an id could
read its files, push into its page or take it over). Here a session id is only ever a canonical
UUID, and each one is bound, the first time it is used, to a secret the server set in an HttpOnly
cookie: knowing someone's session id is not enough to act for them.

The secret identifies a browser, not a session, so every tab of one browser shares it; the server
keeps only a SHA-256 digest of it, in memory (sessions live in Chainlit's memory too).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path

# The browser's secret. Strict: a request another site causes the browser to make never carries it.
CLIENT_COOKIE = "careers_client"
# Chainlit's own sticky-session cookie (for load balancers); it proves nothing and is only kept.
CHAINLIT_STICKY_COOKIE = "X-Chainlit-Session-id"

# Lower-case canonical form only, as the browser (crypto.randomUUID) and uuid.uuid4() write it: one
# spelling per id, so one folder per session and no case games on case-insensitive filesystems.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def is_session_id(value: object) -> bool:
    """True only for a canonical lower-case UUID string, e.g. 'f47ac10b-58cc-4372-a567-0e02b2c3d479'."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_from_cookies(cookies: Mapping[str, str]) -> str | None:
    """The browser's secret from its cookies, or None if it has none or a malformed one."""
    token = cookies.get(CLIENT_COOKIE)
    return token if isinstance(token, str) and _TOKEN.fullmatch(token) else None


def token_from_cookie_header(header: str | None) -> str | None:
    """The same from a raw Cookie header (python-socketio hands the handshake's headers over as a WSGI
    environ, HTTP_COOKIE)."""
    if not header:
        return None
    from starlette.requests import cookie_parser

    return token_from_cookies(cookie_parser(header))


def session_folder(root: Path, session_id: str) -> Path:
    """`root/<session_id>`, after proving it is a direct child of `root`.

    A canonical UUID cannot climb out of `root`, and the resolved path is checked as well, so that
    neither a symlink in the way nor a future caller that skipped the id check can make a session's
    folder (which Chainlit deletes recursively) anything but a folder inside `root`."""
    if not is_session_id(session_id):
        raise ValueError("a session id must be a canonical UUID")
    base = root.resolve()
    folder = (base / session_id).resolve()
    if folder.parent != base or not folder.is_relative_to(base):
        raise ValueError(f"the folder for session {session_id} is not inside {base}")
    return folder


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


class SessionRegistry:
    """Which browser (by the digest of its secret) owns which session id.

    A session id is claimed by the first browser that uses it and stays with it while Chainlit holds
    the session (`is_live`); bindings of ended sessions are forgotten once idle for `idle_seconds`,
    and beyond `max_bindings` the least recently used ended ones go first. A live session's binding
    is never dropped, so a live session can never be claimed by someone else."""

    def __init__(self, is_live: Callable[[str], bool], max_bindings: int = 100_000,
                 idle_seconds: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.is_live = is_live
        self.max_bindings = max_bindings
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._owner: OrderedDict[str, tuple[bytes, float]] = OrderedDict()  # least recently used first
        self._sessions: dict[bytes, set[str]] = {}
        self._lock = threading.Lock()

    def claim(self, session_id: str, token: str) -> bool:
        """Bind `session_id` to `token` if nobody else holds it; True if `token` now owns it."""
        if not is_session_id(session_id):
            return False
        digest, now = _digest(token), self.clock()
        with self._lock:
            held = self._owner.get(session_id)
            if held is not None:
                if not hmac.compare_digest(held[0], digest):
                    return False
                self._owner.move_to_end(session_id)
                self._owner[session_id] = (digest, now)
                return True
            if self.is_live(session_id):  # a session with no binding was not made through us: hands off
                return False
            self._prune(now)
            if len(self._owner) >= self.max_bindings:
                return False  # every binding belongs to a live session: refuse rather than evict one
            self._owner[session_id] = (digest, now)
            self._sessions.setdefault(digest, set()).add(session_id)
            return True

    def owns(self, session_id: object, token: str | None) -> bool:
        """True if `token` is the secret `session_id` was bound to."""
        if token is None or not is_session_id(session_id):
            return False
        with self._lock:
            held = self._owner.get(session_id)  # type: ignore[arg-type]
            if held is None or not hmac.compare_digest(held[0], _digest(token)):
                return False
            self._owner.move_to_end(session_id)  # type: ignore[arg-type]
            self._owner[session_id] = (held[0], self.clock())  # type: ignore[index]
            return True

    def sessions_of(self, token: str | None) -> list[str]:
        """The session ids bound to `token`."""
        if token is None:
            return []
        with self._lock:
            return sorted(self._sessions.get(_digest(token), ()))

    def _prune(self, now: float) -> None:
        over = len(self._owner) - self.max_bindings + 1
        doomed: list[str] = []
        for session_id, (_, last) in self._owner.items():  # least recently used first
            if self.is_live(session_id):
                continue
            if now - last >= self.idle_seconds or over > 0:
                doomed.append(session_id)
                over -= 1
            else:
                break  # the rest were used more recently still
        for session_id in doomed:
            digest, _ = self._owner.pop(session_id)
            owned = self._sessions.get(digest)
            if owned is not None:
                owned.discard(session_id)
                if not owned:
                    del self._sessions[digest]

    def __len__(self) -> int:
        return len(self._owner)
