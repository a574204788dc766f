"""Fast tests of the request bounds, error replies, headers and log routing (no server process, no model).

The wrappers run on a real FastAPI app through Starlette's TestClient; the service and the API run on
the small real Assistant (hash embedder over the real corpus). tests/test_web_hardening.py repeats the
important probes against the real server.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import warnings

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from assistant.models import Facet, Turn
from assistant.privacy import SafeLogFormatter, one_line
from assistant.web.headers import SecurityHeaders, content_security_policy, inline_script_hashes, security_headers
from assistant.web.limits import UNREADABLE, BodyLimit, RequestLimits, request_cost
from assistant.web.logs import route_all_logs
from assistant.web.ratelimit import RateLimiter
from assistant.web.replies import install_error_replies
from assistant.web.sockets import SOCKET_ERROR_BODY, QuietSocketErrors

SECRET = "<script>alert('echoed')</script>"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str
    count: int = 0


def small_app(max_bytes: int = 1000) -> TestClient:
    app = FastAPI()
    install_error_replies(app)

    @app.post("/echo")
    async def echo(body: Body):
        return {"length": len(body.question)}

    @app.get("/boom")
    async def boom():
        from fastapi import HTTPException
        raise HTTPException(status_code=500, detail="secret internal detail")

    @app.get("/ws/socket.io/")
    async def socket_error():
        from fastapi.responses import PlainTextResponse
        return PlainTextResponse(f"Invalid session {SECRET}", status_code=400)

    served = SecurityHeaders(QuietSocketErrors(BodyLimit(app, max_bytes), "/ws/socket.io"),
                             security_headers(content_security_policy(["'sha256-x'"])))
    return TestClient(served)


def test_a_body_over_the_limit_is_refused_before_parsing_declared_or_streamed():
    client = small_app()
    big = json.dumps({"question": "x" * 5000})
    r = client.post("/echo", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "1,000 bytes" in r.json()["error"] and "xxxx" not in r.text

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(10):
            yield b'{"question": "' + b"x" * 200
    r = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.post("/echo", json={"question": "fits"}).json() == {"length": 4}


def test_422_names_fields_but_never_echoes_the_input():
    client = small_app(max_bytes=100_000)
    r = client.post("/echo", json={"question": 5, "count": SECRET, SECRET: 1})
    assert r.status_code == 422
    assert "script" not in r.text and "echoed" not in r.text
    fields = {f["location"]: f["problem"] for f in r.json()["fields"]}
    assert fields == {"body.question": "string_type", "body.count": "int_parsing", "body.…": "extra_forbidden"}


@pytest.mark.parametrize("body, problem", [
    (b'{"question": "caf\xff"}', "UTF-8"),
    (b'{"question": "lone \\ud800 surrogate"}', "lone surrogate"),
    (b'{"question": "low \\uDC00 first"}', "lone surrogate"),
    (b'{"question": ', "not valid JSON"),
    (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
])
def test_undecodable_text_gets_400_with_what_to_fix(body, problem):
    r = small_app(max_bytes=200_000).post("/echo", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400 and problem in r.json()["error"]


def test_a_whole_surrogate_pair_is_text_and_passes():
    r = small_app().post("/echo", content=b'{"question": "\\ud83d\\ude00"}', headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json() == {"length": 1}


def test_5xx_and_socket_errors_say_nothing_of_the_cause_and_every_reply_has_the_headers():
    client = small_app()
    boom = client.get("/boom")
    assert boom.status_code == 500 and "secret" not in boom.text
    sock = client.get("/ws/socket.io/")
    assert sock.status_code == 400 and sock.content == SOCKET_ERROR_BODY
    for r in (boom, sock, client.post("/echo", json={"question": "q"})):
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'sha256-x'" in csp
        assert "unsafe-eval" not in csp and "script-src 'self' 'sha256-x'" in csp


def test_inline_scripts_are_hashed_exactly():
    import base64
    import hashlib

    body = "\n      const global = globalThis;\n    "  # whitespace included: the hash is of the exact text
    html = f'<script>{body}</script><script type="module" src="/a.js"></script><SCRIPT defer>x</SCRIPT>'
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    x = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    assert inline_script_hashes(html) == [f"'sha256-{digest}'", f"'sha256-{x}'"]


def test_bidi_controls_and_surrogates_are_escaped_in_log_lines():
    assert one_line("ok\u202eRORRE\u2066x\u200fy\ud800") == "ok\\u202eRORRE\\u2066x\\u200fy\\ud800"


def test_library_loggers_with_their_own_console_handlers_go_through_the_safe_formatter(monkeypatch):
    out = io.StringIO()
    root_handler = logging.StreamHandler(out)
    root_handler.setFormatter(SafeLogFormatter("%(levelname)s %(name)s: %(message)s"))
    monkeypatch.setattr(logging.getLogger(), "handlers", [root_handler])
    lib = logging.getLogger("test.limits.engineio_like")
    own = logging.StreamHandler(sys.stderr)  # what engineio adds to engineio.server
    lib.addHandler(own)
    lib.propagate = True
    quiet = logging.getLogger("test.limits.no_propagate")
    quiet.propagate = False
    py_warnings = logging.getLogger("py.warnings")  # as a fresh process has it, whatever tests before did
    for attr, value in (("handlers", []), ("propagate", True), ("disabled", False), ("level", logging.NOTSET)):
        monkeypatch.setattr(py_warnings, attr, value)
    monkeypatch.setattr(logging.root.manager, "disable", logging.NOTSET)
    # An earlier test's route_all_logs left logging believing it captures warnings, while pytest put
    # warnings.showwarning back after that test: start from "not captured", as a new process does.
    logging.captureWarnings(False)
    try:
        changed = route_all_logs("%(message)s")
        assert "test.limits.engineio_like" in changed and own not in lib.handlers
        assert quiet.propagate
        lib.error("Invalid session %s", "abc\n2026-01-01 ERROR FORGED")
        quiet.error("silenced \u202e before")
        with warnings.catch_warnings():  # an earlier test may have shown this warning once already
            warnings.simplefilter("always")
            warnings.warn("careful\n2026-01-01 ERROR WARNED", UserWarning, stacklevel=1)
    finally:
        lib.removeHandler(own)
        logging.captureWarnings(False)
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["ERROR test.limits.engineio_like: Invalid session abc\\n2026-01-01 ERROR FORGED",
                         "ERROR test.limits.no_propagate: silenced \\u202e before"]
    assert len(lines) == 3 and lines[2].startswith("WARNING py.warnings: ") and "careful\\n2026-01-01" in lines[2]


# --- history and cost, on the small real Assistant ------------------------------------------------

def test_history_is_read_not_answered_and_a_clients_subject_must_be_known(hash_assistant, monkeypatch):
    from assistant.web.service import AnswerService

    answered: list[str] = []
    original = type(hash_assistant).respond

    def counting(self, question, history=None):
        answered.append(question)
        return original(self, question, history)

    monkeypatch.setattr(type(hash_assistant), "respond", counting)
    svc = AnswerService(hash_assistant)
    history = ["what band do OT support workers start on?"] * 9 + [
        Turn(question="what band?", facet=Facet.pay, subject=SECRET)]
    conversation = svc.conversation()
    answer = asyncio.run(svc.converse(conversation, "and how much?", "api", history=history))
    assert answered == ["and how much?"]  # the ten history items cost no answer
    assert len(conversation.turns) == 11 and conversation.turns[0].facet == Facet.band
    assert conversation.turns[9].subject is None  # the unknown subject was dropped, not echoed
    assert "script" not in answer.answer
    assert hash_assistant.known_subject(conversation.turns[0].subject)


def test_a_lone_surrogate_in_a_chat_question_is_refused_politely(hash_assistant):
    from assistant.web.service import AnswerService

    svc = AnswerService(hash_assistant)
    answer = asyncio.run(svc.converse(svc.conversation(), "what band \ud800?", "chat"))
    assert answer.error == UNREADABLE and answer.abstained and "\ud800" not in answer.question


def test_the_rate_limit_counts_history_as_work(hash_assistant):
    from assistant.web.api import build_router
    from assistant.web.service import AnswerService

    now = [0.0]
    limiter = RateLimiter(per_minute=1, burst=4, clock=lambda: now[0])
    limits = RequestLimits()
    app = FastAPI()
    install_error_replies(app)  # without it FastAPI's 422 would quote the 2,001 x's back
    app.include_router(build_router(lambda: AnswerService(hash_assistant), lambda: limiter, limits=limits))
    client = TestClient(app)
    history = ["what band do OT support workers start on?"] * 10
    assert request_cost(10, limits) == 2.0
    codes = [client.post("/api/ask", json={"question": "how many hours?", "history": history}).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]  # 2 + 2 tokens spent of 4; a plain question would have had 4
    assert client.post("/api/ask", json={"question": "q", "history": history + ["one more"]}).status_code == 422
    long = client.post("/api/ask", json={"question": "q", "history": ["x" * 2001]})
    assert long.status_code == 422 and "xxx" not in long.text
