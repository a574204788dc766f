"""The staff report pages (/staff, unanswered, feedback, coverage, FAQ check) on a real SQLite file and a
real Assistant over a tiny two-occupation corpus (hash embedder), through FastAPI's TestClient.

A stand-in for the session middleware (auth) sets request.state.staff_user and csrf_token, as the
contract in assistant/staff/base.py says the real one does.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import sys
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import write_corpus

from assistant.embedding import HashEmbedder
from assistant.settings import Settings

CORPUS = {
    "a-pay.md": ("---\nid: porter-pay\ntitle: Hospital porter pay\npublisher: Test Careers\n"
                 "url: https://example.org/porter\nlast_updated: 2019-03-01\noccupation: hospital porter\n---\n"
                 "Hospital porters move patients and equipment around a hospital.\n\nPay\n\n"
                 "Hospital porters earn a salary of £21,000 a year. They start on band 2.\n"),
    "b-porter-hours.md": ("---\nid: porter-hours\ntitle: Porter shifts\npublisher: Other Careers\n"
                          "last_updated: 2025-06-01\noccupation: hospital porter\n---\n"
                          "Porters work 37.5 hours a week on shifts.\n"),
    "c-gardener.md": ("---\nid: gardener\ntitle: Gardener\npublisher: Test Careers\noccupation: gardener\n---\n"
                      "Gardeners look after parks and gardens.\n\nSkills\n\nYou need patience and good "
                      "communication.\n"),
}
CSRF = "test-csrf-token"


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    from assistant.index import build_index
    from assistant.pipeline import Assistant

    root = tmp_path_factory.mktemp("reports")
    settings = Settings(corpus_dir=write_corpus(root / "corpus", CORPUS), index_dir=root / "index", embedder="hash")
    build_index(settings, HashEmbedder())
    return Assistant(settings, embedder=HashEmbedder())


class FakeSession:
    """What auth's middleware promises: the signed-in user (header x-test-user; "-" for nobody) and CSRF."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            from assistant.staff.base import StaffUser

            name = dict(scope["headers"]).get(b"x-test-user", b"ann").decode()
            state = scope.setdefault("state", {})
            state["staff_user"] = None if name == "-" else StaffUser(name=name)
            state["csrf_token"] = CSRF
        await self.app(scope, receive, send)


@pytest.fixture
def staff(tmp_path: Path, assistant, monkeypatch):
    """(client, db path, audit calls): the reports router on an app with a real SQLite file."""
    from fastapi import FastAPI
    from fastapi.responses import RedirectResponse
    from fastapi.testclient import TestClient
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from assistant.staff.base import SignInRequired, sign_in_url
    from assistant.staff.reports import ReportSettings, build_reports_router
    from assistant.web import state as web_state
    from assistant.web.schema import ensure_schema
    from assistant.web.service import AnswerService
    from assistant.web.settings import WebSettings
    from assistant.web.store import UnansweredStore
    from assistant.web.welcome import welcome_for

    web = WebSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/assistant.db")
    # NullPool: no connection outlives the event loop that opened it (the test's, then TestClient's).
    engine = create_async_engine(web.database_url, poolclass=NullPool)
    asyncio.run(ensure_schema(engine))
    service = AnswerService(assistant, UnansweredStore(engine))
    monkeypatch.setattr(web_state, "_current", web_state.AppState(
        settings=assistant.settings, web=web, service=service, welcome=welcome_for(assistant.index)))
    calls: list[tuple] = []

    async def audit_after(engine, user: str, action: str, detail: str) -> bool:
        calls.append((user, action, detail))
        return True

    # The audit log is auth's module; here a recorder stands in for it, so the call itself is checked.
    monkeypatch.setitem(sys.modules, "assistant.staff.audit", types.SimpleNamespace(audit_after=audit_after))
    app = FastAPI()
    app.add_middleware(FakeSession)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request, exc):
        return RedirectResponse(sign_in_url(exc.next_path), status_code=303)

    app.include_router(build_reports_router(ReportSettings(page_size=1, faq_max_bytes=2_000, faq_max_rows=5)))
    with TestClient(app) as client:
        yield client, tmp_path / "assistant.db", calls


def db(path: Path, sql: str, *args):
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, args).fetchall()


