"""`careers-assistant staff add NAME | remove NAME | list`: staff accounts, from the server's shell.

A password is never an argument or an environment variable (both show in `ps`, shell history and
/proc). At a terminal it is typed twice, unechoed; otherwise it is the first line of standard input,
so a script can pipe it in: `printf '%s\\n' "$PW" | careers-assistant staff add jo`.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import TextIO

from ..web.settings import WebSettings
from .accounts import AccountError, Accounts, check_name, check_password


def read_password(stdin: TextIO, prompt=getpass.getpass) -> str:
    """The new password: typed twice at a terminal, or the first line of piped standard input."""
    if stdin.isatty():
        first = prompt("New password: ")
        check_password(first)  # say what is wrong before asking for it again
        if prompt("Type it again: ") != first:
            raise AccountError("The two passwords differ: run the command again and type the same one twice.")
        return first
    line = stdin.readline()
    if not line:
        raise AccountError("No password on standard input: pipe one line holding it, or run the command "
                           "at a terminal to type it.")
    return check_password(line.removesuffix("\n").removesuffix("\r"))


async def _run(web: WebSettings, action: str, name: str | None, password: str | None) -> list[str]:
    from ..web.schema import ensure_schema
    from ..web.store import make_engine

    try:
        engine = make_engine(web)
    except OSError as err:  # the SQLite file's folder cannot be made
        raise AccountError(f"The database folder {err.filename} cannot be made ({err.strerror}): check "
                           "CAREERS_DATABASE_URL, and use the same one as `careers-assistant serve`.") from None
    try:
        await ensure_schema(engine)
        accounts = Accounts(engine)
        if action == "add":
            assert name is not None and password is not None
            await accounts.add(name, password)
            return [f"Added staff account {name!r}: sign in at /staff/login on the server."]
        if action == "remove":
            assert name is not None
            await accounts.remove(name)
            return [f"Removed staff account {name!r}; its sessions have ended."]
        rows = await accounts.list()
        return [f"{a.name}  (added {a.created_at:%Y-%m-%d %H:%M} UTC)" for a in rows] or \
            ["No staff accounts yet: add one with `careers-assistant staff add NAME`."]
    finally:
        await engine.dispose()


def staff_command(web: WebSettings, action: str, name: str | None, stdin: TextIO | None = None) -> int:
    if name is not None:
        check_name(name)  # before asking for a password that would then be wasted
    password = read_password(stdin or sys.stdin) if action == "add" else None
    lines = asyncio.run(_run(web, action, name, password))
    stream = sys.stderr if lines and lines[0].startswith("No staff") else sys.stdout
    for line in lines:
        print(line, file=stream)
    return 0
