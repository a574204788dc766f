"""Fast tests for the web layer's own logic: no browser, no server process, no real model.

The Assistant here uses the hash embedder over the real corpus, built into a tmp folder in well under
a second; the database is a tmp SQLite file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import threading
from datetime import date
from pathlib import Path

import pytest

from assistant.models import Answer, Citation, Facet, Turn
from assistant.settings import Settings
from assistant.web.present import APOLOGY, element_name, reply_for, source_panel
from assistant.web.safety import escape_markdown, neutralise_answer, safe_url
from assistant.web.settings import WebSettings

REPO = Path(__file__).resolve().parents[1]
HOSTILE = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) ![t](https://evil.example/t.png) ~a~ `c` $x$"


def cite(**kw) -> Citation:
    base = dict(doc_id="d", title="A page", publisher="Pub", url=None, last_updated=None,
                snippet="They start on band 3.", score=0.9, start=0, end=21)
    return Citation(**{**base, **kw})


# --- markdown neutralising ------------------------------------------------------------------------

def _unescaped(text: str, chars: str) -> list[str]:
    """Characters from `chars` in `text` not preceded by a backslash."""
    return [m.group(0) for m in re.finditer(r"(?<!\\)[" + re.escape(chars) + "]", text)]


def test_escape_markdown_leaves_no_active_character_unescaped():
    out = escape_markdown(HOSTILE + "\n# heading\n- item")
    assert "\n" not in out
    assert _unescaped(out, "<>[]()!`~$#*_") == []
    assert "£" in escape_markdown("£24,000") and "£24,000" == escape_markdown("£24,000").replace("\\", "")


def test_neutralise_keeps_template_markup_and_citation_markers():
    md = ("OT support workers usually start on **band 3** [1][2].\n\n"
          "> “They will usually start on band 3 of the NHS pay scale.” [1]\n"
          "- **37.5**\n  - NHS Health Careers (undated): “Around 37.5 hours.” [2]\n"
          "For example, try *What band do OT support workers start on?*")
    out = neutralise_answer(md)
    assert out.startswith("OT support workers usually start on **band 3** [1][2]\\.")
    assert "\n> “They will usually start on band 3 of the NHS pay scale\\.” [1]\n" in out
    assert "\n- **37\\.5**\n  - NHS Health Careers \\(undated\\)\\: “Around 37\\.5 hours\\.” [2]\n" in out
    assert out.endswith("try *What band do OT support workers start on?*")


def test_neutralise_makes_quoted_source_text_and_user_words_literal():
    md = f"> “{HOSTILE} “nested” **not bold** [9]” [1]\nThey don't mention ‘{HOSTILE}’."
    out = neutralise_answer(md)
    quote_line, user_line = out.split("\n")
    body = quote_line[quote_line.index("“") + 1:quote_line.rindex("”")]
    assert _unescaped(body, "<>[]()!`~$*") == []  # the fake [9] and **bold** inside the quote are dead
    assert quote_line.endswith(" [1]") and quote_line.startswith("> “")
    assert _unescaped(user_line[user_line.index("‘"):], "<>[]()!`~$") == []


def test_safe_url_allows_http_only():
    assert safe_url("https://nationalcareers.service.gov.uk/job-profiles/x") == \
        "https://nationalcareers.service.gov.uk/job-profiles/x"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("data:text/html,<script>") is None
    assert safe_url("https://") is None
    assert safe_url("https://a.example/<x> y") is None
    assert ">" not in (safe_url("https://a.example/p?q=<b>") or "")
    assert safe_url(None) is None


# --- presentation ---------------------------------------------------------------------------------

def test_every_marker_in_the_message_names_a_side_panel():
    answer = Answer(question="q", answer="They start on **band 3** [1][2].\n\n> “x” [1]\n> “y” [2]",
                    abstained=False, citations=[cite(), cite(doc_id="e", publisher="Other")],
                    facet=Facet.band, suggestions=["How much do they earn?", "How much do they earn?"])
    reply = reply_for(answer)
    names = [p.name for p in reply.sources]
    assert names == [element_name(1), element_name(2)] == ["[1]", "[2]"]
    assert set(re.findall(r"\[\d+\]", reply.content)) == set(names)
    assert reply.suggestions == ["How much do they earn?"]
    assert "- [1] Pub: A page (undated)" in reply.content


def test_source_panel_shows_publisher_title_date_link_and_snippet():
    c = cite(publisher="National Careers Service", title="Job profile", last_updated=date(2018, 9, 10),
             url="https://nationalcareers.service.gov.uk/job-profiles/x", snippet="Line one.\n\n  Line two ~37.5~")
    panel = source_panel(3, c).content
    assert source_panel(3, c).name == "[3]"
    assert "**National Careers Service**" in panel and "Job profile" in panel
    assert "_Last updated 10 September 2018_" in panel
    assert "(<https://nationalcareers.service.gov.uk/job-profiles/x>)" in panel
    assert "> Line one\\.\n>\n> Line two \\~37\\.5\\~" in panel


def test_source_panel_drops_unsafe_links_and_escapes_hostile_metadata():
    c = cite(publisher=HOSTILE, title=HOSTILE, url="javascript:alert(1)", snippet=HOSTILE)
    panel = source_panel(1, c).content
    assert "](<" not in panel and "_No web address is known for this page._" in panel  # no link at all
    text = "\n".join(line.removeprefix("> ") for line in panel.splitlines())  # quote prefixes are ours
    assert _unescaped(text.replace("**", "").replace("_No web address is known for this page._", ""),
                      "<>[]()!`~$") == []


def test_refused_question_gets_the_cores_message_and_no_sources():
    reply = reply_for(Answer(question="x", answer="too long", abstained=True, error="Too long [x](y).",
                             reason="Too long"))
    assert reply.refused and reply.sources == [] and reply.content == "Too long \\[x\\]\\(y\\)\\."


# --- unanswered store and schema ------------------------------------------------------------------

@pytest.fixture
def web(tmp_path: Path) -> WebSettings:
    return WebSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/db/assistant.db")


def test_sqlite_path():
    assert WebSettings(database_url="sqlite+aiosqlite:///data/a.db").sqlite_path() == Path("data/a.db")
    assert WebSettings(database_url="sqlite+aiosqlite:////abs/a.db").sqlite_path() == Path("/abs/a.db")
    assert WebSettings(database_url="sqlite+aiosqlite:///:memory:").sqlite_path() is None
    # asyncpg is not installed here, so the URL would not validate: construct without validation.
    assert WebSettings.model_construct(database_url="postgresql+asyncpg://u:p@h/db").sqlite_path() is None


def test_unanswered_store_lists_newest_first(web: WebSettings, capsys):
    from assistant.web.schema import ensure_schema
    from assistant.web.store import UnansweredStore, make_engine, print_unanswered

    async def fill():
        engine = make_engine(web)
        await ensure_schema(engine)
        store = UnansweredStore(engine)
        await store.record("How much does a paramedic earn?", "my sources don't cover paramedics.", "chat")
        await store.record("Do nurses\x1b[31m work nights?", None, "api")
        await engine.dispose()

    asyncio.run(fill())
    assert print_unanswered(Settings(), as_json=True, web=web) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["question"] for r in rows] == ["Do nurses\x1b[31m work nights?", "How much does a paramedic earn?"]
    # nothing personal: what was asked, when, why it was not answered, and what it was read as
    assert set(rows[0]) == {"question", "asked_at", "reason", "channel", "occupation", "facet"}
    assert print_unanswered(Settings(), limit=1, web=web) == 0
    text = capsys.readouterr().out
    assert "Do nurses\ufffd[31m work nights?" in text and "paramedic" not in text and "\x1b" not in text


def test_unanswered_on_a_fresh_database_lists_nothing(web: WebSettings, capsys):
    from assistant.web.store import print_unanswered

    assert print_unanswered(Settings(), as_json=True, web=web) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_chainlit_data_layer_writes_threads_steps_and_feedback(web: WebSettings):
    """Chainlit's own SQLAlchemyDataLayer, against our schema: a missing column would only log."""
    from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
    from chainlit.types import Feedback

    from assistant.web.schema import ensure_schema
    from assistant.web.store import make_engine

    async def run():
        engine = make_engine(web)
        await ensure_schema(engine)
        await engine.dispose()
        layer = SQLAlchemyDataLayer(conninfo=web.database_url)
        create_step = SQLAlchemyDataLayer.create_step.__wrapped__  # skip the wait-for-first-message queue
        await layer.update_thread("t1", name="What band?", metadata={"chat_profile": "OT support workers"})
        message = {"id": "m1", "threadId": "t1", "parentId": None, "createdAt": "2026-01-01T00:00:00Z",
                   "command": None, "modes": None, "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z",
                   "output": "band 3 [1]", "name": "Careers assistant", "type": "assistant_message",
                   "language": None, "streaming": False, "isError": False, "waitForAnswer": False,
                   "metadata": {}, "tags": None}
        run = {"name": "on_message", "type": "run", "id": "r1", "threadId": "t1", "parentId": "u1",
               "streaming": False, "metadata": {"icon": "x"}, "tags": None, "input": "What band?",
               "isError": False, "output": "", "createdAt": "2026-01-01T00:00:00Z", "start": None,
               "end": None, "language": None, "defaultOpen": False, "autoCollapse": False,
               "showInput": "json", "generation": None}
        await create_step(layer, message)
        await create_step(layer, run)
        await layer.upsert_feedback(Feedback(forId="r1", value=1, threadId="t1", comment="clear"))
        step = await layer.get_step("r1")
        await layer.close()
        return step

    step = asyncio.run(run())
    assert step and step["feedback"]["value"] == 1 and step["feedback"]["comment"] == "clear"
    db = sqlite3.connect(web.sqlite_path())
    assert db.execute('select "output" from steps where id = ?', ("m1",)).fetchone() == ("band 3 [1]",)
    assert db.execute('select name from threads').fetchall() == [("What band?",)]


