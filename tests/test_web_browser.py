"""The real thing: `python -m assistant serve` on the real MiniLM index, driven by Debian's Chromium.

One server for the module (≈10 s to load the model), one fresh page per test. Every request that is
not to the server is blocked, so the page must load and answer offline (it links CDN fonts and
KaTeX CSS, which it does without). Set CAREERS_WEB_SCREENSHOT=docs/screenshot.png to refresh the
committed screenshot.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import loopback_only, stop_server

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
BAND_Q = "What band do OT support workers start on?"  # the first starter
HOSTILE = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) ~~struck~~ £5"
ANSWER = '[data-step-type="assistant_message"]'


@dataclass
class Server:
    base: str
    db: Path
    env: dict[str, str] = field(repr=False)
    pid: int = 0
    log: Path | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, body: dict | None = None, timeout: float = 30) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)


@pytest.fixture(scope="session")
def real_index(tmp_path_factory) -> Path:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    out = tmp_path_factory.mktemp("web-index") / "index"
    env = {**os.environ, "CAREERS_EMBEDDER": "minilm"}
    subprocess.run([sys.executable, "-m", "assistant", "build", "--quiet", "--corpus", str(REPO / "corpus"),
                    "--index", str(out)], cwd=REPO, env=env, check=True, timeout=300, capture_output=True)
    return out


@contextmanager
def running_server(real_index: Path, root: Path, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """`python -m assistant serve` on a free loopback port, working in `root` (Chainlit writes
    .chainlit/translations, chainlit.md and .files/ there; the log is root/server.log); stopped by PID."""
    (root / ".chainlit").mkdir()
    shutil.copy(REPO / ".chainlit" / "config.toml", root / ".chainlit" / "config.toml")
    db = root / "data" / "assistant.db"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LITERAL_API_KEY")}
    env.update(CAREERS_INDEX_DIR=str(real_index), CAREERS_CORPUS_DIR=str(REPO / "corpus"), CAREERS_EMBEDDER="minilm",
               CAREERS_DATABASE_URL=f"sqlite+aiosqlite:///{db}",
               PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))
    env.update(extra_env or {})
    log = (root / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{(root / 'server.log').read_text()[-3000:]}")
            try:
                if _get_json(f"{base}/health", timeout=2)["status"] == "ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no /health after 120 s:\n{(root / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield Server(base=base, db=db, env=env, pid=proc.pid, log=root / "server.log")
    finally:
        stop_server(proc)
        log.close()


@pytest.fixture(scope="module")
def server(real_index: Path, tmp_path_factory):
    with running_server(real_index, tmp_path_factory.mktemp("web-app")) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextmanager
def open_chat(browser, server: Server, init_script: str | None = None, ready: str = "#starter-pay-band"):
    """A fresh page with the chat loaded and its websocket open; `init_script` runs before the page's own;
    `ready` is the starter waited for (the starters follow the occupations the index holds)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    page.blocked = loopback_only(page, server.base)  # type: ignore[attr-defined]
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    # Chainlit drops a message sent before its websocket is open: wait for the socket, then the starters.
    with page.expect_websocket():
        page.goto(server.base)
    page.locator(ready).first.wait_for()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser, server: Server):
    with open_chat(browser, server) as opened:
        yield opened


def _answers(page):
    return page.locator(ANSWER)


def _wait_answer(page, count: int):
    from playwright.sync_api import expect

    expect(_answers(page)).to_have_count(count, timeout=30_000)
    last = _answers(page).nth(count - 1)
    expect(last.locator(".message-content")).not_to_be_empty()
    return last


def ask(page, question: str):
    from playwright.sync_api import expect

    n = _answers(page).count()
    page.locator("#chat-input").fill(question)
    expect(page.locator("#chat-submit")).to_be_enabled()
    page.locator("#chat-submit").click()
    return _wait_answer(page, n + 1)


def test_health_and_api_answer_like_the_cli(server: Server):
    health = _get_json(f"{server.base}/health")
    assert health["status"] == "ok" and health["documents"] == 5 and set(health) == {"status", "documents", "chunks"}
    api = _get_json(f"{server.base}/api/ask", {"question": BAND_Q})
    cli = subprocess.run([sys.executable, "-m", "assistant", "ask", "--json", BAND_Q], cwd=REPO, env=server.env,
                         check=True, capture_output=True, text=True, timeout=120)
    assert api == json.loads(cli.stdout)
    assert "band 3" in api["answer"] and api["citations"]
    follow = _get_json(f"{server.base}/api/ask", {"question": "and how many hours do they work?", "history": [BAND_Q]})
    assert "37.5" in follow["answer"] and not follow["abstained"]
    refused = _get_json(f"{server.base}/api/ask", {"question": "why " * 300})
    assert refused["error"] and "1,000" in refused["error"]


