"""No silent loss: writes a real SQLite database refuses are spooled, reported, and replayed exactly
once when it works again; a deleted database file is recreated with what the server still held."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.web.durable import Durable, DatabaseUnwritable, not_stored, prepare_database, reset_not_stored
from assistant.web.settings import WebSettings

from faultfs import chattr_works, fill, read_only, small_tmpfs

REPO = Path(__file__).resolve().parents[1]
STEP = ('INSERT INTO steps ("id", "name", "type", "threadId", "streaming", "output") '
        'VALUES (:id, :name, :type, :threadId, :streaming, :output) ON CONFLICT (id) DO UPDATE SET "output" = :output')
UNANSWERED = ("INSERT INTO unanswered (question, asked_at, reason, channel) "
              "VALUES (:question, :asked_at, :reason, :channel)")


def step(i: int, output: str = "") -> dict:
    return {"id": f"s{i}", "name": "User", "type": "user_message", "threadId": "t1", "streaming": False,
            "output": output or f"question {i}"}


@pytest.fixture
def web(tmp_path: Path) -> WebSettings:
    return WebSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/data/assistant.db",
                       spool_dir=tmp_path / "spool", spool_retry_seconds=0.05)


@pytest.fixture
def needs_chattr(tmp_path: Path):
    if not chattr_works(tmp_path):
        pytest.skip("chattr +i does not stop root from writing on this file system")


def rows(web: WebSettings, sql: str) -> list[tuple]:
    with sqlite3.connect(web.sqlite_path()) as db:
        return db.execute(sql).fetchall()


async def write(durable: Durable, query: str, params: dict) -> bool:
    """One write as the data layer makes it; True when it was stored (not spooled)."""
    reset_not_stored()
    await durable.execute(query, params)
    return not not_stored()


def test_a_read_only_database_spools_and_replays_every_write_once(web, needs_chattr, caplog):
    async def run():
        await prepare_database(web)
        durable = Durable(web)
        durable.open()
        assert await write(durable, STEP, step(0))
        with read_only(web.sqlite_path()):
            with caplog.at_level(logging.ERROR):
                stored = [await write(durable, STEP, step(i)) for i in (1, 2)]
                stored.append(await write(durable, STEP, step(1, "question 1, answered")))  # an update
                stored.append(await write(durable, UNANSWERED, {"question": "pay for paramedics?", "channel": "chat",
                                                                "asked_at": "2026-01-01", "reason": None}))
            assert stored == [False] * 4
            assert len(durable.spool.pending) == 4 and durable.spool.path.exists()
            lines = durable.spool.path.read_text().splitlines()
            assert len(lines) == 4 and json.loads(lines[0])["params"]["id"] == "s1"
            assert oct(durable.spool.path.stat().st_mode & 0o777) == "0o600"
            assert "A database write failed" in caplog.text and "insert steps id=s1" in caplog.text
            assert "paramedics" not in caplog.text  # the log names the row, not what the visitor wrote
            await durable.flush()  # still read-only: nothing replayed, nothing lost
            assert len(durable.spool.pending) == 4
        # The next write replays what waits first, in order, then itself.
        assert await write(durable, STEP, step(3))
        assert durable.spool.pending == [] and not durable.spool.path.exists()
        await durable.close()

    asyncio.run(run())
    assert rows(web, "select id, output from steps order by id") == [
        ("s0", "question 0"), ("s1", "question 1, answered"), ("s2", "question 2"), ("s3", "question 3")]
    assert rows(web, "select question from unanswered") == [("pay for paramedics?",)]


def test_a_spool_replayed_twice_stores_each_write_once(web, needs_chattr):
    """The server stopping between replaying and forgetting the spool must not store a row twice
    (the unanswered insert has no natural key: only the replay ledger prevents a duplicate)."""
    async def run():
        await prepare_database(web)
        durable = Durable(web)
        durable.open()
        assert await write(durable, STEP, step(0))
        with read_only(web.sqlite_path()):
            await write(durable, UNANSWERED, {"question": "q", "channel": "api", "asked_at": "x", "reason": None})
        saved = durable.spool.path.read_text()
        await durable.flush()
        assert durable.spool.pending == []
        await durable.close()
        durable.spool.path.write_text(saved)  # as if the rewrite had not happened
        again = Durable(web)
        again.open()  # a restart reads the spool the earlier run left
        assert len(again.spool.pending) == 1
        await again.flush()
        assert again.spool.pending == []
        await again.close()

    asyncio.run(run())
    assert rows(web, "select count(*) from unanswered") == [(1,)]


def test_the_background_task_replays_without_a_new_write(web, needs_chattr):
    async def run():
        await prepare_database(web)
        durable = Durable(web)
        durable.open()
        durable.start()
        with read_only(web.sqlite_path()):
            await write(durable, STEP, step(1))
            await asyncio.sleep(0.2)
            assert len(durable.spool.pending) == 1
        for _ in range(100):
            if not durable.spool.pending:
                break
            await asyncio.sleep(0.05)
        await durable.close()
        return durable.spool.pending

    assert asyncio.run(run()) == []
    assert rows(web, "select id from steps") == [("s1",)]


def test_a_write_a_working_database_refuses_is_set_aside_not_retried_forever(web, needs_chattr, caplog):
    async def run():
        await prepare_database(web)
        durable = Durable(web)
        durable.open()
        with read_only(web.sqlite_path()):
            await write(durable, "INSERT INTO steps (no_such_column) VALUES (1)", {})
            await write(durable, STEP, step(1))
        with caplog.at_level(logging.ERROR):
            await durable.flush()
        await durable.close()
        return durable

    durable = asyncio.run(run())
    assert durable.spool.pending == []
    assert "refused by the database as invalid" in caplog.text
    assert "no_such_column" in durable.spool.rejected_path.read_text()
    assert rows(web, "select id from steps") == [("s1",)]


def test_a_deleted_database_file_is_recreated_with_its_rows(web, caplog):
    async def run():
        await prepare_database(web)
        durable = Durable(web)
        durable.open()
        assert await write(durable, STEP, step(1))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{web.sqlite_path()}{suffix}").unlink(missing_ok=True)
        with caplog.at_level(logging.ERROR):
            assert await write(durable, STEP, step(2))
        await durable.close()

    asyncio.run(run())
    assert "was deleted while serving: recreated it from the copy" in caplog.text
    assert rows(web, "select id from steps order by id") == [("s1",), ("s2",)]
    assert ("feedbacks",) in rows(web, "select name from sqlite_master where type = 'table'")


def test_a_full_disk_spools_and_replays(tmp_path: Path, caplog):
    data = tmp_path / "data"
    with small_tmpfs(data, size_kib=4096) as mounted:
        if not mounted:
            pytest.skip("mounting a tmpfs is not allowed here")
        web = WebSettings(database_url=f"sqlite+aiosqlite:///{data}/assistant.db", spool_dir=tmp_path / "spool")

        async def run():
            await prepare_database(web)
            durable = Durable(web)
            durable.open()
            assert await write(durable, STEP, step(0))
            filler = fill(data)
            with caplog.at_level(logging.ERROR):
                stored = [await write(durable, STEP, step(i, "x" * 4_000)) for i in range(1, 40)]
            assert not all(stored)  # the disk filled up: some writes were spooled, none claimed
            assert "full" in caplog.text
            filler.unlink()
            await durable.flush()
            assert durable.spool.pending == []
            await durable.close()

        asyncio.run(run())
        assert rows(web, "select count(*) from steps") == [(40,)]


def test_start_refuses_a_read_only_database(web, needs_chattr):
    asyncio.run(prepare_database(web))
    with read_only(web.sqlite_path()):
        with pytest.raises(DatabaseUnwritable, match=r"cannot be written .*writable.*CAREERS_DATABASE_URL"):
            asyncio.run(prepare_database(web))


def test_serve_exits_2_with_one_line_on_an_unwritable_database_or_spool(tmp_path: Path, settings, built,
                                                                     needs_chattr):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREERS_")}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]), CAREERS_EMBEDDER="hash",
               CAREERS_INDEX_DIR=str(settings.index_dir), CAREERS_CORPUS_DIR=str(settings.corpus_dir),
               CAREERS_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/data/assistant.db")

    def serve(**extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "assistant", "serve", "--port", "1"], cwd=tmp_path,
                              env={**env, **extra}, capture_output=True, text=True, timeout=60)

    web = WebSettings(database_url=env["CAREERS_DATABASE_URL"])
    asyncio.run(prepare_database(web))
    with read_only(web.sqlite_path()):
        result = serve()
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("careers-assistant:")] == [
        line for line in result.stderr.splitlines() if "cannot be written" in line]
    assert "careers-assistant: The database cannot be written" in result.stderr
    spool = tmp_path / "frozen-spool"
    spool.mkdir()
    with read_only(spool / "none"):  # freezes the folder itself
        result = serve(CAREERS_SPOOL_DIR=str(spool / "sub"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "careers-assistant: The spool folder" in result.stderr and "CAREERS_SPOOL_DIR" in result.stderr


def test_a_locked_database_spools_and_replays(web, monkeypatch):
    """Another process holding SQLite's write lock past the busy timeout (shortened here from 30 s)."""
    import assistant.web.store as store

    monkeypatch.setattr(store, "SQLITE_BUSY_TIMEOUT_MS", 100)

    async def run():
        await prepare_database(web)
        durable = Durable(web)
        durable.open()
        holder = sqlite3.connect(web.sqlite_path(), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            assert not await write(durable, STEP, step(1))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert len(durable.spool.pending) == 1
        await durable.flush()
        await durable.close()
        return durable.spool.pending

    assert asyncio.run(run()) == []
    assert rows(web, "select id from steps") == [("s1",)]


@pytest.mark.parametrize("command", [["unanswered"], ["purge", "--dry-run"]])
def test_cli_commands_on_an_unusable_database_say_so_in_one_line(tmp_path: Path, web, needs_chattr, command):
    asyncio.run(prepare_database(web))
    for suffix in ("-wal", "-shm"):  # as after a clean shutdown: opening needs to make them again
        Path(f"{web.sqlite_path()}{suffix}").unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREERS_")}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]),
               CAREERS_DATABASE_URL=web.database_url)
    with read_only(web.sqlite_path()):
        result = subprocess.run([sys.executable, "-m", "assistant", *command], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("careers-assistant: The database cannot be used")
    assert len(result.stderr.strip().splitlines()) == 1