def test_schema_adds_columns_an_older_database_lacks(web: WebSettings):
    from assistant.web.schema import ensure_schema
    from assistant.web.store import make_engine

    path = web.sqlite_path()
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute('CREATE TABLE steps ("id" TEXT PRIMARY KEY, "name" TEXT, "type" TEXT, "threadId" TEXT, '
                   '"streaming" BOOLEAN)')

    async def run():
        engine = make_engine(web)
        try:
            return await ensure_schema(engine)
        finally:
            await engine.dispose()

    added = asyncio.run(run())
    assert "steps.autoCollapse" in added and "steps.modes" in added
    assert asyncio.run(run()) == []  # idempotent
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
    assert {"users", "threads", "steps", "elements", "feedbacks", "unanswered"} <= tables


# --- the service and the API with a small real Assistant -------------------------------------------



class MemoryStore:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str | None, str]] = []
        self.asked: list = []
        self.read_as: list[tuple[str | None, str | None]] = []

    async def record(self, question, reason, channel, occupation=None, facet=None, asked_at=None) -> None:
        self.rows.append((question, reason, channel))
        self.read_as.append((occupation, facet))

    async def record_question(self, row) -> None:
        self.asked.append(row)


def test_service_records_abstentions_but_not_refusals(hash_assistant):
    from assistant.web.service import AnswerService

    store = MemoryStore()
    svc = AnswerService(hash_assistant, store)  # type: ignore[arg-type]
    out = asyncio.run(svc.converse(svc.conversation(), "How much does a paramedic earn?", "chat"))
    assert out.abstained and not out.error
    asyncio.run(svc.converse(svc.conversation(), "x" * 1001, "chat"))
    asyncio.run(svc.converse(svc.conversation(), "what band do OT support workers start on?", "chat"))
    assert store.rows == [("How much does a paramedic earn?", out.reason, "chat")]
    assert store.read_as == [(None, "pay")]  # no pages about paramedics: no occupation, the topic pay
    # Every question's outcome is kept for the staff overview, the refusal shortened as the core shows it.
    assert [(r.outcome, r.facet, r.channel) for r in store.asked] == [
        ("uncovered", "pay", "chat"), ("error", None, "chat"), ("answer", "band", "chat")]
    assert store.asked[1].question == "x" * 200 and store.asked[2].occupation == out_band_occupation(hash_assistant)


