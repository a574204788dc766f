"""`careers-assistant purge --older-than DAYS` on a temp SQLite database, fast."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from assistant.web.retention import cutoff_text, purge
from assistant.web.settings import WebSettings

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
OLD, RECENT = "2026-01-15T10:00:00.000Z", "2026-05-20T10:00:00.000Z"  # 137 and 12 days before NOW


@pytest.fixture
def web(tmp_path: Path) -> WebSettings:
    return WebSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/db/assistant.db")


def fill(web: WebSettings) -> None:
    from assistant.web.schema import ensure_schema
    from assistant.web.store import make_engine

    async def schema():
        engine = make_engine(web)
        await ensure_schema(engine)
        await engine.dispose()

    asyncio.run(schema())
    with sqlite3.connect(web.sqlite_path()) as db:
        for thread, when in (("t-old", OLD), ("t-new", RECENT)):
            db.execute('insert into threads (id, "createdAt", name) values (?, ?, ?)', (thread, when, "q"))
            for kind in ("user", "run", "answer"):
                db.execute('insert into steps (id, name, type, "threadId", streaming, "createdAt", output) '
                           "values (?, ?, ?, ?, 0, ?, 'text')", (f"{thread}-{kind}", kind, kind, thread, when))
            db.execute('insert into feedbacks (id, "forId", "threadId", value, comment) values (?, ?, ?, 1, ?)',
                       (f"f-{thread}", f"{thread}-run", thread, "ok"))
            db.execute('insert into elements (id, "threadId", name, "forId") values (?, ?, ?, ?)',
                       (f"e-{thread}", thread, "[1]", f"{thread}-answer"))
        # A step whose thread row was never written (Chainlit writes both from background tasks).
        db.execute('insert into steps (id, name, type, "threadId", streaming, "createdAt") '
                   "values ('orphan', 'x', 'run', 't-missing', 0, ?)", (OLD,))
        db.execute('insert into feedbacks (id, "forId", "threadId", value) values (?, ?, ?, 0)',
                   ("f-orphan", "orphan", "t-missing"))
        for when in ("2026-01-15T10:00:00.000000+00:00", "2026-05-31T10:00:00.000000+00:00"):
            db.execute("insert into unanswered (question, asked_at, channel) values (?, ?, 'chat')",
                       (f"asked {when[:10]}", when))
            db.execute("insert into questions (question, asked_at, channel, outcome) values (?, ?, 'chat', 'answer')",
                       (f"asked {when[:10]}", when))


def ids(web: WebSettings, table: str, column: str = "id") -> set:
    with sqlite3.connect(web.sqlite_path()) as db:
        return {r[0] for r in db.execute(f'select "{column}" from {table}')}


def run_purge(web: WebSettings, days: float, dry_run: bool = False) -> dict[str, int]:
    from assistant.web.store import make_engine

    async def go():
        engine = make_engine(web)
        try:
            return await purge(engine, days, now=NOW, dry_run=dry_run)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_purge_deletes_old_conversations_whole_and_old_unanswered_questions(web):
    fill(web)
    counts = run_purge(web, 90)
    assert counts == {"feedbacks": 2, "elements": 1, "steps": 4, "threads": 1, "users": 0, "unanswered": 1,
                      "questions": 1}
    assert ids(web, "threads") == {"t-new"}
    assert ids(web, "steps") == {"t-new-user", "t-new-run", "t-new-answer"}
    assert ids(web, "feedbacks") == {"f-t-new"} and ids(web, "elements") == {"e-t-new"}
    assert ids(web, "unanswered", "question") == {"asked 2026-05-31"}
    assert ids(web, "questions", "question") == {"asked 2026-05-31"}


def test_dry_run_counts_but_deletes_nothing(web):
    fill(web)
    assert run_purge(web, 90, dry_run=True)["steps"] == 4
    assert len(ids(web, "steps")) == 7 and len(ids(web, "unanswered", "question")) == 2


def test_a_short_retention_deletes_everything_older(web):
    fill(web)
    assert run_purge(web, 2)["threads"] == 2
    assert ids(web, "steps") == set() and ids(web, "unanswered", "question") == {"asked 2026-05-31"}
    assert run_purge(web, 1)["unanswered"] == 1  # asked 26 hours before NOW
    assert ids(web, "questions", "question") == set()
    with pytest.raises(ValueError):
        run_purge(web, -1)


def test_cutoff_is_utc_iso_text_that_sorts_against_stored_times():
    assert cutoff_text(90, NOW) == "2026-03-03T12:00:00"
    assert OLD < cutoff_text(90, NOW) < RECENT
    assert "2026-03-03T12:00:00.000000+00:00" >= cutoff_text(90, NOW)  # the same second is kept


def test_the_purge_command(web, monkeypatch, capsys):
    from assistant.cli import main

    fill(web)
    monkeypatch.setenv("CAREERS_DATABASE_URL", web.database_url)
    assert main(["purge", "--older-than", "36500", "--dry-run"]) == 0
    assert "Would delete records older than 36500 days" in capsys.readouterr().out
    assert main(["purge"]) == 0  # default 90 days, counted from today: every row above is older
    out = capsys.readouterr().out
    assert out.startswith("Deleted records older than 90 days") and "2 threads" in out
    assert ids(web, "threads") == set()
