"""Staff sessions: a signed cookie naming a session the database holds, and the CSRF tokens it implies.

The cookie is `<session id>.<expires, unix seconds>.<HMAC-SHA256 of both>`, the HMAC keyed by a
secret the server generates once (256 random bits) and keeps in the database (`staff_secrets`), so
sessions survive a restart and no secret lives in the code, the environment or the repository.
Whoever can read the database can sign cookies, and could read everything else there anyway; to end
every session at once, delete that row (a new secret is made on the next request).
A cookie is accepted only if its signature is right, it has not expired, and its session is still
in `staff_sessions` for an account that still exists: signing out, `staff remove`, or the expiry
end it. The database holds only the SHA-256 of each session id, so a copy of it yields no cookie.

CSRF: a signed-in form carries HMAC(secret, "csrf." + session id); the sign-in form, before there is
a session, carries HMAC(secret, "login." + nonce) where the nonce is in its own signed cookie
(double submit). Both cookies are HttpOnly and SameSite=Strict, and Secure when served over HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..web.schema import ensure_schema, staff_secrets, staff_sessions, staff_users

SESSION_COOKIE = "careers_staff"
LOGIN_COOKIE = "careers_staff_signin"
COOKIE_PATH = "/staff"  # never sent with the chat's or the API's requests
_SECRET_NAME = "staff_session_key"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Signer:
    """HMAC-SHA256 under one secret, for cookie values and CSRF tokens."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the signing secret must be at least 32 bytes")
        self._secret = secret

    def mac(self, purpose: str, value: str) -> str:
        return _b64(hmac.new(self._secret, f"{purpose}.{value}".encode(), hashlib.sha256).digest())

    def sign(self, value: str) -> str:
        return f"{value}.{self.mac('cookie', value)}"

    def unsign(self, signed: str | None) -> str | None:
        """The value, if `signed` is one this signer made; else None."""
        if not signed or len(signed) > 400:
            return None
        value, _, mac = signed.rpartition(".")
        if not value or not hmac.compare_digest(mac.encode(), self.mac("cookie", value).encode()):
            return None
        return value

    def session_cookie(self, session_id: str, expires: int) -> str:
        return self.sign(f"{session_id}.{expires}")

    def read_session_cookie(self, cookie: str | None, now: float | None = None) -> str | None:
        """The session id of a well-signed, unexpired cookie; else None."""
        value = self.unsign(cookie)
        if value is None:
            return None
        session_id, _, expires = value.rpartition(".")
        if not session_id or not expires.isdigit() or int(expires) <= (time.time() if now is None else now):
            return None
        return session_id

    def csrf_for_session(self, session_id: str) -> str:
        return self.mac("csrf", session_id)

    def csrf_for_sign_in(self, nonce: str) -> str:
        return self.mac("login", nonce)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")  # one fixed width: the rows compare as text


def new_id() -> str:
    return secrets.token_urlsafe(32)


async def load_secret(engine: AsyncEngine) -> bytes:
    """The signing secret, made on first use. Two processes starting together agree on one: the
    insert of the second fails on the primary key and it reads the first's."""
    await ensure_schema(engine)
    query = select(staff_secrets.c.value).where(staff_secrets.c.name == _SECRET_NAME)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(staff_secrets).values(
                    name=_SECRET_NAME, value=secrets.token_hex(32),
                    created_at=_iso(datetime.now(timezone.utc))))
        except IntegrityError:
            pass
        async with engine.connect() as conn:
            row = (await conn.execute(query)).first()
    return bytes.fromhex(row[0])


class SessionStore:
    """The `staff_sessions` table: open, look up and close sessions."""

    def __init__(self, engine: AsyncEngine, lifetime: timedelta) -> None:
        self.engine = engine
        self.lifetime = lifetime

    async def open(self, user: str) -> tuple[str, int]:
        """A new session for `user`: (its id, when it expires in unix seconds). Expired rows go too."""
        now = datetime.now(timezone.utc)
        expires = now + self.lifetime
        session_id = new_id()
        async with self.engine.begin() as conn:
            await conn.execute(delete(staff_sessions).where(staff_sessions.c.expires_at < _iso(now)))
            await conn.execute(insert(staff_sessions).values(
                id_hash=_hash_id(session_id), user=user, created_at=_iso(now), expires_at=_iso(expires)))
        return session_id, int(expires.timestamp())

    async def user_of(self, session_id: str) -> str | None:
        """The account signed in as this session, if the session is open and the account still exists."""
        now = _iso(datetime.now(timezone.utc))
        query = (select(staff_sessions.c.user)
                 .join(staff_users, staff_users.c.name == staff_sessions.c.user)
                 .where(staff_sessions.c.id_hash == _hash_id(session_id), staff_sessions.c.expires_at > now))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return row[0] if row else None

    async def close(self, session_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(staff_sessions).where(staff_sessions.c.id_hash == _hash_id(session_id)))