def out_band_occupation(assistant) -> str:
    return assistant.ask("what band do OT support workers start on?").occupation


def test_service_replays_history_given_as_text(hash_assistant):
    from assistant.web.service import AnswerService

    svc = AnswerService(hash_assistant)
    conversation = svc.conversation()
    asyncio.run(svc.converse(conversation, "and how many hours do they work?", "api",
                             history=["what band do OT support workers start on?"]))
    assert [t.facet for t in conversation.turns] == [Facet.band, Facet.hours]
    assert conversation.turns[1].subject == conversation.turns[0].subject


def _client(service):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from assistant.web.api import build_router, mount_first

    app = FastAPI()

    @app.get("/health")
    def chainlit_health():  # stands in for Chainlit's own, registered before ours
        return {"status": "theirs"}

    @app.get("/{full_path:path}")
    def catch_all(full_path: str):
        return {"page": full_path}

    mount_first(app, build_router(lambda: service))
    return TestClient(app)


def test_api_answers_like_the_cli_and_health_wins_over_chainlit(hash_assistant):
    from assistant.models import ANSWER_JSON_FIELDS as ANSWER_FIELDS
    from assistant.web.service import AnswerService

    client = _client(AnswerService(hash_assistant))
    health = client.get("/health").json()
    assert health == {"status": "ok", "documents": 5, "chunks": hash_assistant.index.manifest.chunk_count}
    r = client.post("/api/ask", json={"question": "and how many hours do they work?",
                                      "history": [Turn(question="what band?", facet=Facet.band,
                                                       subject="OT support worker").model_dump(mode="json")]})
    assert r.status_code == 200 and set(r.json()) == ANSWER_FIELDS
    assert r.json()["facet"] == "hours"
    long = client.post("/api/ask", json={"question": "why " * 300}).json()
    assert long["error"] and long["abstained"]
    assert client.post("/api/ask", json={"question": "q", "extra": 1}).status_code == 422
    assert client.get("/anything").json() == {"page": "anything"}  # the catch-all still serves the rest


