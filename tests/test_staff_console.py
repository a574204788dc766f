"""The whole staff console tried as a careers adviser would, through the real sign-in, in Debian's Chromium.

One `python -m assistant serve` for the module, on a temporary COPY of corpus/ and its real MiniLM index
(built here), a real SQLite database and live reload every second. The account is made as staff make one:
`python -m assistant staff add` with the password piped in. Every request that is not to the server is
blocked; the staff pages must raise no console message and no dialog.

The tests run in file order and build on each other, as an adviser's morning would: people ask the chat
questions (one answered, two declined alike, one carrying markup, one rated thumbs down); the adviser
signs in, reads every page of the menu, marks the declined pair handled, reads the feedback and the
coverage map, checks the FAQ file and downloads its report, adds a page about an occupation the
corpus lacks, watches it build, asks the chat about it, and signs out.

Set CAREERS_STAFF_SCREENSHOTS=docs to refresh docs/staff-<page>.png (full-page).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import loopback_only
from test_web_browser import (  # noqa: F401  (browser is a fixture)
    BAND_Q,
    CHROMIUM,
    REPO,
    _get_json,
    ask,
    browser,
    open_chat,
    running_server,
)

pytestmark = pytest.mark.slow

NAME, PASSWORD = "jo.adviser", "a long staff password 2"
XSS_Q = "<img src=x onerror=alert(1)>how much do astronauts earn?"
DECLINED = ("Do firefighters work night shifts?", "Do firefighters have to work nights?")
COMMENT = "Which band after two years? <b>not said</b>"
HOSTILE_TITLE = "Beekeeper <img src=x onerror=alert(3)> (job profile)"  # an uploaded page's markup stays text
NEW_PAGE = ("---\nid: test-board-beekeeper\ntitle: " + HOSTILE_TITLE + "\npublisher: Test Board\n"
            "url: https://example.org/test-board/beekeeper\nlast_updated: 2026-03-01\n"
            "occupation: beekeeper\noccupation_id: beekeeper\naliases: [apiarist, bee farmer]\n---\n"
            "Beekeeper\n\nSalary\n\nBeekeepers in Test County earn £27,400 a year on average.\n\n"
            "Working hours\n\nBeekeepers work 40 hours a week, with longer days in summer.\n")
NEW_Q = "How much do beekeepers earn?"
# Chromium notes every 4xx in the console; the sign-in page answers a signed-out staff page with one.
REFUSED = re.compile(r"Failed to load resource: the server responded with a status of (401|403) \(.*\)")


class Console:
    """The server, the temp corpus and the adviser's signed-in page, shared by the module's tests."""

    def __init__(self, server, corpus: Path, root: Path, page) -> None:
        self.server, self.corpus, self.root, self.page = server, corpus, root, page
        self.base = server.base
        self.console: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []

    def go(self, path: str):
        response = self.page.goto(self.base + path)
        assert response.status == 200, (path, response.status)
        return response

    def shot(self, name: str) -> None:
        folder = os.environ.get("CAREERS_STAFF_SCREENSHOTS")
        out = (REPO / folder if folder and not Path(folder).is_absolute() else Path(folder)) if folder \
            else self.root / "shots"
        out.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(out / f"staff-{name}.png"), full_page=True)

    def audit(self) -> list[tuple[str, str, str]]:
        with sqlite3.connect(self.server.db) as db:
            return db.execute("SELECT user, action, detail FROM staff_audit ORDER BY id").fetchall()

    def clean(self) -> None:
        assert self.console == [] and self.dialogs == [] and self.blocked == [], \
            (self.console, self.dialogs, self.blocked)


def _run(args: list[str], env: dict, cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False, **kw)


@pytest.fixture(scope="module")
def console(browser, tmp_path_factory):  # noqa: F811
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("console")
    corpus, index, root = tmp / "corpus", tmp / "index", tmp / "root"
    shutil.copytree(REPO / "corpus", corpus)  # uploads go here, never into the repository's corpus/
    root.mkdir()
    env = {**os.environ, "CAREERS_EMBEDDER": "minilm", "PYTHONPATH": str(REPO),
           "CAREERS_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'data' / 'assistant.db'}"}
    built = _run(["build", "--quiet", "--corpus", str(corpus), "--index", str(index)], env, REPO, timeout=300)
    assert built.returncode == 0, built.stderr
    made = _run(["staff", "add", NAME], env, root, input=PASSWORD + "\n", timeout=60)
    assert made.returncode == 0, made.stderr
    with running_server(index, root, {"CAREERS_CORPUS_DIR": str(corpus), "CAREERS_RELOAD_SECONDS": "1"}) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page = context.new_page()
        staff = Console(server, corpus, root, page)
        loopback_only(page, server.base, staff.blocked)
        page.on("console", lambda m: None if REFUSED.fullmatch(m.text) else staff.console.append(
            f"{m.type}: {m.text}"))
        page.on("dialog", lambda d: (staff.dialogs.append(d.message), d.dismiss()))
        try:
            yield staff
        finally:
            context.close()
    assert not list((REPO / "corpus").glob("*beekeeper*"))


def test_people_ask_then_the_adviser_signs_in(console, browser):  # noqa: F811
    answered = _get_json(f"{console.base}/api/ask", {"question": BAND_Q})
    assert "band 3" in answered["answer"] and not answered["abstained"]
    for question in DECLINED:
        assert _get_json(f"{console.base}/api/ask", {"question": question})["abstained"]

    with open_chat(browser, console.server) as chat:  # a member of the public, in the real chat
        from playwright.sync_api import expect

        hostile = ask(chat, XSS_Q)
        expect(chat.locator('[data-step-type="user_message"]').last).to_have_text(XSS_Q)
        expect(hostile).to_contain_text("I have no pages about astronauts")
        reply = ask(chat, BAND_Q)
        expect(reply).to_contain_text("band 3")
        reply.locator(".negative-feedback-off").click()
        chat.get_by_role("dialog").locator("textarea").fill(COMMENT)
        chat.locator("#submit-feedback").click()
        expect(reply.locator(".negative-feedback-on")).to_be_visible()
        assert chat.dialogs == [] and chat.locator("img[src='x']").count() == 0

    page = console.page
    page.goto(console.base + "/staff")
    assert page.url == console.base + "/staff/login?next=/staff"
    assert page.locator("h1").inner_text() == "Sign in"
    console.shot("login")
    page.fill("#name", NAME)
    page.fill("#password", "not the password")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator("#sign-in-error").inner_text() == "Wrong name or password."
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == console.base + "/staff"
    assert NAME in page.locator("header").inner_text()
    console.clean()


def _nav() -> list[tuple[str, str]]:
    from assistant.staff.base import NAV

    return NAV


# What each page of the menu must show once the questions above are in: (path, heading, texts).
KEY_CONTENT = {
    "/staff": ("Overview", ["Questions per day", "Decline rate", "Top questions", XSS_Q, BAND_Q]),
    "/staff/unanswered": ("Unanswered questions", [XSS_Q, DECLINED[0], DECLINED[1], "Mark handled"]),
    "/staff/feedback": ("Feedback", ["Thumbs down", COMMENT, BAND_Q]),
    "/staff/coverage": ("Coverage map", ["OT support worker"]),
    "/staff/faq": ("FAQ check", ["CSV file"]),
    "/staff/sources": ("Sources", ["Add or replace a page", "ncs-ot-support-worker"]),
}


def test_every_page_of_the_menu_renders_and_markup_stays_text(console):
    assert {path for path, _ in _nav()} == set(KEY_CONTENT), "a page was added to the menu: say what it shows"
    page = console.page
    for path, label in _nav():
        heading, texts = KEY_CONTENT[path]
        deadline = time.monotonic() + 15  # the chat writes its feedback row in the background
        while True:
            console.go(path)
            main = page.locator("main").inner_text()
            missing = [t for t in texts if t not in main]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert page.locator("h1").inner_text() == heading
        assert not missing, (path, missing, main[:3000])
        assert page.locator("header a.active").inner_text() == label
        page.wait_for_timeout(200)  # an onerror handler would have fired by now
        assert page.locator("img").count() == 0 and page.locator("script").count() == 0
        console.shot(path.rsplit("/", 1)[-1] if path != "/staff" else "overview")
    console.clean()


def test_the_two_alike_declined_questions_are_one_group_marked_handled(console):
    page = console.page
    console.go("/staff/unanswered")
    group = page.locator("tr", has_text=DECLINED[0])
    assert group.count() == 1 and DECLINED[1] in group.inner_text()
    assert group.locator("td").nth(2).inner_text() == "2"
    assert group.locator("td").nth(7).inner_text().strip() not in ("", "none given")  # why it declined
    with page.expect_download() as download_info:  # the same groups, for a spreadsheet
        page.click("text=Download as CSV")
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8-sig"))))
    pair = next(r for r in rows if DECLINED[0] in r["questions"])
    assert pair["count"] == "2" and DECLINED[1] in pair["questions"] and any(r["questions"] == XSS_Q for r in rows)
    with page.expect_navigation():
        group.get_by_role("button", name="Mark handled").click()
    assert page.locator(".flash").first.inner_text() == "Marked 2 questions handled."
    assert page.locator("tr", has_text=DECLINED[0]).count() == 0
    assert page.locator("tr", has_text=XSS_Q).count() == 1  # the other group is still to look at
    page.click("text=Show the groups already handled")
    assert page.locator("tr", has_text=DECLINED[0]).count() == 1
    audit = console.audit()
    assert audit[-1][:2] == (NAME, "unanswered.handled"), audit
    assert audit[-1][2].startswith("2 questions like") and any(q in audit[-1][2] for q in DECLINED), audit
    console.clean()


def test_the_thumbs_down_shows_with_its_comment_and_whole_answer(console):
    page = console.page
    console.go("/staff/feedback")
    item = page.locator("section.feedback", has_text=COMMENT)
    assert item.count() == 1
    text = item.inner_text()
    assert "Thumbs down" in text and BAND_Q in text and "band 3" in text
    assert "OT support worker" in text  # the occupation it was about
    answer = _get_json(f"{console.base}/api/ask", {"question": BAND_Q})
    assert all(c["publisher"] in text for c in answer["citations"])  # its sources, as the user saw them
    page.select_option("select[name=occupation]", label="OT support worker")
    with page.expect_navigation():
        page.click("text=Filter")
    assert page.locator("section.feedback", has_text=COMMENT).count() == 1
    console.clean()


def test_the_coverage_map_shows_the_seed_occupation_by_topic(console):
    from assistant.staff.reports.coveragemap import LABELS, TOPICS

    page = console.page
    console.go("/staff/coverage")
    headings = page.locator("table tr").first.locator("th").all_inner_texts()
    assert headings == ["occupation"] + [LABELS[t] for t in TOPICS]
    row = page.locator("tr", has=page.locator("th", has_text="OT support worker"))
    assert "5 pages" in row.locator("th").inner_text()
    cells = row.locator("td").all_inner_texts()
    covered = [c for c in cells if re.match(r"\d+ pages?", c)]
    assert len(cells) == len(TOPICS) and len(covered) >= 8, cells
    pay = TOPICS.index(next(t for t in TOPICS if LABELS[t].lower().startswith("pay")))
    with page.expect_navigation():
        row.locator("td").nth(pay).locator("a").click()
    assert "OT support worker" in page.locator("h1").inner_text()
    assert "£" in page.locator("main").inner_text()  # the quotes it found
    console.clean()


def test_faq_check_upload_report_and_download(console):
    page = console.page
    console.go("/staff/faq")
    page.set_input_files('input[name="csv"]', str(REPO / "evals" / "faq-example.csv"))
    with page.expect_navigation():
        page.click("button:text-is('Check')")
    assert page.locator("h1").inner_text() == "FAQ check: faq-example.csv"
    summary = page.locator("main p strong").first.inner_text()
    passed, total = map(int, re.fullmatch(r"(\d+) of (\d+) passed\.", summary).groups())
    rows = page.locator("main table tr")
    assert rows.count() == total + 1 and total >= 9 and passed >= 1
    assert "What band do OT support workers start on?" in rows.nth(1).inner_text()
    console.shot("faq")
    with page.expect_download() as download_info:
        page.click("text=Download the HTML report")
    download = download_info.value
    assert download.suggested_filename == "faq-example-report.html"
    html = Path(download.path()).read_text(encoding="utf-8")
    assert html.lower().startswith("<!doctype html")
    assert "What band do OT support workers start on?" in html and "faq-01" in html
    assert "<script" not in html.lower()
    # The same report the command writes for the same file and index, but for the minute it was run.
    cli_report = console.root / "cli-report.html"
    cli = _run(["faq-check", str(REPO / "evals" / "faq-example.csv"), "--report", str(cli_report)],
               console.server.env, console.root, timeout=180)
    assert cli.returncode in (0, 1), cli.stderr
    run_at = re.compile(r"Run \d{2} \w+ \d{4} \d{2}:\d{2} UTC")
    assert run_at.search(html), "the report no longer says when it was run: update run_at"
    assert run_at.sub("", html) == run_at.sub("", cli_report.read_text(encoding="utf-8"))
    console.clean()


def test_a_page_for_a_new_occupation_builds_and_the_chat_answers_from_it(console, browser):  # noqa: F811
    from playwright.sync_api import expect

    before = _get_json(f"{console.base}/api/ask", {"question": NEW_Q})
    assert before["abstained"] and not before["citations"]
    page = console.page
    upload = console.root / "beekeeper.md"
    upload.write_text(NEW_PAGE, encoding="utf-8")
    console.go("/staff/sources")
    page.set_input_files('input[name="page"]', str(upload))
    with page.expect_navigation():
        page.click("text=Upload and rebuild")
    assert "Added beekeeper.md" in page.inner_text(".flash")
    assert "Building" in page.inner_text("#build") or "Built" in page.inner_text("#build")
    started = time.monotonic()
    # No script: the page's meta refresh brings the finished build into view.
    page.wait_for_selector('#build strong:text-is("Built")', timeout=180_000)
    print(f"\nthe adviser watched the build for {time.monotonic() - started:.1f} s")
    assert "Indexed 6 documents" in page.inner_text("#build")
    assert (console.corpus / "beekeeper.md").exists()
    console.go("/staff/sources")
    row = page.locator("tr", has_text="beekeeper.md").inner_text()
    assert "beekeeper" in row and HOSTILE_TITLE in row
    page.click("text=beekeeper.md")
    assert HOSTILE_TITLE in page.locator("main").inner_text() and "£27,400" in page.locator("main").inner_text()
    page.wait_for_timeout(200)
    assert page.locator("img").count() == 0
    console.go("/staff/sources")
    console.shot("sources")
    assert [a for _, a, _ in console.audit()][-2:] == ["upload", "rebuild"]

    deadline = time.monotonic() + 30  # the server looks for a rebuilt index every second
    while not _get_json(f"{console.base}/api/ask", {"question": NEW_Q})["citations"]:
        assert time.monotonic() < deadline, "the chat did not pick up the new index"
        time.sleep(0.5)
    # Two occupations now: the starters name theirs ("Pay: beekeeper", ...).
    with open_chat(browser, console.server, ready='[id^="starter-"]') as chat:
        reply = ask(chat, NEW_Q)
        expect(reply).to_contain_text("£27,400")
        expect(reply).not_to_contain_text("can't answer")
        reply.locator("a.element-link", has_text="[1]").first.click()  # its source: the uploaded page
        expect(chat.locator("#side-view-content")).to_contain_text(HOSTILE_TITLE)
        chat.wait_for_timeout(200)
        assert chat.dialogs == [] and chat.locator("img[src='x']").count() == 0
    console.go("/staff/coverage?q=beekeeper")
    assert page.locator("tr", has=page.locator("th", has_text="beekeeper")).count() == 1
    console.clean()


def test_sign_out_then_staff_pages_ask_to_sign_in(console):
    page = console.page
    console.go("/staff")
    with page.expect_navigation():
        page.click("header button[type=submit]")
    assert page.url == console.base + "/staff/login?signed_out=1"
    for path, _ in _nav():
        page.goto(console.base + path)
        assert page.url == console.base + "/staff/login?next=" + path
    console.clean()
    actions = [a for u, a, _ in console.audit() if u == NAME]
    assert actions[0] == "sign in" and actions[-1] == "sign out"
    assert {"unanswered.handled", "upload", "rebuild"} <= set(actions)