def test_band_answer_citation_panel_follow_up_and_suggestion(page, server: Server):
    from playwright.sync_api import expect

    page.locator("#starter-pay-band").click()
    band = _wait_answer(page, 1)
    expect(band).to_contain_text("band 3")
    first = _get_json(f"{server.base}/api/ask", {"question": BAND_Q})["citations"][0]
    band.locator("a.element-link", has_text="[1]").first.click()
    expect(page.locator("#side-view-title")).to_contain_text("[1]")
    panel = page.locator("#side-view-content")
    expect(panel).to_contain_text(first["snippet"][:40])
    expect(panel).to_contain_text(first["publisher"])
    expect(panel).to_contain_text(first["title"])
    expect(panel).to_contain_text("Undated" if not first["last_updated"] else "Last updated")
    shot = os.environ.get("CAREERS_WEB_SCREENSHOT")
    page.screenshot(path=str(REPO / shot) if shot else str(server.db.parent.parent / "screenshot.png"))

    hours = ask(page, "and how many hours do they work?")  # no role named: it continues the conversation
    expect(hours).to_contain_text("37.5")
    expect(hours).not_to_contain_text("can't answer")

    page.get_by_role("button", name="Where do they work?").last.click()  # a suggested follow-up
    where = _wait_answer(page, 3)
    expect(page.locator('[data-step-type="user_message"]').last).to_contain_text("Where do they work?")
    expect(where).to_contain_text("hospitals")
    assert page.dialogs == []


def test_out_of_scope_question_abstains_and_is_recorded(page, server: Server):
    from playwright.sync_api import expect

    reply = ask(page, "How much does a paramedic earn?")
    expect(reply).to_contain_text("I have no pages about paramedics")
    expect(reply).to_contain_text("I do have: OT support workers")
    # The occupation offered is a button; choosing it answers the waiting question about it.
    page.get_by_role("button", name="OT support worker").last.click()
    pay = _wait_answer(page, 2)
    expect(pay).to_contain_text("pay for OT support workers")
    expect(pay).to_contain_text("£15,250 to £22,500")
    with sqlite3.connect(server.db) as db:
        rows = db.execute("select question, channel from unanswered").fetchall()
    assert ("How much does a paramedic earn?", "chat") in rows
    out = subprocess.run([sys.executable, "-m", "assistant", "unanswered", "--json"], env=server.env,
                         cwd=server.db.parent.parent, check=True, capture_output=True, text=True, timeout=60)
    listed = json.loads(out.stdout)
    assert listed[0]["question"] in {q for q, _ in rows} and "How much does a paramedic earn?" in {
        r["question"] for r in listed}


def test_thumbs_up_writes_a_feedback_row(page, server: Server):
    from playwright.sync_api import expect

    reply = ask(page, BAND_Q)
    thumbs = reply.locator(".positive-feedback-off")
    expect(thumbs).to_be_enabled()
    thumbs.click()
    page.get_by_role("dialog").locator("textarea").fill("Clear and sourced")
    page.locator("#submit-feedback").click()
    expect(reply.locator(".positive-feedback-on")).to_be_visible()
    deadline, row = time.monotonic() + 10, None
    while row is None and time.monotonic() < deadline:
        with sqlite3.connect(server.db) as db:
            row = db.execute('select f.value, f.comment, s.name from feedbacks f join steps s on s.id = f."forId" '
                             "where f.comment = ?", ("Clear and sourced",)).fetchone()
        time.sleep(0.2)
    assert row == (1, "Clear and sourced", "on_message")  # tied to the answer's run step


def test_hostile_markup_and_long_questions_show_as_text(page, server: Server):
    from playwright.sync_api import expect

    reply = ask(page, HOSTILE)
    expect(page.locator('[data-step-type="user_message"]').last).to_have_text(HOSTILE)
    expect(reply).to_contain_text("can't answer")  # it may echo some of the words: as text, checked below
    page.wait_for_timeout(500)  # give an onerror handler every chance to fire
    assert page.dialogs == []
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator("del, s").count() == 0

    too_long = ask(page, "why " * 300)
    expect(too_long).to_contain_text("1,000")
    assert page.dialogs == []
    assert not [u for u in page.blocked if u.startswith(server.base)]


@pytest.mark.slow
def test_the_server_starts_quietly(server) -> None:
    """One line says what is served where; no library chatter that reads like an error (FAISS's CPU-variant
    probing, Chainlit's translation files, model-loading bars). Answers add one line each."""
    lines = server.log.read_text(encoding="utf-8").splitlines()
    assert "Serving the careers assistant on http://127.0.0.1:" in lines[0]
    assert sum("Serving the careers assistant" in line for line in lines) == 1
    text = "\n".join(lines)
    for chatter in ("faiss.loader", "AVX512", "translation", "Loading weights", "Your app is available"):
        assert chatter not in text
