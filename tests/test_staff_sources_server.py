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
from conftest import load_test_module, loopback_only
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


def test_in_a_real_browser_an_adviser_watches_the_build_and_a_hostile_page_stays_inert(settings, built, tmp_path):
    """The forms, the multipart upload and the self-refreshing build box in Chromium, with no script and
    no CSP (escaping alone must hold): a page full of markup uploads, builds, and nothing of it runs."""
    import threading

    import uvicorn
    from test_staff_sources import HOSTILE
    from test_web_browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    site = Site(settings)
    port = load_test_module().free_port()
    base = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    page_file = tmp_path / "hostile-page.md"
    page_file.write_text(HOSTILE, encoding="utf-8")
    try:
        while not server.started:
            time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            loopback_only(page, base)
            page.goto(f"{base}/staff/sources")
            page.set_input_files('input[name="page"]', str(page_file))
            page.click("text=Upload and rebuild")
            page.wait_for_url(f"{base}/staff/sources")
            assert "Added hostile-page.md" in page.inner_text(".flash")
            # No script on the page: the meta refresh alone brings the finished build into view.
            page.wait_for_selector('#build strong:text-is("Built")', timeout=60_000)
            assert "Indexed 5 documents" in page.inner_text("#build")
            site.index = load_index_now(site)
            page.goto(f"{base}/staff/sources")
            row = page.inner_text("tr:has-text('hostile-page.md')")
            assert "<img src=x onerror=alert(1)>" in row and "<b>bold</b> worker" in row
            page.click("text=hostile-page.md")
            text = page.inner_text("main")
            assert "<svg onload=alert(2)>" in text and "<script>alert('t')</script>" in text
            counts = page.evaluate("['script','img','svg','iframe','b'].map(t => document.querySelectorAll("
                                   "'main ' + t).length)")
            links = page.evaluate("[...document.querySelectorAll('a')].map(a => a.href)")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    assert dialogs == [] and counts == [0, 0, 0, 0, 0]
    assert not any(link.startswith("javascript:") for link in links)


def load_index_now(site: Site):
    from assistant.index import load_index

    return load_index(site.settings, site.embedder_name)
