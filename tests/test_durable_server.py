"""The real server, a real SQLite file, a chat with feedback: the database goes read-only for a while
(chattr +i, which stops root too), then its file is deleted. Nothing is lost and nothing is stored
twice; the visitor is told when feedback could not be saved; the server never stops answering.

Hash embedder (the model is not what is under test): ~30 s.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import stop_server

from assistant.embedding import HashEmbedder
from assistant.index import build_index
from assistant.settings import Settings

from faultfs import chattr_works, read_only

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
QUESTIONS = ["What band do OT support workers start on?", "How many hours do they work?",
             "My email is visitor@example.org: what skills are needed?", "How much does a paramedic earn?",
             "Can I do an apprenticeship?"]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Chat:
    """One chat session as the browser speaks it (see benchmarks/load_test.py), plus feedback."""

    def __init__(self, base: str) -> None:
        self.base, self.session_id = base, str(uuid.uuid4())
        self.thread_id: str | None = None
        self.asked: list[tuple[str, str]] = []  # (user message id, assistant message id)

    async def __aenter__(self):
        import aiohttp
        import socketio

        self.http = aiohttp.ClientSession()
        self.events: asyncio.Queue = asyncio.Queue()
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("new_message", lambda data: self.events.put_nowait(("new_message", data)))
        self.sio.on("task_end", lambda data=None: self.events.put_nowait(("task_end", {})))
        from assistant.web.sessions import CLIENT_COOKIE

        async with self.http.post(f"{self.base}/set-session-cookie", json={"session_id": self.session_id}) as r:
            r.raise_for_status()
            issued = r.cookies.get(CLIENT_COOKIE)  # read from the reply: aiohttp's jar drops cookies of IP hosts
        cookies = f"{CLIENT_COOKIE}={issued.value}" if issued is not None else ""
        self.cookie_header = {"Cookie": cookies} if cookies else {}
        await self.sio.connect(self.base, socketio_path="/ws/socket.io", transports=["websocket"], wait_timeout=10,
                               headers={"Cookie": cookies} if cookies else {},
                               auth={"clientType": "webapp", "sessionId": self.session_id, "threadId": "",
                                     "userEnv": "{}", "chatProfile": ""})
        await self.sio.emit("connection_successful")
        await asyncio.sleep(0.3)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.sio.emit("clear_session")
        await self.sio.disconnect()
        await self.http.close()

    async def ask(self, question: str) -> str:
        while not self.events.empty():
            self.events.get_nowait()
        message_id = str(uuid.uuid4())
        await self.sio.emit("client_message", {"message": {
            "threadId": "", "id": message_id, "name": "User", "type": "user_message", "output": question,
            "createdAt": datetime.now(timezone.utc).isoformat(), "metadata": {}}, "fileReferences": []})
        answer = None
        async with asyncio.timeout(30):
            while True:
                kind, data = await self.events.get()
                if kind == "new_message" and data.get("type") == "assistant_message" and answer is None:
                    answer = data
                    self.thread_id = data.get("threadId") or self.thread_id
                elif kind == "task_end" and answer is not None:
                    break
        self.asked.append((message_id, answer["id"]))
        return answer["output"]

    async def feedback(self, message_id: str, value: int, comment: str) -> tuple[int, dict]:
        body = {"feedback": {"forId": message_id, "value": value, "comment": comment, "threadId": self.thread_id},
                "sessionId": self.session_id}
        async with self.http.put(f"{self.base}/feedback", json=body, headers=self.cookie_header) as r:
            return r.status, await r.json(content_type=None)


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_read_only_then_deleted_database_during_a_chat_loses_nothing(tmp_path: Path):
    root = Path(tempfile.mkdtemp(prefix="careers-durable-"))
    if not chattr_works(root):
        pytest.skip("chattr +i does not stop root from writing on this file system")
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=root / "index", embedder="hash")
    build_index(settings, HashEmbedder())
    (root / ".chainlit").mkdir()
    shutil.copy(REPO / ".chainlit" / "config.toml", root / ".chainlit" / "config.toml")
    db = root / "data" / "assistant.db"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREERS_") and k not in ("DATABASE_URL",)}
    env.update(CAREERS_INDEX_DIR=str(settings.index_dir), CAREERS_CORPUS_DIR=str(settings.corpus_dir),
               CAREERS_EMBEDDER="hash", CAREERS_DATABASE_URL=f"sqlite+aiosqlite:///{db}",
               CAREERS_RATE_PER_MINUTE="0", PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))
    log_path = root / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    spool = db.parent / "spool" / "pending.jsonl"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            return False

    async def chat() -> Chat:
        async with Chat(base) as c:
            assert "band 3" in await c.ask(QUESTIONS[0])
            assert (await c.feedback(c.asked[0][1], 1, "clear"))[0] == 200
            with read_only(db):
                assert await c.ask(QUESTIONS[1])  # answers go on while nothing can be stored
                await c.ask(QUESTIONS[2])
                status, body = await c.feedback(c.asked[2][1], 0, "did not answer, mail me at visitor@example.org")
                assert status >= 500 and "could not be saved" in body.get("detail", ""), (status, body)
                await asyncio.sleep(1)
                assert spool.exists()
            await c.ask(QUESTIONS[3])  # replays what waited, then stores this
            assert (await c.feedback(c.asked[3][1], 1, "thanks"))[0] == 200
            await asyncio.sleep(1)
            for suffix in ("", "-wal", "-shm"):  # deleted while serving
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            await c.ask(QUESTIONS[4])
            await asyncio.sleep(1)
            return c

    try:
        wait_for(healthy, 60, "/health")
        c = asyncio.run(chat())
        wait_for(lambda: not spool.exists(), 30, "the spool to be replayed")
        with sqlite3.connect(db) as conn:
            steps = conn.execute("select id, type, output from steps").fetchall()
            feedback = conn.execute('select "forId", value, comment from feedbacks order by value').fetchall()
            threads = conn.execute("select count(*) from threads").fetchone()[0]
        ids = [s[0] for s in steps]
        assert len(ids) == len(set(ids))
        for user_id, answer_id in c.asked:  # every question and answer stored, once
            assert user_id in ids and answer_id in ids
        assert sum(1 for s in steps if s[1] == "user_message") == len(QUESTIONS)
        assert sum(1 for s in steps if s[1] == "assistant_message") == len(QUESTIONS)
        assert threads == 1
        assert sorted(feedback) == sorted([(c.asked[0][1], 1, "clear"), (c.asked[3][1], 1, "thanks"),
                                           (c.asked[2][1], 0, "did not answer, mail me at [email]")])
        assert not any("visitor@example.org" in (s[2] or "") for s in steps)
        server_log = log_path.read_text()
        assert "A database write failed" in server_log and "Replayed" in server_log
        assert "was deleted while serving: recreated it from the copy" in server_log
        assert "visitor@example.org" not in server_log
        assert healthy()
    finally:
        subprocess.run(["chattr", "-R", "-i", str(root)], capture_output=True)
        stop_server(proc)
        log.close()
        shutil.rmtree(root, ignore_errors=True)
