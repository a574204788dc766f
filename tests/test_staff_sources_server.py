"""Done-when of the Sources page: an adviser uploads a page about an occupation the corpus lacks, watches
it build, and the real server's chat answers about it from that page. ~60 s with the real model.

A temp copy of the corpus and its real MiniLM index; `serve` on 127.0.0.1 (live reload every second).
The upload goes through the sources routes (with the test session middleware of test_staff_sources, as
the sign-in is not part of this page), whose background build is the real `python -m assistant build`
child process; the question goes to the real server's /api/ask.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import load_test_module
from test_live_reload import ask, build
from test_staff_sources import Site

from assistant.index import read_manifest
from assistant.settings import Settings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PAGE = ("---\nid: test-board-lighthouse-keeper\ntitle: Lighthouse keeper (job profile)\npublisher: Test Board\n"
        "url: https://example.org/test-board/lighthouse-keeper\nlast_updated: 2026-02-01\n"
        "occupation: lighthouse keeper\naliases: [lighthouse attendant]\n---\nLighthouse keeper\n\n"
        "Salary\n\nLighthouse keepers in Test Town earn £31,500 a year.\n\n"
        "Working hours\n\nLighthouse keepers work 42 hours a week, including night shifts.\n")
NEW_DOC = "test-board-lighthouse-keeper"
QUESTION = "How much do lighthouse keepers earn?"


def test_an_uploaded_page_is_built_in_the_background_and_the_chat_answers_from_it(tmp_path: Path):
    load_test = load_test_module()
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(REPO / "corpus", corpus)
    build(corpus, index)
    settings = Settings(corpus_dir=corpus, index_dir=index, embedder="minilm")
    site = Site(settings, read_manifest(index).model_name)
    server = load_test.OwnServer(index, corpus, "minilm")
    try:
        server.wait_ready()
        status, before = ask(server.base, QUESTION)
        assert status == 200 and before["abstained"] and not before["citations"]

        upload = site.upload("lighthouse-keeper.md", PAGE)
        assert upload.status_code == 303, upload.text[-2000:]
        seen: list[str] = []  # what the adviser's page showed while it built
        started = time.monotonic()
        while True:
            page = site.client.get("/staff/sources").text
            seen.append(page)
            if "Building" not in page:
                break
            assert time.monotonic() - started < 240, "the build took too long"
            time.sleep(0.5)
        built = time.monotonic()
        assert "<strong>Built</strong>" in seen[-1] and "Indexed 6 documents" in seen[-1], seen[-1][-3000:]
        assert any('http-equiv="refresh"' in p and "Building" in p for p in seen)

        deadline = time.monotonic() + 30  # the server's watcher looks once a second
        while time.monotonic() < deadline:
            status, after = ask(server.base, QUESTION)
            if after.get("citations"):
                break
            time.sleep(0.5)
        switched = time.monotonic() - built
        health = load_test.get_json(f"{server.base}/health")
        alive = server.proc.poll() is None
    finally:
        log = server.log()
        server.stop()
        server.cleanup()

    print(f"\nbuild watched over {len(seen)} page views, {built - started:.1f} s; the chat cited the new page "
          f"{switched:.1f} s after the build ended")
    assert alive and status == 200, log[-3000:]
    assert {c["doc_id"] for c in after["citations"]} == {NEW_DOC}, json.dumps(after)[:2000]
    assert "£31,500" in after["answer"] and not after["abstained"]
    assert health["documents"] == 6
    assert [(u, a) for u, a, _ in site.audit] == [("ada", "upload"), ("ada", "rebuild")]
    assert "Traceback" not in log
