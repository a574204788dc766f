"""Privacy and logs, fast: contact details redacted wherever user text is logged or stored, and no
question can forge a log line."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sqlite3
from pathlib import Path

import pytest

from assistant.privacy import EMAIL_MARK, PHONE_MARK, SafeLogFormatter, for_log, one_line, redact
from assistant.web.settings import WebSettings

REPO = Path(__file__).resolve().parents[1]
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A question that tries to start a log line of its own after its first line.
FORGED = "What band?\r\n2026-01-01 09:00:00,000 INFO assistant.web.service: admin signed in\u2028\x1b[2Jdone"
RECORD_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} ")


@pytest.mark.parametrize("text", [
    "jane.doe@example.com", "Jane.Doe+careers@mail.example.co.uk", "first_last@sub-domain.example.org",
    "ÉLODIE@example.fr",
])
def test_emails_are_redacted(text):
    assert redact(f"Email me at {text}, thanks") == f"Email me at {EMAIL_MARK}, thanks"


@pytest.mark.parametrize("text", [
    "07700 900123", "07700900123", "07700-900-123", "+44 7700 900123", "+447700900123", "+44 (0)7700 900 123",
    "(020) 7946 0958", "020 7946 0958", "0161 496 0000", "0800 123 4567", "0044 20 7946 0958",
    "+1 (555) 123-4567", "+1-555-123-4567", "555-123-4567", "(555) 123-4567", "555.123.4567",
    "+33 1 23 45 67 89", "+91 98765 43210", "+61 2 9876 5432",
])
def test_phone_numbers_in_uk_and_international_formats_are_redacted(text):
    assert redact(f"Call me on {text}.") == f"Call me on {PHONE_MARK}."
    assert redact(f"{text}") == PHONE_MARK


@pytest.mark.parametrize("text", [
    "How much do OT support workers earn? £24,000 to £30,000", "37.5 hours a week", "band 3 or band 4",
    "Last updated 10 September 2018", "retrieved 2024-05-01", "from 2018 to 2024", "£20,329 to £24,881",
    "01/02/2024", "1,234,567,890", "version 1.2.3.4", "user@localhost", "a@b.c", "team of 12 in 3 wards",
    "salary 24000-30000", "ref 123456789012",
])
def test_figures_dates_and_ordinary_text_are_left_alone(text):
    assert redact(text) == text


def test_several_numbers_in_a_row_are_each_redacted():
    assert redact("07700 900123 07700 900124") == f"{PHONE_MARK} {PHONE_MARK}"
    assert redact("ring 2024 or 07700 900123, or +44 20 7946 0958") == f"ring 2024 or {PHONE_MARK}, or {PHONE_MARK}"


def test_one_line_escapes_every_line_break_and_control_character():
    out = one_line(FORGED + "\x00\x85\u2029\t")
    assert "\n" not in out and "\r" not in out and "\x1b" not in out and "\u2028" not in out
    assert out.endswith("done\\x00\\x85\\u2029\\t")
    assert out.startswith("What band?\\r\\n2026-01-01")


def test_for_log_redacts_flattens_and_shortens():
    assert for_log("call 07700 900123\nplease") == f"call {PHONE_MARK}\\nplease"
    long = for_log("x" * 5000 + " jane@example.com", limit=50)
    assert len(long) == 50 and long.endswith("…")
    assert for_log(b"\xff") == "b'\\xff'"  # not text: its repr


def _formatted(*records) -> str:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(SafeLogFormatter(LOG_FORMAT))
    logger = logging.getLogger("test.privacy.format")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    for emit in records:
        emit(logger)
    return out.getvalue()


def test_a_question_cannot_forge_a_log_line():
    text = _formatted(lambda log: log.info("question=%s", FORGED), lambda log: log.warning("next record"))
    lines = text.splitlines()
    assert len(lines) == 2 and all(RECORD_START.match(line) for line in lines)
    assert "admin signed in" in lines[0] and "\x1b" not in text


def test_tracebacks_stay_readable_but_every_line_is_marked_and_redacted():
    def fail(log):
        try:
            raise ValueError("bad input\n2026-01-01 09:00:00,000 INFO forged: call 07700 900123")
        except ValueError:
            log.exception("Answering failed for jane@example.com")

    lines = _formatted(fail).splitlines()
    assert RECORD_START.match(lines[0]) and lines[0].endswith(f"Answering failed for {EMAIL_MARK}")
    assert len(lines) > 3 and all(line.startswith(SafeLogFormatter.CONTINUATION) for line in lines[1:])
    assert not any(RECORD_START.match(line) for line in lines[1:])
    assert lines[-1] == f"{SafeLogFormatter.CONTINUATION}2026-01-01 09:00:00,000 INFO forged: call {PHONE_MARK}"


def test_the_server_formats_every_handler_safely(monkeypatch):
    from assistant.web.server import configure_logging

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [logging.StreamHandler(io.StringIO())])
    configure_logging()
    assert all(isinstance(h.formatter, SafeLogFormatter) for h in root.handlers)




@pytest.fixture
def web(tmp_path: Path) -> WebSettings:
    return WebSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/db/assistant.db")


def test_service_logs_and_stores_questions_without_contact_details(hash_assistant, web):
    from assistant.web.schema import ensure_schema
    from assistant.web.service import AnswerService
    from assistant.web.store import UnansweredStore, make_engine

    question = "How much does a paramedic earn? jane@example.com 07700 900123\r\n2026-01-01 INFO forged"

    async def run():
        engine = make_engine(web)
        await ensure_schema(engine)
        svc = AnswerService(hash_assistant, UnansweredStore(engine))
        answer = await svc.converse(svc.conversation(), question, "chat")
        await engine.dispose()
        return answer

    logged = _capture("assistant.web.service", lambda: asyncio.run(run()))
    assert len(logged.splitlines()) == 1 and "chat abstained" in logged
    assert "jane@" not in logged and "900123" not in logged and f"{EMAIL_MARK} {PHONE_MARK}" in logged
    with sqlite3.connect(web.sqlite_path()) as db:
        stored, reason = db.execute("select question, reason from unanswered").fetchone()
    assert stored == f"How much does a paramedic earn? {EMAIL_MARK} {PHONE_MARK} 2026-01-01 INFO forged"
    assert "jane" not in (reason or "") and "900123" not in (reason or "")


def test_question_text_can_be_left_out_of_the_log(hash_assistant):
    from assistant.web.service import AnswerService

    svc = AnswerService(hash_assistant, log_questions=False)
    logged = _capture("assistant.web.service",
                      lambda: asyncio.run(svc.converse(svc.conversation(), "What band do OT support workers start on?",
                                                       "api")))
    assert "api answered facet=band" in logged and "question=" not in logged


def _capture(name: str, action) -> str:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(SafeLogFormatter(LOG_FORMAT))
    logger = logging.getLogger(name)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        action()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return out.getvalue()


def test_chainlit_rows_hold_redacted_text_and_no_page_address(web, monkeypatch):
    """What Chainlit's data layer would store for a chat (thread name, user message, the answer's run
    step, feedback comment) goes through CareersDataLayer, which redacts it first."""
    from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
    from chainlit.types import Feedback

    # Outside a chat session, skip Chainlit's wait-for-the-first-message queue (it needs a context).
    for name in ("create_step", "update_step"):
        monkeypatch.setattr(SQLAlchemyDataLayer, name, getattr(SQLAlchemyDataLayer, name).__wrapped__)

    from assistant.web.chat import CareersDataLayer
    from assistant.web.schema import ensure_schema
    from assistant.web.store import make_engine

    question = "Can you call me on 07700 900123 or email jane@example.com about band 3?"

    async def run():
        engine = make_engine(web)
        await ensure_schema(engine)
        await engine.dispose()
        layer = CareersDataLayer(conninfo=web.database_url)
        await layer.update_thread("t1", name=question)
        await layer.create_step({"id": "u1", "threadId": "t1", "name": "User", "type": "user_message",
                                 "output": question, "streaming": False, "createdAt": "2026-01-01T00:00:00Z",
                                 "metadata": {"location": "http://127.0.0.1:8000/?prompt=jane"}})
        await layer.update_step({"id": "r1", "threadId": "t1", "parentId": "u1", "name": "on_message", "type": "run",
                                 "input": question, "output": "", "streaming": False,
                                 "createdAt": "2026-01-01T00:00:01Z", "metadata": {}})
        await layer.upsert_feedback(Feedback(forId="r1", value=0, threadId="t1",
                                             comment="wrong, ring me on +44 20 7946 0958"))
        await layer.close()

    asyncio.run(run())
    with sqlite3.connect(web.sqlite_path()) as db:
        rows = [*db.execute("select name from threads"), *db.execute('select "input", "output", metadata from steps'),
                *db.execute("select comment from feedbacks")]
    text = repr(rows)
    assert "900123" not in text and "jane" not in text and "7946" not in text and "location" not in text
    assert f"Can you call me on {PHONE_MARK} or email {EMAIL_MARK} about band 3?" in text
    assert f"wrong, ring me on {PHONE_MARK}" in text
