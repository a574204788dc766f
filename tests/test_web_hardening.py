"""The probes of issue 9 (cost, size, errors, headers, logs), rerun against the real server.

One `python -m assistant serve` for the module, on loopback, rate limit off (the fuzzer sends
hundreds of requests; tests/test_web_limits.py tests the work-based limit itself). Every request goes
to 127.0.0.1 only; loads are bounded in count and time.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import select
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from assistant.web.limits import RequestLimits
from assistant.web.present import APOLOGY
from test_web_browser import BAND_Q, Server, browser, open_chat, real_index, running_server  # noqa: F401

pytestmark = pytest.mark.slow

RECORD_START = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} [A-Z]+ ")
MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(real_index: Path, tmp_path_factory):  # noqa: F811
    with running_server(real_index, tmp_path_factory.mktemp("hardened"), {"CAREERS_RATE_PER_MINUTE": "0"}) as s:
        yield s


def request(server: Server, path: str, body: bytes | None = None, method: str | None = None,
            headers: dict | None = None, timeout: float = 60):
    """(status, the response's headers (case-insensitive, repeats kept), body), for any status."""
    req = urllib.request.Request(server.base + path, data=body, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def ask(server: Server, payload: dict) -> tuple[int, dict]:
    status, _, body = request(server, "/api/ask", json.dumps(payload).encode())
    return status, json.loads(body)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def post_huge(server: Server, total: int, chunked: bool) -> int | None:
    """POST `total` bytes (declared, or chunked without a length) through a raw socket, stopping as
    soon as the server answers; the status it answered, or None if it only closed the connection."""
    parts = urlsplit(server.base)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
        s.sendall(f"POST /api/ask HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
                  f"{length}\r\n\r\n".encode())
        block, sent = b"a" * 65536, 0
        try:
            while sent < total:
                if select.select([s], [], [], 0)[0]:
                    break  # the server has answered: stop sending
                s.sendall(b"%x\r\n%b\r\n" % (len(block), block) if chunked else block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            head = s.recv(200)
        except ConnectionResetError:
            return None
        match = re.match(rb"HTTP/1\.1 (\d{3})", head)
        return int(match.group(1)) if match else None


def test_every_reply_has_the_security_headers_and_no_server_banner(server: Server):
    for path, body in (("/", None), ("/health", None), ("/api/ask", b'{"question": "what band?"}'),
                       ("/assets/nothing-here.js", None), ("/ws/socket.io/?EIO=4&transport=bogus", None)):
        status, headers, _ = request(server, path, body)
        assert "server" not in headers, path
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        csp = headers["content-security-policy"]
        assert csp.startswith("default-src 'self'") and "frame-ancestors 'none'" in csp
    status, _, body = request(server, "/health")
    assert json.loads(body).keys() == {"status", "documents", "chunks"}  # no manifest


def test_100_mb_bodies_get_413_unread_and_memory_stays_flat(server: Server):
    before = rss_kib(server.pid)
    results: list[int | None] = []
    health_ms: list[float] = []

    def huge(chunked: bool) -> None:
        results.append(post_huge(server, 100 * MB, chunked))

    threads = [threading.Thread(target=huge, args=(i % 2 == 1,)) for i in range(4)]
    for t in threads:
        t.start()
    started = time.monotonic()
    request(server, "/health", timeout=10)
    health_ms.append((time.monotonic() - started) * 1000)
    for t in threads:
        t.join(60)
    grown_mb = (rss_kib(server.pid) - before) / 1024
    print(f"4 x 100 MB posts: {results}; RSS grew {grown_mb:.1f} MB; /health meanwhile {health_ms[0]:.0f} ms")
    assert results == [413] * 4
    assert grown_mb < 20  # at most max_body_bytes (256 KiB) each was ever held
    assert health_ms[0] < 2000
    status, _, body = request(server, "/api/ask", b'{"question": "' + b"x" * (RequestLimits().max_body_bytes) + b'"}')
    assert status == 413 and b"xxxx" not in body


def test_4xx_replies_never_echo_and_bad_text_gets_400(server: Server):
    marker = "<script>echo-me</script>"
    status, _, body = request(server, "/api/ask", json.dumps({"question": 7, "history": [{"question": marker,
                                                                                          "facet": marker}],
                                                               marker: marker}).encode())
    assert status == 422 and b"echo-me" not in body and b"script" not in body
    status, body = ask(server, {"question": "x" * 20_001})
    assert status == 422 and "xxxx" not in json.dumps(body)
    for raw, expected in ((b'{"question": "what band \\ud800?"}', "lone surrogate"),
                          (b'{"question": "caf\xff"}', "UTF-8"), (b'{"question": ', "not valid JSON")):
        status, _, body = request(server, "/api/ask", raw)
        assert status == 400 and expected in json.loads(body)["error"], raw
    status, _, body = request(server, "/feedback", b'{"comment": "\\udfff", "forId": "x", "value": 1}', method="PUT")
    assert status == 400  # Chainlit's routes too, before they parse anything


def test_history_is_capped_read_not_answered_and_unknown_subjects_dropped(server: Server):
    status, body = ask(server, {"question": BAND_Q, "history": ["what band?"] * 11})
    assert status == 422 and body["fields"][0]["location"] == "body.history"
    status, body = ask(server, {"question": "and how much?", "history": [
        {"question": "what band?", "facet": "pay", "subject": "<script>x</script>"}]})
    assert status == 200 and "script" not in body["answer"]
    long_history = [f"{BAND_Q} " + "and what about the hours they work, please? " * 20] * 10  # ~900 characters each

    def timed(payload: dict) -> tuple[float, int]:
        started = time.monotonic()
        code, _ = ask(server, payload)
        return time.monotonic() - started, code

    plain = timed({"question": BAND_Q})[0]
    heavy: list[tuple[float, int]] = []
    threads = [threading.Thread(target=lambda: heavy.append(timed({"question": "and the hours?",
                                                                   "history": long_history})))
               for _ in range(15)]  # the probe: 15 such requests made another visitor wait 65 s
    for t in threads:
        t.start()
    time.sleep(0.2)
    other = timed({"question": BAND_Q})
    for t in threads:
        t.join(120)
    slowest = max(s for s, _ in heavy)
    print(f"plain {plain * 1000:.0f} ms; during 15 ten-turn requests another visitor waited "
          f"{other[0] * 1000:.0f} ms; slowest of the 15 {slowest * 1000:.0f} ms")
    assert other[1] == 200 and all(code == 200 for _, code in heavy)
    assert other[0] < 10 and slowest < 20  # was 65 s when each history turn was answered again
    status, body = ask(server, {"question": "and how many hours do they work?", "history": [BAND_Q]})
    assert "37.5" in body["answer"] and not body["abstained"]  # a text history still carries the subject


def test_a_forged_log_line_and_bidi_controls_are_escaped(server: Server):
    # engine.io logs a bad sid at ERROR once per server (then at INFO, below its level): no other test
    # here may send one first.
    request(server, "/ws/socket.io/?EIO=4&transport=polling&sid=abc%0A2026-01-01%20ERROR%20FORGED%E2%80%AE")
    request(server, "/api/ask", json.dumps({"question": "what band\u202e do they \r\n2026-01-01 ERROR FAKE"}).encode())
    time.sleep(0.5)
    text = server.log.read_text(encoding="utf-8")
    assert "\u202e" not in text
    forged = [line for line in text.splitlines() if "FORGED" in line or "FAKE" in line]
    assert len(forged) >= 2 and all(RECORD_START.match(line) for line in forged), forged
    assert any("Invalid session abc\\n2026-01-01 ERROR FORGED\\u202e" in line for line in forged), forged
    assert not any(line.startswith("2026-01-01") for line in text.splitlines())


# --- socket.io ----------------------------------------------------------------------------------

async def _chat(server: Server, emits: list[tuple[str, object]], wait: float = 2.0) -> tuple[list, bool]:
    """Connect as the page does (session cookie first, sent back with the socket's handshake), emit
    each event, and return what came back, and whether the server closed the connection."""
    import socketio

    session_id = str(uuid.uuid4())
    got: list[tuple[str, object]] = []
    closed = asyncio.Event()
    status, headers, _ = request(server, "/set-session-cookie", json.dumps({"session_id": session_id}).encode())
    assert status == 200
    cookies = "; ".join(c.split(";", 1)[0] for c in headers.get_all("Set-Cookie") or [])
    sio = socketio.AsyncClient(reconnection=False)

    @sio.on("*")
    async def _any(event, data=None):
        got.append((event, data))

    @sio.event
    async def disconnect(reason=None):
        closed.set()

    await sio.connect(server.base, socketio_path="/ws/socket.io", transports=["websocket"], wait_timeout=10,
                      headers={"Cookie": cookies, "Origin": server.base},
                      auth={"clientType": "webapp", "sessionId": session_id, "threadId": "", "userEnv": "{}",
                            "chatProfile": ""})
    await sio.emit("connection_successful")
    for event, payload in emits:
        await sio.emit(event, payload)
        await asyncio.sleep(wait)
    was_closed = closed.is_set()
    await sio.disconnect()
    return got, was_closed


def _message(text: str) -> dict:
    return {"message": {"threadId": "", "id": str(uuid.uuid4()), "name": "User", "type": "user_message",
                        "output": text, "createdAt": datetime.now(timezone.utc).isoformat(), "metadata": {}},
            "fileReferences": []}


def test_malformed_events_get_no_exception_text_and_a_surrogate_question_keeps_its_rows(server: Server):
    malformed = [("client_message", "x"), ("client_message", {"message": "x"}),
                 ("client_message", {"message": {"id": "not-a-uuid"}})]
    got, _ = asyncio.run(_chat(server, malformed + [("client_message", _message("what band \ud800 do they start on?"))]))
    shown = [d.get("output", "") for e, d in got if e == "new_message" and isinstance(d, dict)
             and d.get("type") == "assistant_message"]
    assert shown[:3] == [APOLOGY] * 3, shown
    assert any("cannot be read" in s for s in shown[3:]), shown  # UNREADABLE, markdown-escaped
    assert not any(re.search(r"indices|object|Error|Traceback|assert", s) for s in shown)
    deadline = time.monotonic() + 10
    rows: list = []
    while not rows and time.monotonic() < deadline:
        with sqlite3.connect(server.db) as db:
            rows = db.execute("select output from steps where type = 'user_message' and output like ?",
                              ("what band \ufffd do they start on?",)).fetchall()
        time.sleep(0.2)
    assert rows  # the question was stored (the broken character shown as U+FFFD), not lost


def test_a_socket_message_over_the_limit_closes_only_that_connection(server: Server):
    limit = RequestLimits().max_socket_message_bytes
    got, closed = asyncio.run(_chat(server, [("client_message", _message("why " * (limit // 4 + 10)))], wait=2.0))
    assert closed and not any(e == "new_message" and isinstance(d, dict) and d.get("type") == "assistant_message"
                              for e, d in got)
    assert ask(server, {"question": BAND_Q})[0] == 200


# --- the whole HTTP surface, fuzzed -------------------------------------------------------------

# Chainlit's own routes that trust a client's sessionId and fail with 500 on an unknown one: the
# session guard (branch sec-a, assistant/web/guard.py) refuses them first. Until it is merged their
# 5xx are an expected failure here, and any other 5xx a real one.
GUARDED_ELSEWHERE = {"/set-session-cookie", "/project/element", "/project/action", "/mcp"}


def _fuzz(operation, base: str, examples: int) -> tuple[int, list[str]]:
    """`examples` generated requests to one operation: (requests sent, the 5xx replies)."""
    from hypothesis import HealthCheck, Phase, given, settings

    sent, errors = [0], []

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy())
    def run(case):
        response = case.call(base_url=base, timeout=30)
        sent[0] += 1
        if response.status_code >= 500:
            errors.append(f"{operation.method.upper()} {operation.path} -> {response.status_code}")

    run()
    return sent[0], errors


def test_fuzzing_every_route_of_the_openapi_schema_finds_no_5xx(server: Server):
    import schemathesis

    schema = schemathesis.openapi.from_url(f"{server.base}/openapi.json")
    failures: list[str] = []
    fuzzed: dict[str, int] = {}
    deadline = time.monotonic() + 300  # bounded: about 40 operations x 8 examples take well under a minute here
    for result in schema.get_all_operations():
        if time.monotonic() > deadline:
            break
        operation = result.ok()
        sent, errors = _fuzz(operation, server.base, 8)
        fuzzed[f"{operation.method.upper()} {operation.path}"] = sent
        failures += errors
    print(f"fuzzed {len(fuzzed)} operations, {sum(fuzzed.values())} requests")
    assert "POST /api/ask" in fuzzed and fuzzed["POST /api/ask"] >= 8 and len(fuzzed) >= 30
    elsewhere = {f for f in failures if f.split()[1] in GUARDED_ELSEWHERE}
    assert sorted(set(failures) - elsewhere) == []
    if elsewhere and importlib.util.find_spec("assistant.web.guard") is None:
        pytest.xfail(f"Chainlit session routes fail until the session guard is merged: {sorted(elsewhere)}")
    assert failures == []


# --- the page's Content-Security-Policy, measured in Chromium ------------------------------------

COLLECT = """window.__csp = []; document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push({directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile}));"""
# Chainlit's page links these; they are not granted (nothing leaves the server) and the page works without.
EXTERNAL_STYLESHEETS = ("https://fonts.googleapis.com/", "https://cdn.jsdelivr.net/npm/katex")


def test_the_ui_works_under_the_csp_and_needs_nothing_it_does_not_grant(browser, server: Server):  # noqa: F811
    from playwright.sync_api import expect

    with open_chat(browser, server, init_script=COLLECT) as page:
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.locator("#starter-pay-band").click()
        answer = page.locator('[data-step-type="assistant_message"]')
        expect(answer).to_have_count(1, timeout=30_000)
        expect(answer.first).to_contain_text("band 3")
        answer.first.locator("a.element-link", has_text="[1]").first.click()
        expect(page.locator("#side-view-title")).to_contain_text("[1]")
        answer.first.locator(".positive-feedback-off").click()
        expect(page.get_by_role("dialog").locator("textarea")).to_be_visible()
        page.wait_for_timeout(500)
        violations = page.evaluate("window.__csp")
    unexpected = [v for v in violations if not v["blocked"].startswith(EXTERNAL_STYLESHEETS)]
    assert unexpected == [], unexpected
    assert not [e for e in errors if "Content Security Policy" in e and not any(u in e for u in EXTERNAL_STYLESHEETS)]