def when(days_ago: int = 0, minute: int = 0) -> str:
    moment = datetime.now(timezone.utc).replace(hour=12, minute=minute) - timedelta(days=days_ago)
    return moment.isoformat(timespec="microseconds")


def add_unanswered(path: Path, question: str, asked_at: str, reason="the pages don't say.", occupation=None,
                   facet=None) -> None:
    db(path, "insert into unanswered (question, asked_at, reason, channel, occupation, facet) values "
             "(?, ?, ?, 'chat', ?, ?)", question, asked_at, reason, occupation, facet)


XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


# --- sign-in and CSRF ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/staff", "/staff/unanswered", "/staff/unanswered.csv", "/staff/feedback",
                                  "/staff/feedback.csv", "/staff/coverage", "/staff/coverage/quotes",
                                  "/staff/faq", "/staff/faq/report/x"])
def test_every_page_sends_a_visitor_without_a_session_to_sign_in(staff, path):
    client, _, _ = staff
    r = client.get(path, headers={"x-test-user": "-"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/staff/login?next={path}"


def test_actions_need_a_session_and_this_sessions_csrf_token(staff):
    client, path, calls = staff
    add_unanswered(path, "Do gardeners work weekends?", when())
    for headers, data, status in (({"x-test-user": "-"}, {"csrf": CSRF, "ids": "1"}, 401),
                                  ({}, {"csrf": "stolen", "ids": "1"}, 403), ({}, {"ids": "1"}, 403)):
        assert client.post("/staff/unanswered/handled", data=data, headers=headers,
                           follow_redirects=False).status_code == status
    assert client.post("/staff/faq", headers={"x-test-user": "-"}, files={"csv": ("a.csv", b"x")}).status_code == 401
    assert db(path, "select handled_at from unanswered") == [(None,)] and calls == []


# --- overview -----------------------------------------------------------------------------------------

def add_question(path: Path, question: str, outcome: str, asked_at: str) -> None:
    db(path, "insert into questions (asked_at, channel, outcome, question) values (?, 'chat', ?, ?)",
       asked_at, outcome, question)


def test_overview_counts_each_days_outcomes_and_the_top_questions(staff):
    client, path, _ = staff
    for n, outcome in enumerate(["answer", "answer", "answer", "abstain", "uncovered", "clarify", "error"]):
        add_question(path, "What band do porters start on?" if n < 2 else f"question {n}", outcome, when(0, n))
    add_question(path, "WHAT BAND do porters start on", "answer", when(1))
    add_question(path, "old question", "answer", when(40))  # before the 30 days: not counted
    page = client.get("/staff").text
    today = datetime.now(timezone.utc).date()
    yesterday = today - timedelta(days=1)
    # answered, declined, asked which occupation, refused
    assert f"<tr><td>{today}</td><td>3</td><td>2</td><td>1</td><td>1</td></tr>" in page
    assert f"<tr><td>{yesterday}</td><td>1</td><td>0</td><td>0</td><td>0</td></tr>" in page
    assert "Last 30 days (UTC): 4 answered, 2 declined, 1 asked which occupation, 1 refused." in page
    # The same words in any case, with or without the question mark, are one question (shown as its first
    # wording in sort order): asked 3 times, answered each time.
    assert "<tr><td>WHAT BAND do porters start on</td><td>3</td><td>3 of 3</td></tr>" in page
    assert "old question" not in page
    assert page.count("<svg") == 2 and "<script" not in page and 'src="' not in page
    assert "Decline rate over the last 7 days: <strong>29%</strong>" in page  # 2 of 7 (refused left out)


def test_decline_trend_compares_the_last_days_with_the_ones_before():
    from datetime import date

    from assistant.staff.reports.overview import DayTable, _trend
    from assistant.staff.reports.queries import DayCount

    today = date(2026, 6, 30)
    counts = [DayCount(day="2026-06-29", outcome="answer", count=3), DayCount(day="2026-06-29", outcome="abstain",
                                                                              count=1),
              DayCount(day="2026-06-20", outcome="answer", count=1), DayCount(day="2026-06-20", outcome="abstain",
                                                                              count=1)]
    table = DayTable(counts, 30, today)
    assert table.days[0] == "2026-06-01" and table.days[-1] == "2026-06-30" and len(table.days) == 30
    assert "<strong>25%</strong>, against 50% in the 7 days before: <span class=\"ok\">down 25 points" in \
        _trend(table, 7)
    assert "No questions in the last 7 days" in _trend(DayTable([], 30, today), 7)


# --- unanswered ---------------------------------------------------------------------------------------

def test_grouping_joins_questions_close_to_a_groups_leader():
    import numpy as np

    from assistant.staff.reports.grouping import group_rows, normalise
    from assistant.staff.reports.queries import UnansweredRow

    texts = {"pay a": [1, 0, 0], "pay b": [0.9, 0.436, 0], "dogs": [0, 0, 1], "pay c": [0.6, 0.8, 0]}
    vectors = {k: np.array(v, dtype=np.float32) / np.linalg.norm(v) for k, v in texts.items()}
    rows = [UnansweredRow(id=i, question=q, asked_at=f"2026-06-0{i}T10:00:00+00:00", occupation=o, facet="pay")
            for i, (q, o) in enumerate([("Pay A?", "porter"), ("pay a", "porter"), ("pay b", None), ("dogs", None),
                                        ("pay c", "porter")], start=1)]
    groups = group_rows(rows, vectors, threshold=0.85)
    # "pay a" (asked twice) leads; "pay b" is 0.9 from it, "pay c" only 0.6: a group of its own.
    # Groups by size, then the most recently asked first.
    assert [g.ids for g in groups] == [[1, 2, 3], [5], [4]]
    first = groups[0]
    assert first.count == 3 and first.questions == ["Pay A?", "pay b"]  # each wording as most often typed
    assert (first.first_seen[:10], first.last_seen[:10]) == ("2026-06-01", "2026-06-03")
    assert first.occupations == [("porter", 2), ("", 1)] and first.topics == [("pay", 3)]
    assert normalise("  How MUCH   do porters earn?? ") == "how much do porters earn"


def test_question_vectors_are_encoded_once_in_batches():
    from assistant.staff.reports.grouping import VectorCache

    class Service:
        assistant = types.SimpleNamespace(embedder=HashEmbedder())
        batches: list[list[str]] = []

        async def encode(self, texts):
            self.batches.append(list(texts))
            return HashEmbedder().encode(texts)

    service, cache = Service(), VectorCache(batch=2)
    first = asyncio.run(cache.vectors(service, ["a", "b", "a", "c"]))
    assert service.batches == [["a", "b"], ["c"]] and set(first) == {"a", "b", "c"}
    again = asyncio.run(cache.vectors(service, ["c", "d"]))
    assert service.batches[2:] == [["d"]] and (again["c"] == first["c"]).all()
    # A budget bounds what one view encodes, the first keys (the newest questions) first.
    assert set(asyncio.run(cache.vectors(service, ["e", "f", "g", "a"], budget=1))) == {"a", "e"}
    assert service.batches[3:] == [["e"]]


def test_a_wording_the_model_has_not_read_yet_is_a_group_of_its_own():
    import numpy as np

    from assistant.staff.reports.grouping import group_rows
    from assistant.staff.reports.queries import UnansweredRow

    rows = [UnansweredRow(id=i, question=q, asked_at="2026-06-01T10:00:00+00:00") for i, q in
            enumerate(["pay a", "pay b", "pay a"])]
    groups = group_rows(rows, {"pay a": np.array([1.0, 0.0], dtype=np.float32)}, threshold=0.1)
    assert [(g.ids, g.questions) for g in groups] == [([0, 2], ["pay a"]), ([1], ["pay b"])]


def test_unanswered_page_groups_counts_and_shows_what_the_assistant_read(staff):
    client, path, _ = staff
    reason = "I have no pages about paramedics."
    for n, q in enumerate(["How much does a paramedic earn?", "how much does a paramedic earn", "HOW MUCH DOES A "
                           "PARAMEDIC EARN?!"]):
        add_unanswered(path, q, when(3 - n), reason=reason, facet="pay")
    add_unanswered(path, XSS, when(0), reason=None, occupation="gardener")
    page = client.get("/staff/unanswered").text
    assert "4 questions in 2 groups" in page
    assert "<td>3</td>" in page and reason in page and "pay" in page and "gardener" in page
    first, last = (datetime.now(timezone.utc) - timedelta(days=d) for d in (3, 1))
    assert f"{first:%Y-%m-%d} 12:00 UTC" in page and f"{last:%Y-%m-%d} 12:00 UTC" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page


def test_marking_a_group_handled_records_it_and_audits_who(staff):
    client, path, calls = staff
    for n, q in enumerate(["Do porters work nights?", "do porters work nights"]):
        add_unanswered(path, q, when(n))
    add_unanswered(path, "Can gardeners bring dogs?", when(0))
    ids = db(path, "select group_concat(id) from unanswered where question like '%nights%'")[0][0]
    r = client.post("/staff/unanswered/handled", data={"csrf": CSRF, "ids": ids}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/staff/unanswered?marked=2"
    assert db(path, "select count(*) from unanswered where handled_at is not null") == [(2,)]
    assert calls == [("ann", "unanswered.handled", f"2 questions like “Do porters work nights?” (ids {ids})")]
    page = client.get("/staff/unanswered?marked=2").text
    assert "Marked 2 questions handled" in page and "nights" not in page and "dogs" in page
    assert "nights" in client.get("/staff/unanswered?handled=1").text
    for bad in ("", "1,x", "-1", "1;2", "²", "9" * 30):
        assert client.post("/staff/unanswered/handled", data={"csrf": CSRF, "ids": bad}).status_code == 400
    assert len(calls) == 1


def test_csv_exports_neutralise_formulas_and_keep_the_text(staff):
    client, path, _ = staff
    for n, q in enumerate(["=HYPERLINK(\"http://x\",\"y\")", "+1 pay", "-2 pay", "@SUM(A1)", "plain, \"quoted\""]):
        add_unanswered(path, q, when(n), reason="no, really")
    r = client.get("/staff/unanswered.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0] == ["group", "count", "first_seen", "last_seen", "occupations", "topics", "reasons", "questions"]
    questions = {q for row in rows[1:] for q in row[7].split("\n")}
    assert {"'=HYPERLINK(\"http://x\",\"y\")", "'+1 pay", "'-2 pay", "'@SUM(A1)", "plain, \"quoted\""} <= questions
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


# --- feedback -----------------------------------------------------------------------------------------

ANSWER = ("Hospital porters earn **£21,000** a year \\[1\\].\n\n> “Hospital porters earn a salary of £21,000 a "
          "year\\.” [1]\n\n**Sources** (select a number to read the quoted passage):\n\n- [1] Test Careers: "
          "Hospital porter pay (last updated 1 March 2019)")


def add_rated_answer(path: Path, n: int, question: str, value: int, comment: str | None, occupation: str | None,
                     created: str) -> None:
    """One chat turn as Chainlit stores it: user message, its on_message run (rated), the answer inside."""
    import json

    thread, user, run, answer = f"t{n}", f"u{n}", f"r{n}", f"a{n}"
    db(path, 'insert into threads (id, "createdAt", name) values (?, ?, ?)', thread, created, question)
    step = ('insert into steps (id, name, type, "threadId", "parentId", streaming, input, output, "createdAt", '
            'metadata) values (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)')
    db(path, step, user, "User", "user_message", thread, None, "", question, created, "{}")
    db(path, step, run, "on_message", "run", thread, user, question, "", created, "{}")
    db(path, step, answer, "Careers assistant", "assistant_message", thread, run, "", ANSWER, created,
       json.dumps({"occupation": occupation} if occupation else {}))
    db(path, 'insert into feedbacks (id, "forId", "threadId", value, comment) values (?, ?, ?, ?, ?)',
       f"f{n}", run, thread, value, comment)


def test_feedback_shows_thumbs_down_first_with_question_and_the_whole_answer(staff):
    client, path, _ = staff
    add_rated_answer(path, 1, "How much do porters earn?", 1, "clear", "hospital porter", "2026-06-02T10:00:00Z")
    add_rated_answer(path, 2, "and the hours?", 0, "wrong figure " + XSS, "hospital porter", "2026-06-01T10:00:00Z")
    add_rated_answer(path, 3, "What do gardeners do?", 0, None, None, "2026-06-03T10:00:00Z")
    db(path, "update steps set metadata = '{not json' where id = 'a3'")  # unreadable metadata: no occupation
    page = client.get("/staff/feedback").text
    assert "3 rated answers: 2 thumbs down (shown first), 1 thumbs up." in page
    assert "What do gardeners do?" in page and "2026-06-03 10:00 UTC" in page  # newest thumbs down first
    # No occupation recorded: the one its question names.
    assert '<option value="gardener">' in page and '<option value="hospital porter">' in page
    second = client.get("/staff/feedback?page=2").text
    assert "wrong figure &lt;script&gt;" in second and "<script>alert" not in second
    assert "and the hours?" in second and "No comment" not in second
    # The answer as the user read it: markdown escapes gone, bold kept, quote and sources listed.
    assert "<strong>£21,000</strong> a year [1]." in second
    assert "<blockquote>“Hospital porters earn a salary of £21,000 a year.” [1]</blockquote>" in second
    assert "Test Careers: Hospital porter pay (last updated 1 March 2019)" in second
    assert "clear" in client.get("/staff/feedback?page=3").text
    porters = client.get("/staff/feedback", params={"occupation": "hospital porter"}).text
    assert "2 rated answers about hospital porter: 1 thumbs down" in porters and "gardeners" not in porters


def test_feedback_csv_filters_by_occupation_and_escapes_formulas(staff):
    client, path, _ = staff
    add_rated_answer(path, 1, "=cmd|' /C calc'!A0", 0, "@bad", "hospital porter", "2026-06-02T10:00:00Z")
    add_rated_answer(path, 2, "What do gardeners do?", 1, "ok", "gardener", "2026-06-01T10:00:00Z")
    rows = list(csv.reader(io.StringIO(client.get("/staff/feedback.csv?occupation=hospital+porter").text[1:])))
    assert rows[0] == ["time", "rating", "occupation", "comment", "question", "answer"]
    assert rows[1][:5] == ["2026-06-02 10:00 UTC", "down", "hospital porter", "'@bad", "'=cmd|' /C calc'!A0"]
    assert rows[1][5].startswith("Hospital porters earn **£21,000** a year [1].") and len(rows) == 2


# --- coverage -----------------------------------------------------------------------------------------

def test_coverage_map_counts_pages_per_topic_dates_and_marks_gaps_and_old_figures(staff):
    client, _, _ = staff
    page = client.get("/staff/coverage").text  # one occupation per page here: gardener first
    assert "2 of 2 occupations" in page and "<th>gardener<br>" in page and "hospital porter" not in page
    assert page.count('class="empty"') >= 10  # gardener: no pay, band, hours ... page
    assert 'topic=skills">1 page</a><br><span class="muted">1 undated</span></td>' in page
    porter = client.get("/staff/coverage?page=2").text
    # Pay and band: one page, last updated 2019 (over 2 years ago); hours: the 2025 page (2019 is older,
    # but only the page about shifts says hours).
    assert ('<td class=warn><a href="/staff/coverage/quotes?occupation=hospital-porter&amp;topic=pay">1 page</a>'
            '<br><span class="bad"><span class="date">2019-03-01</span> (old)</span></td>') in porter
    assert 'topic=hours">1 page</a><br><span class="muted"><span class="date">2025-06-01</span></span></td>' in porter
    assert "(old)</span></td>" not in client.get("/staff/coverage?page=2&years=10").text
    found = client.get("/staff/coverage", params={"q": "PORT"}).text
    assert "1 of 2 occupations matching &#x27;PORT&#x27;" in found and "<th>hospital porter<br>" in found


def test_a_coverage_cell_links_to_the_quotes_it_found(staff):
    client, _, _ = staff
    page = client.get("/staff/coverage/quotes", params={"occupation": "hospital-porter", "topic": "pay"}).text
    assert "<h1>hospital porter: Pay</h1>" in page and "Test Careers: Hospital porter pay" in page
    assert "<li>Hospital porters earn a salary of £21,000 a year.</li>" in page
    assert "Porters work 37.5 hours" not in page and 'href="https://example.org/porter"' in page
    assert client.get("/staff/coverage/quotes", params={"occupation": "nobody", "topic": "pay"}).status_code == 404
    assert client.get("/staff/coverage/quotes", params={"occupation": "gardener", "topic": "x"}).status_code == 404


# --- FAQ check ----------------------------------------------------------------------------------------

def cli_message(tmp_path: Path, name: str, data: bytes) -> str:
    """What `careers-assistant faq-check` says about this file (after "careers-assistant: ")."""
    from assistant.errors import AssistantError
    from assistant.faq import read_faq

    (tmp_path / name).write_bytes(data)
    with pytest.raises(AssistantError) as err:
        read_faq(tmp_path / name)
    return str(err.value)


@pytest.mark.parametrize("data", [b"", b"\x00\x01binary", b"id,query\n1,What band?\n", b"question,expected\n,\n"])
def test_a_bad_faq_file_gets_the_clis_message_not_a_traceback(staff, tmp_path, data):
    import html

    client, _, _ = staff
    name = "my list.csv"
    r = client.post("/staff/faq", data={"csrf": CSRF}, files={"csv": (name, data, "text/csv")})
    if data == b"question,expected\n,\n":  # readable, but no row with a question: the CLI's warning
        assert r.status_code == 200 and "warning: my list.csv has no row with a question." in r.text
        return
    assert r.status_code == 400 and f'<p class="error">{html.escape(cli_message(tmp_path, name, data))}</p>' in r.text


def test_faq_upload_limits_and_a_missing_file(staff):
    client, _, _ = staff
    assert "Choose a CSV file" in client.post("/staff/faq", data={"csrf": CSRF}).text
    too_big = b"question,expected\n" + b"x" * 3000
    big = client.post("/staff/faq", data={"csrf": CSRF}, files={"csv": ("big.csv", too_big)})
    assert big.status_code == 400 and "big.csv is over 2 KB" in big.text
    rows = "question,expected\n" + "".join(f"What band do porters start on {n}?,band\n" for n in range(6))
    many = client.post("/staff/faq", data={"csrf": CSRF}, files={"csv": ("many.csv", rows.encode())})
    assert many.status_code == 400 and "many.csv has 6 questions; this page checks at most 5" in many.text
    traversal = client.post("/staff/faq", data={"csrf": CSRF}, files={"csv": ("../../etc/<b>.csv", b"")})
    assert "_b_.csv is empty" in traversal.text


def test_faq_check_shows_the_clis_verdicts_and_offers_the_html_report(staff, assistant):
    import html
    import tempfile

    from assistant.faq import check, read_faq

    client, _, _ = staff
    data = ("id,question,expected,notes\nq1,What band do hospital porters start on?,band 2,\n"
            "q2,How much do hospital porters earn?,£99;band 9,\nq3,How much does a paramedic earn?,no answer,\n"
            f"q4,\"{XSS}\",£1,\n").encode()
    r = client.post("/staff/faq", data={"csrf": CSRF}, files={"csv": ("faq.csv", data, "text/csv")})
    assert r.status_code == 200
    # What the CLI's own reader and check make of the same file, on the same Assistant.
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "faq.csv").write_bytes(data)
        expected = [check(assistant, row) for row in read_faq(Path(folder) / "faq.csv").rows]
    for result in expected:
        verdict = "" if result.passed else html.escape(result.verdict) + ": "
        assert f"<td>{verdict}{html.escape(result.why)}</td>" in r.text
    passed = sum(x.passed for x in expected)
    assert f"<strong>{passed} of 4 passed.</strong>" in r.text and 0 < passed < 4
    assert "<script>alert" not in r.text
    token = r.text.split('href="/staff/faq/report/')[1].split('"')[0]
    report = client.get(f"/staff/faq/report/{token}")
    assert report.status_code == 200 and 'filename="faq-report.html"' in report.headers["content-disposition"]
    assert "<h1>FAQ check: faq.csv</h1>" in report.text and "<script>alert" not in report.text
    assert client.get(f"/staff/faq/report/{token}", headers={"x-test-user": "bob"}).status_code == 404


# --- what the server records --------------------------------------------------------------------------

def test_the_service_records_every_outcome_and_what_an_unanswered_question_was_read_as(staff):
    client, path, _ = staff
    from assistant.web.state import current

    service = current().service

    async def ask(*questions):
        for q in questions:
            await service.converse(service.conversation(), q, "api")

    client.portal.call(ask, "What band do hospital porters start on?", "How much does a paramedic earn? "
                       "mail me at someone@example.org", "", "Do gardeners get a pension?")
    rows = db(path, "select outcome, occupation, facet, question from questions order by id")
    assert [r[0] for r in rows] == ["answer", "uncovered", "error", "abstain"]
    assert rows[0][1:3] == ("hospital porter", "band") and "[email]" in rows[1][3] and "@" not in rows[1][3]
    assert db(path, "select occupation, facet from unanswered order by id") == [(None, "pay"), ("gardener", "benefits")]
    page = client.get("/staff").text
    assert "1 answered, 2 declined, 0 asked which occupation, 1 refused" in page


@pytest.mark.slow
def test_the_real_model_groups_rewordings_and_keeps_topics_and_occupations_apart():
    from assistant.embedding import make_embedder
    from assistant.staff.reports.common import ReportSettings
    from assistant.staff.reports.grouping import group_rows, normalise
    from assistant.staff.reports.queries import UnansweredRow

    asked = ["How much does a paramedic earn?", "What is the salary of a paramedic?", "paramedic pay",
             "How much do paramedics get paid per year?", "How much does a firefighter earn?",
             "What band do paramedics start on?", "Do nurses work nights?", "What hours do nurses work?",
             "Can I bring my dog to work?"]
    rows = [UnansweredRow(id=i, question=q, asked_at=f"2026-06-01T10:00:{i:02d}+00:00") for i, q in enumerate(asked)]
    keys = [normalise(q) for q in asked]
    vectors = dict(zip(keys, make_embedder("minilm", query_encoder="numpy").encode(keys)))
    groups = group_rows(rows, vectors, ReportSettings().group_similarity)
    assert sorted(sorted(g.ids) for g in groups) == [[0, 1, 2, 3], [4], [5], [6], [7], [8]]


def test_feedback_reads_the_rows_chainlits_data_layer_writes(staff):
    """The chat's own data layer writes the turn (redacted), so the page reads what a real chat stores."""
    from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
    from chainlit.types import Feedback

    from assistant.web.chat import CareersDataLayer, minimal_step

    client, path, _ = staff

    async def chat_turn():
        layer = CareersDataLayer(conninfo=f"sqlite+aiosqlite:///{path}")
        # Chainlit's own INSERT, through our layer's writer, without its wait-for-first-message queue;
        # minimal_step is what CareersDataLayer.create_step applies first.
        create = SQLAlchemyDataLayer.create_step.__wrapped__
        base = {"threadId": "t1", "streaming": False, "isError": False, "createdAt": "2026-06-05T09:30:00Z",
                "tags": None, "start": None, "end": None, "language": None, "command": None, "modes": None}
        await layer.update_thread("t1", name="What do porters earn?")
        await create(layer, minimal_step({**base, "id": "u1", "name": "User", "type": "user_message",
                                          "output": "What do porters earn? call 07700 900123", "metadata": {}}))
        await create(layer, {**base, "id": "r1", "name": "on_message", "type": "run", "parentId": "u1",
                             "input": "What do porters earn?", "output": "", "metadata": {}})
        await create(layer, minimal_step({**base, "id": "m1", "name": "Careers assistant", "parentId": "r1",
                                          "type": "assistant_message", "output": ANSWER,
                                          "metadata": {"occupation": "hospital porter"}}))
        await layer.upsert_feedback(Feedback(forId="r1", value=0, threadId="t1", comment="old figure"))
        await layer.close()

    asyncio.run(chat_turn())
    page = client.get("/staff/feedback", params={"occupation": "hospital porter"}).text
    assert "1 rated answer about hospital porter: 1 thumbs down" in page and "old figure" in page
    assert "What do porters earn? call [phone]" in page and "2026-06-05 09:30 UTC" in page
    assert "<strong>£21,000</strong> a year [1]." in page


def test_edited_query_strings_fall_back_to_the_defaults(staff):
    client, _, _ = staff
    for path in ("/staff/coverage?page=abc&years=nan", "/staff/coverage?page=-3&years=1e9&q=" + "x" * 5000,
                 "/staff/feedback?page=zz&occupation=%00", "/staff/unanswered?marked=zz&handled=yes",
                 "/staff/unanswered.csv?handled=2", "/staff/coverage/quotes?occupation=&topic="):
        r = client.get(path)
        assert r.status_code in (200, 404) and "Traceback" not in r.text, path
    assert "Figures older than" in client.get("/staff/coverage?years=-1").text
    assert 'value="2"' in client.get("/staff/coverage?years=-1").text
