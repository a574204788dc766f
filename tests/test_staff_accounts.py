"""Fast, exact tests of staff accounts: Argon2id hashing, password rules, and `careers-assistant staff`.

Argon2 runs with cheap parameters where only the format and the checks matter (CHEAP); the CLI tests
use the real ones. Every database is a tmp SQLite file.
"""

from __future__ import annotations

import asyncio
import io
import re
import sqlite3
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from assistant.staff.accounts import AccountError, Accounts, check_password
from assistant.staff.commands import read_password
from assistant.web.schema import ensure_schema
from assistant.web.settings import WebSettings
from assistant.web.store import make_engine

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery staple"


def web_for(tmp_path: Path, **kw) -> WebSettings:
    return WebSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'db' / 'assistant.db'}", **kw)


def run(coro):
    return asyncio.run(coro)


async def _with_accounts(web: WebSettings, action, hasher=CHEAP):
    engine = make_engine(web)
    try:
        await ensure_schema(engine)
        return await action(Accounts(engine, hasher))
    finally:
        await engine.dispose()


# --- accounts and hashing -------------------------------------------------------------------------

def test_passwords_are_stored_as_argon2id_and_checked(tmp_path):
    web = web_for(tmp_path)

    async def scenario(accounts: Accounts):
        await accounts.add("jo.bloggs", PASSWORD)
        return [await accounts.verify("jo.bloggs", PASSWORD), await accounts.verify("jo.bloggs", PASSWORD + "x"),
                await accounts.verify("Jo.Bloggs", PASSWORD), await accounts.verify("nobody", PASSWORD),
                await accounts.verify("jo.bloggs", "")]

    assert run(_with_accounts(web, scenario)) == [True, False, False, False, False]
    stored = sqlite3.connect(web.sqlite_path()).execute("SELECT password_hash FROM staff_users").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_a_hash_with_old_parameters_is_upgraded_at_the_next_sign_in(tmp_path):
    web = web_for(tmp_path)
    run(_with_accounts(web, lambda a: a.add("jo", PASSWORD)))
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    assert run(_with_accounts(web, lambda a: a.verify("jo", PASSWORD), hasher=stronger))
    stored = sqlite3.connect(web.sqlite_path()).execute("SELECT password_hash FROM staff_users").fetchone()[0]
    assert "m=16,t=2,p=1" in stored


@pytest.mark.parametrize("bad, why", [("", "empty"), ("   ", "empty"), ("short", "5 characters"),
                                      ("x" * 1001, "longer than"), ("tab\there12345", "control")])
def test_unusable_passwords_are_refused_with_the_reason(bad, why):
    with pytest.raises(AccountError, match=why):
        check_password(bad)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_at_a_terminal_the_password_is_asked_twice_and_must_match():
    answers = iter([PASSWORD, PASSWORD])
    assert read_password(_Tty(), prompt=lambda _: next(answers)) == PASSWORD
    answers = iter([PASSWORD, PASSWORD + "!"])
    with pytest.raises(AccountError, match="differ"):
        read_password(_Tty(), prompt=lambda _: next(answers))
    with pytest.raises(AccountError, match="empty"):
        read_password(_Tty(), prompt=lambda _: "")


def test_piped_password_is_the_first_line_only():
    assert read_password(io.StringIO(PASSWORD + "\r\nsecond line\n")) == PASSWORD
    with pytest.raises(AccountError, match="No password"):
        read_password(io.StringIO(""))
    with pytest.raises(AccountError, match="empty"):
        read_password(io.StringIO("\n"))


def test_cli_adds_lists_and_removes_accounts(tmp_path, monkeypatch, capsys):
    from assistant.cli import main

    monkeypatch.setenv("CAREERS_DATABASE_URL", web_for(tmp_path).database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["staff", "add", "jo"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["staff", "add", "jo"]) == 2
    assert "already a staff account called 'jo'" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["staff", "add", "ann"]) == 2
    assert "The password is empty" in capsys.readouterr().err
    assert main(["staff", "add", "bad name"]) == 2
    assert main(["staff", "list"]) == 0
    out = capsys.readouterr()
    assert re.fullmatch(r"jo  \(added \d{4}-\d\d-\d\d \d\d:\d\d UTC\)\n", out.out)
    assert main(["staff", "remove", "nobody"]) == 2
    assert "no staff account called 'nobody'" in capsys.readouterr().err
    assert main(["staff", "remove", "jo"]) == 0
    assert main(["staff", "list"]) == 0
    assert "No staff accounts yet" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # no way to give the password as an argument
        main(["staff", "add", "jo", PASSWORD])


def test_cli_says_when_the_database_cannot_be_used(tmp_path, monkeypatch, capsys):
    from assistant.cli import main

    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv("CAREERS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'assistant.db'}")
    assert main(["staff", "list"]) == 2
    err = capsys.readouterr().err
    assert "cannot be made" in err and "CAREERS_DATABASE_URL" in err and "Traceback" not in err


def _in_a_terminal(args: list[str], lines: list[str], env: dict) -> tuple[int, str]:
    """Run the CLI with a real pseudo-terminal as its controlling terminal, typing `lines` at its prompts."""
    import os
    import pty
    import sys
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        os.execve(sys.executable, [sys.executable, "-m", "assistant", *args], env)
    import select

    out, since, pending, deadline = b"", b"", list(lines), time.monotonic() + 60
    while time.monotonic() < deadline:
        if not select.select([fd], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the child has exited and closed the terminal
            break
        if not chunk:
            break
        out += chunk
        since += chunk
        # Only at a new prompt: getpass discards what was typed ahead (TCSAFLUSH) when it restores echo.
        if pending and since.rstrip().endswith(b":"):
            os.write(fd, pending.pop(0).encode() + b"\n")
            since = b""
    os.close(fd)
    for _ in range(100):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), out.decode(errors="replace")
        time.sleep(0.1)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError(f"the command did not finish; it wrote {out!r}")


def test_at_a_real_terminal_the_password_is_typed_twice_unechoed(tmp_path):
    import os

    env = {**os.environ, "CAREERS_DATABASE_URL": web_for(tmp_path).database_url,
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    code, out = _in_a_terminal(["staff", "add", "jo"], [PASSWORD, PASSWORD], env)
    assert code == 0 and "New password:" in out and "Type it again:" in out and "Added staff account 'jo'" in out
    assert PASSWORD not in out  # not echoed
    code, out = _in_a_terminal(["staff", "add", "ann"], [PASSWORD, PASSWORD + "!"], env)
    assert code == 2 and "The two passwords differ" in out
