"""A real server with two answer workers: its answers are the server process's answers, and a worker
killed under it is replaced without a failed question.

The seed corpus with its real MiniLM index, `serve` on 127.0.0.1 with CAREERS_ANSWER_WORKERS=2. The
same questions (a chat conversation over socket.io, API questions with and without history) are
answered in this test process by an in-process AnswerService on the same index: the API JSON and
the chat message text must be identical. (A rebuild while two workers answer is
tests/test_live_reload.py, which runs its server with two workers.) ~60 s.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import load_test_module
from test_live_reload import ask

from assistant.models import Facet, Turn

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
CHAT = ["What band do OT support workers start on?", "and how many hours do they work?",
        "How much do OT support workers earn?", "How much does a paramedic earn?", "and the skills?",
        "support workers", "What qualifications do I need?"]
API = [("How much do OT support workers earn?", []),
       ("and how many hours?", ["What band do OT support workers start on?"]),
       ("and the pay?", [{"question": "what hours?", "facet": "hours", "subject": "ot-support-worker"},
                         {"question": "skills?", "facet": "skills", "subject": "<script>made-up</script>"}]),
       ("What does an occupational therapist do?", [])]


async def chat_texts(base: str, questions: list[str]) -> list[str]:
    """The assistant message each question gets in one chat session, as the browser receives it."""
    lt = load_test_module()
    session_id = str(uuid.uuid4())
    events: asyncio.Queue = asyncio.Queue()
    _, token = await lt.issue_cookie(base, session_id)
    sio = await lt.connect_socket(base, session_id, token, events)
    await sio.emit("connection_successful")
    texts = []
    try:
        for question in questions:
            while not events.empty():
                events.get_nowait()
            message = {"threadId": "", "id": str(uuid.uuid4()), "name": "User", "type": "user_message",
                       "output": question, "createdAt": datetime.now(timezone.utc).isoformat(), "metadata": {}}
            await sio.emit("client_message", {"message": message, "fileReferences": []})
            answer = None
            async with asyncio.timeout(30):
                while True:
                    kind, data = await events.get()
                    if kind == "new_message" and data.get("type") == "assistant_message" and answer is None:
                        answer = data.get("output")
                    elif kind == "task_end" and answer is not None:
                        break
            texts.append(answer)
    finally:
        await sio.emit("clear_session")
        await sio.disconnect()
    return texts


def in_process(index: Path, corpus: Path) -> tuple[list[str], list[dict]]:
    """The same questions answered in this process, as a one-worker server answers them."""
    from assistant.pipeline import Assistant
    from assistant.settings import Settings
    from assistant.web.present import reply_for
    from assistant.web.service import AnswerService

    service = AnswerService(Assistant(Settings(corpus_dir=corpus, index_dir=index, embedder="minilm")))

    async def run():
        conversation = service.conversation()
        chat = [reply_for(await service.converse(conversation, q, "chat")).content for q in CHAT]
        api = []
        for question, history in API:
            turns = [Turn(**{**h, "facet": Facet(h["facet"])}) if isinstance(h, dict) else h for h in history]
            api.append((await service.converse(service.conversation(), question, "api", history=turns)).public())
        return chat, api

    return asyncio.run(run())


def worker_pids(server_pid: int) -> list[int]:
    """The server's answer workers: its children started by multiprocessing's spawn (not its resource
    tracker), read from /proc."""
    children = [int(pid) for task in Path(f"/proc/{server_pid}/task").iterdir()
                for pid in (task / "children").read_text().split()]
    return sorted(pid for pid in children
                  if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes())


def test_two_workers_answer_as_the_server_process_does_and_a_killed_worker_is_replaced(tmp_path: Path):
    import json

    lt = load_test_module()
    corpus, index = REPO / "corpus", tmp_path / "index"
    subprocess.run([sys.executable, "-m", "assistant", "build", "--quiet", "--corpus", str(corpus), "--index",
                    str(index)], cwd=REPO, env={**os.environ, "CAREERS_EMBEDDER": "minilm"}, check=True,
                   timeout=300, capture_output=True)
    server = lt.OwnServer(index, corpus, "minilm", extra_env={"CAREERS_ANSWER_WORKERS": "2"})
    try:
        server.wait_ready()
        pids = worker_pids(server.pid)
        assert len(pids) == 2 and server.pid not in pids
        chat = asyncio.run(chat_texts(server.base, CHAT))
        api = []
        for question, history in API:
            status, body = ask(server.base, question, history)
            assert status == 200, body
            api.append(body)

        os.kill(pids[0], signal.SIGKILL)  # idle: no question is lost, and a new worker takes its place
        after_kill = [ask(server.base, CHAT[0]) for _ in range(6)]
        deadline = time.monotonic() + 60
        while f"replaces pid {pids[0]}" not in server.log():
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.5)
        replacement = int(re.search(rf"Answer worker pid (\d+) replaces pid {pids[0]}", server.log()).group(1))
        assert Path(f"/proc/{replacement}").exists() and replacement not in pids
        again = [ask(server.base, CHAT[0]) for _ in range(4)]
        log = server.log()
    finally:
        server.stop()
        server.cleanup()
    expected_chat, expected_api = in_process(index, corpus)
    assert chat == expected_chat
    assert api == json.loads(json.dumps(expected_api))
    assert all(status == 200 and "band 3" in body["answer"] for status, body in after_kill + again)
    assert "Traceback" not in log
