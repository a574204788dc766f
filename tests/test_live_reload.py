"""The real server picks up a rebuilt index while it answers: no restart, no error, never a mix.

A temp copy of the corpus and its real MiniLM index; `serve` on 127.0.0.1; questions fired in a loop
through /api/ask (and one chat session over socket.io) while a new page is added and
`python -m assistant build` runs in another process. Answers are deterministic, so every response
during the rebuild must be exactly the old server's answer or exactly the new one, although they come
from two answer worker processes, and from a new pool of them once the new index serves. ~60 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import load_test_module

from assistant.models import ANSWER_JSON_FIELDS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
NEW_PAGE = ("---\nid: test-board-bike-allowance\ntitle: Bike allowance for OT support workers\npublisher: Test Board\n"
            "url: https://example.org/test-board/bike\nlast_updated: 2026-01-10\n---\nBike allowance\n\n"
            "OT support workers in Test Town get a £999 bike allowance.\n")
NEW_DOC = "test-board-bike-allowance"
NEW_Q = "How much is the bike allowance for OT support workers in Test Town?"  # only the new page answers it
BAND_Q = "What band do OT support workers start on?"  # both indexes answer it



def ask(base: str, question: str, history: list | None = None) -> tuple[int, dict]:
    body = {"question": question} | ({"history": history} if history is not None else {})
    req = urllib.request.Request(f"{base}/api/ask", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as err:
        return err.code, {"body": err.read().decode(errors="replace")}
    except OSError as err:  # refused or reset: recorded, and fails the test below
        return -1, {"body": repr(err)}


def build(corpus: Path, index: Path) -> None:
    env = {**os.environ, "CAREERS_EMBEDDER": "minilm"}
    subprocess.run([sys.executable, "-m", "assistant", "build", "--quiet", "--corpus", str(corpus), "--index",
                    str(index)], cwd=REPO, env=env, check=True, timeout=300, capture_output=True)


def test_a_rebuild_is_served_without_a_restart_and_every_answer_is_old_or_new(tmp_path: Path):
    load_test = load_test_module()
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(REPO / "corpus", corpus)
    build(corpus, index)
    server = load_test.OwnServer(index, corpus, "minilm", extra_env={
        "CAREERS_RATE_PER_MINUTE": "100000", "CAREERS_RATE_BURST": "1000",  # limits on, out of the way
        "CAREERS_ANSWER_WORKERS": "2"})  # answers from a pool of workers: a new pool per index (tests/test_pool.py)
    try:
        server.wait_ready()
        base = server.base
        before = {q: ask(base, q) for q in (NEW_Q, BAND_Q)}
        assert before[NEW_Q][0] == 200 and before[NEW_Q][1]["abstained"] and not before[NEW_Q][1]["citations"]
        assert "band 3" in before[BAND_Q][1]["answer"]
        assert load_test.get_json(f"{base}/health")["documents"] == 5

        responses: list[tuple[float, str, int, dict]] = []
        stop = threading.Event()

        def fire():
            i = 0
            while not stop.is_set():
                question = (NEW_Q, BAND_Q)[i % 2]
                status, body = ask(base, question)
                responses.append((time.monotonic(), question, status, body))
                i += 1
                time.sleep(0.02)

        chat = load_test.Level(mode="chat", concurrency=1, questions_per_session=5)

        def chat_loop():  # sessions of five questions, one after another: connects happen during the swap too
            i = 0
            while not stop.is_set():
                asyncio.run(load_test.chat_session(base, 5, i, time.monotonic() + 30, chat, abandon=False,
                                                   think=0.05))
                i += 5

        threads = [threading.Thread(target=fire), threading.Thread(target=chat_loop)]
        for t in threads:
            t.start()
        try:
            (corpus / "test-board-bike.md").write_text(NEW_PAGE, encoding="utf-8")
            build_started = time.monotonic()
            build(corpus, index)
            build_ended = time.monotonic()
            deadline = build_ended + 15
            while time.monotonic() < deadline:  # the watcher looks once a second
                if any(q == NEW_Q and b.get("citations") for _, q, _, b in responses[-4:]):
                    break
                time.sleep(0.2)
            time.sleep(1.0)  # a few more answers on the new index
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        server_alive = server.proc.poll() is None
        health = load_test.get_json(f"{base}/health")
    finally:
        log = server.log()
        server.stop()
        server.cleanup()

    assert server_alive, "the server must keep running: no restart"
    after = {q: next(b for _, question, _, b in reversed(responses) if question == q) for q in (NEW_Q, BAND_Q)}
    assert {c["doc_id"] for c in after[NEW_Q]["citations"]} == {NEW_DOC} and "£999" in after[NEW_Q]["answer"]
    assert health["documents"] == 6

    during = [r for r in responses if build_started <= r[0] <= build_ended]
    first_new = next(t for t, q, _, b in responses if q == NEW_Q and b.get("citations"))
    print(f"\n{len(responses)} API answers, {len(during)} during the {build_ended - build_started:.1f} s build; "
          f"the new page was first cited {first_new - build_ended:+.2f} s from the build process exiting; "
          f"chat: {len(chat.latencies_ms)} answers, {chat.errors} errors")
    assert len(during) >= 20, f"only {len(during)} questions were answered during the build"
    assert all(status == 200 for _, _, status, _ in responses), [r for r in responses if r[2] != 200][:3]
    switched = False
    for _, question, _, body in responses:
        assert set(body) == ANSWER_JSON_FIELDS and not body["error"]
        old, new = body == before[question][1], body == after[question]
        assert old or new, f"an answer from neither index (a mix?): {body['answer'][:200]}"
        if new and not old:
            switched = True
        assert not (switched and old and not new), "an old answer after the new index was serving"
    assert switched
    assert "Serving the index built" in log and "Traceback" not in log and " ERROR " not in log
    assert chat.errors == 0 and len(chat.latencies_ms) >= 20, (chat.errors, chat.error_kinds)