def test_api_error_is_a_short_apology_without_exception_text(hash_assistant):
    from assistant.web.service import AnswerService

    class Broken(AnswerService):
        def _converse(self, *args, **kwargs):
            raise RuntimeError("secret internal detail")

    r = _client(Broken(hash_assistant)).post("/api/ask", json={"question": "what band?"})
    assert r.status_code == 500 and r.json() == {"error": APOLOGY}
    assert "secret" not in r.text


def test_welcome_names_the_role_and_every_publisher(hash_assistant, tmp_path):
    from assistant.web.welcome import welcome_for, write_chainlit_md

    welcome = welcome_for(hash_assistant.index)
    assert welcome.role == "OT support workers"
    assert set(welcome.publishers) == {d.meta.publisher for d in hash_assistant.index.documents.values()}
    short = welcome.short()
    assert all(escape_markdown(p) in short for p in welcome.publishers)
    md = write_chainlit_md(welcome, tmp_path).read_text(encoding="utf-8")
    assert md.count("\n- **") == len(hash_assistant.index.documents)
    assert "(<https://nationalcareers.service.gov.uk/" in md


def test_chat_error_shows_the_apology_and_logs_the_detail(monkeypatch, caplog):
    from assistant.web import chat
    from assistant.web.present import ChatReply

    class Exploding:
        async def converse(self, *args, **kwargs):
            raise RuntimeError("secret internal detail")

    class State:
        service = Exploding()
        limiter = None

    sent: list[ChatReply] = []

    async def capture(reply: ChatReply) -> None:
        sent.append(reply)

    monkeypatch.setattr(chat, "current", lambda: State())
    monkeypatch.setattr(chat, "_conversation", lambda: None)
    monkeypatch.setattr(chat, "_send", capture)
    asyncio.run(chat._answer("what band?"))
    assert [r.content for r in sent] == [APOLOGY] and "secret" not in sent[0].content
    assert "secret internal detail" in caplog.text


