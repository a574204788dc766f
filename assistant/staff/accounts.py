"""Staff accounts: made, removed and listed from the command line, checked at sign-in.

Passwords are stored as Argon2id hashes (argon2-cffi with its defaults, RFC 9106's second
recommended profile: 64 MiB of memory, 3 passes, 4 lanes; about 0.3 s a hash on a 2-core machine).
The hash string carries its own parameters and salt, so raising them later only needs
`needs_rehash`: the next successful sign-in stores a hash with the new ones. Checking a password is
CPU-bound, so the server runs it in a worker thread, never on the event loop the chat shares.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import AssistantError
from ..web.schema import staff_sessions, staff_users

# A name is typed at the sign-in form and shown in the audit log: short, printable, no spaces.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 10  # characters; with the throttle (throttle.py) a guessable password is what remains
MAX_PASSWORD = 1_000  # a password is typed; a longer "password" is a mistake or an attack on the hasher


class AccountError(AssistantError):
    """A staff account cannot be made or removed as asked (the message says what to do)."""


class StaffAccount(BaseModel):
    name: str
    created_at: datetime


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise AccountError(f"{name[:80]!r} is not a usable staff name: use 1 to 64 letters, digits, '.', '_', "
                           "'@' or '-', starting with a letter or digit (for example jo.bloggs).")
    return name


def check_password(password: str) -> str:
    if not password.strip():
        raise AccountError("The password is empty: type one of at least "
                           f"{MIN_PASSWORD} characters (a few unrelated words make a good one).")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password is {len(password)} characters long: use at least {MIN_PASSWORD} "
                           "(a few unrelated words make a good one).")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"The password is longer than {MAX_PASSWORD:,} characters: use a shorter one.")
    if any(not c.isprintable() for c in password):
        raise AccountError("The password holds control characters (a tab or an escape key?): type it again "
                           "using printable characters only.")
    return password


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Accounts:
    """The `staff_users` table through one async engine. `hasher`: tests pass a cheap one."""

    def __init__(self, engine: AsyncEngine, hasher: PasswordHasher | None = None) -> None:
        self.engine = engine
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def add(self, name: str, password: str) -> StaffAccount:
        check_name(name)
        hashed = await asyncio.to_thread(self.hasher.hash, check_password(password))
        account = StaffAccount(name=name, created_at=_now())
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(staff_users).values(
                    name=name, password_hash=hashed, created_at=account.created_at.isoformat()))
        except IntegrityError:
            raise AccountError(f"There is already a staff account called {name!r}: choose another name, or "
                               f"`careers-assistant staff remove {name}` first to replace it.") from None
        return account

    async def remove(self, name: str) -> None:
        """Delete the account and end its sessions at once (its audit rows stay: who did what)."""
        async with self.engine.begin() as conn:
            gone = (await conn.execute(delete(staff_users).where(staff_users.c.name == name))).rowcount
            await conn.execute(delete(staff_sessions).where(staff_sessions.c.user == name))
        if not gone:
            raise AccountError(f"There is no staff account called {name[:80]!r}: "
                               "`careers-assistant staff list` shows the accounts there are.")

    async def list(self) -> list[StaffAccount]:
        query = select(staff_users.c.name, staff_users.c.created_at).order_by(staff_users.c.name)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [StaffAccount.model_validate(dict(r)) for r in rows]

    async def exists(self, name: str) -> bool:
        async with self.engine.connect() as conn:
            found = await conn.execute(select(staff_users.c.name).where(staff_users.c.name == name))
            return found.first() is not None

    async def verify(self, name: str, password: str) -> bool:
        """True if `name` is an account and `password` is its password.

        An unknown name costs the same hash as a known one, so the time taken does not tell which
        names exist; so does an over-long password (refused after hashing, not before)."""
        if self._dummy is None:  # made before the first look-up, so not only unknown names pay for it
            self._dummy = await asyncio.to_thread(self.hasher.hash, "not any staff member's password")
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(staff_users.c.password_hash)
                                      .where(staff_users.c.name == name))).first()
        stored = self._dummy if row is None else row[0]
        try:
            ok = await asyncio.to_thread(self.hasher.verify, stored, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            ok = False
        ok = ok and row is not None and len(password) <= MAX_PASSWORD
        if ok and self.hasher.check_needs_rehash(stored):
            fresh = await asyncio.to_thread(self.hasher.hash, password)
            async with self.engine.begin() as conn:
                await conn.execute(update(staff_users).where(staff_users.c.name == name)
                                   .values(password_hash=fresh))
        return ok