def test_a_finished_chat_leaves_nothing_in_chainlits_chat_contexts():
    """Chainlit never drops a session's messages from its global dict (chainlit#2951): we do, at chat end."""
    from chainlit.chat_context import chat_contexts
    from chainlit.config import config

    from assistant.web import chat

    chat_contexts["session-1"] = ["a message"]  # type: ignore[list-item]
    chat_contexts["session-2"] = []
    chat.forget_chat_context("session-1")
    chat.forget_chat_context("never-seen")
    assert "session-1" not in chat_contexts and "session-2" in chat_contexts
    chat_contexts.pop("session-2")
    assert config.code.on_chat_end is not None  # registered when chat.py is imported


def test_sqlite_engines_use_wal_and_wait_for_the_lock(web: WebSettings):
    from assistant.web.store import SQLITE_BUSY_TIMEOUT_MS, make_engine

    async def pragmas():
        engine = make_engine(web)
        try:
            async with engine.connect() as conn:
                mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
                busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
                sync = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
        finally:
            await engine.dispose()
        return mode, busy, sync

    assert asyncio.run(pragmas()) == ("wal", SQLITE_BUSY_TIMEOUT_MS, 1)  # 1 = NORMAL


def test_chat_writes_from_many_sessions_at_once_all_land(web: WebSettings, monkeypatch, caplog):
    """Chainlit persists each step from its own task; under load many arrive at once. On SQLite the
    data layer used to fail them with "database is locked" or a pool timeout, logged only as a warning
    (the rows were lost). Every one must be stored."""
    from chainlit.data.sql_alchemy import SQLAlchemyDataLayer

    from assistant.web.chat import CareersDataLayer
    from assistant.web.schema import ensure_schema
    from assistant.web.store import make_engine

    monkeypatch.setattr(SQLAlchemyDataLayer, "create_step", SQLAlchemyDataLayer.create_step.__wrapped__)
    sessions, steps_each = 40, 6

    async def run():
        engine = make_engine(web)
        await ensure_schema(engine)
        await engine.dispose()
        layer = CareersDataLayer(conninfo=web.database_url)
        assert layer.durable.sqlite  # the SQLite path under test
        await asyncio.gather(*(
            layer.create_step({"id": f"s{t}-{i}", "threadId": f"t{t}", "name": "User", "type": "user_message",
                               "output": f"question {i}", "streaming": False, "createdAt": "2026-01-01T00:00:00Z",
                               "metadata": {}})
            for t in range(sessions) for i in range(steps_each)))
        step = await layer.get_step("s3-2")  # reads go the same way
        await layer.close()
        return step

    stop = threading.Event()

    def answering():  # as on the server: an answer computing in a worker thread, holding the GIL in turns
        while not stop.is_set():
            sum(i * i for i in range(20_000))

    busy = threading.Thread(target=answering)
    busy.start()
    try:
        with caplog.at_level(logging.WARNING, logger="chainlit"):
            step = asyncio.run(run())
    finally:
        stop.set()
        busy.join()
    assert step and step["output"] == "question 2" and step["threadId"] == "t3"
    assert "An error occurred" not in caplog.text and "An unexpected error" not in caplog.text
    assert "A database write failed" not in caplog.text  # nothing needed the spool
    with sqlite3.connect(web.sqlite_path()) as db:
        assert db.execute("select count(*) from steps").fetchone() == (sessions * steps_each,)
        assert db.execute("select count(*) from threads").fetchone() == (sessions,)
