"""Hostile clients: session ids that are paths, sessions that are someone else's, disabled features,
other web sites, spoofed proxy headers (issue 9, items 1, 2 and 4).

The fast tests check the pieces (sessions.py, origins.py, guard.py, socketguard.py) and enumerate the
app's routes and socket events as `serve` wires them. The slow ones drive a real `careers-assistant
serve` (hash embedder, one server for the module) with the real python-socketio client, speaking
Chainlit's protocol as benchmarks/load_test.py does.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from conftest import load_test_module

from assistant.web.origins import normalise_origin, origin_allowed, parse_allowed_origins
from assistant.web.sessions import CLIENT_COOKIE, SessionRegistry, is_session_id, session_folder

REPO = Path(__file__).resolve().parents[1]
SID = "0b0e2f4e-5b8a-4c1e-9d2a-3f4e5a6b7c8d"
TOKEN_A, TOKEN_B = "a" * 43, "b" * 43
HOSTILE_IDS = ["../canary", "..", "../index", "../data", "", ".", "/", "..%2Fcanary", "%2e%2e%2fcanary",
               "..%2fdata", "../canary/", "..\\canary", f"{SID}/../../canary", SID.upper(), f" {SID}",
               f"{SID}\x00", f"{SID}/x"]


# --- the pieces -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value", HOSTILE_IDS + [None, 123, ["x"], "/etc", SID.replace("-", "")])
def test_only_a_canonical_uuid_is_a_session_id(value, tmp_path: Path):
    assert not is_session_id(value)
    with pytest.raises(ValueError):
        session_folder(tmp_path, value)  # type: ignore[arg-type]


def test_a_session_folder_is_a_direct_child_even_through_a_symlink(tmp_path: Path):
    root = tmp_path / ".files"
    root.mkdir()
    assert session_folder(root, SID) == (root / SID).resolve()
    outside = tmp_path / "data"
    outside.mkdir()
    other = str(uuid.uuid4())
    (root / other).symlink_to(outside)  # a link planted in .files/ must not lead a delete outside
    with pytest.raises(ValueError):
        session_folder(root, other)


def test_a_session_belongs_to_the_first_browser_that_names_it():
    live: set[str] = set()
    clock = [0.0]
    reg = SessionRegistry(is_live=live.__contains__, idle_seconds=60, clock=lambda: clock[0])
    assert reg.claim(SID, TOKEN_A) and reg.claim(SID, TOKEN_A)  # idempotent for its owner
    assert not reg.claim(SID, TOKEN_B) and reg.owns(SID, TOKEN_A) and not reg.owns(SID, TOKEN_B)
    assert not reg.owns(SID, None) and not reg.owns("../x", TOKEN_A) and not reg.claim("../x", TOKEN_A)
    assert reg.sessions_of(TOKEN_A) == [SID] and reg.sessions_of(TOKEN_B) == []
    stranger = str(uuid.uuid4())
    live.add(stranger)  # live in Chainlit but never bound through us: nobody may claim it
    assert not reg.claim(stranger, TOKEN_B)
    live.add(SID)
    clock[0] = 1000.0
    other = str(uuid.uuid4())
    assert reg.claim(other, TOKEN_B)  # pruning runs: SID is live, so it stays A's
    assert reg.owns(SID, TOKEN_A)
    live.discard(SID)
    clock[0] = 2000.0
    assert reg.claim(str(uuid.uuid4()), TOKEN_B)  # SID ended and idle: forgotten
    assert reg.sessions_of(TOKEN_A) == []


def test_bindings_are_bounded_and_a_live_one_is_never_evicted():
    live: set[str] = set()
    reg = SessionRegistry(is_live=live.__contains__, max_bindings=3)
    ids = [str(uuid.uuid4()) for _ in range(5)]
    for i in ids[:3]:
        assert reg.claim(i, TOKEN_A)
    live.update(ids[:2])
    assert reg.claim(ids[3], TOKEN_A) and len(reg) == 3  # the ended one made room
    live.add(ids[3])
    assert not reg.claim(ids[4], TOKEN_B)  # all live: refused, nobody evicted
    assert all(reg.owns(i, TOKEN_A) for i in ids[:2] + [ids[3]])


def test_origins():
    assert normalise_origin("HTTPS://Careers.Example.org:443") == "https://careers.example.org"
    assert normalise_origin("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    for bad in ("null", "file://", "javascript:alert(1)", "https://a.example/path", "https://u:p@a.example", ""):
        assert normalise_origin(bad) is None
    assert origin_allowed(None, "127.0.0.1:8000")  # no Origin: not a browser page
    assert origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert not origin_allowed("http://127.0.0.1:8001", "127.0.0.1:8000")
    assert not origin_allowed("http://evil.example", "127.0.0.1:8000")
    assert not origin_allowed("null", "127.0.0.1:8000")
    assert origin_allowed("https://careers.example.org", "careers.example.org")  # proxy keeps Host
    assert not origin_allowed("https://careers.example.org", "127.0.0.1:8000")  # proxy rewrites Host...
    allowed = parse_allowed_origins(" https://careers.example.org , http://localhost:3000")
    assert origin_allowed("https://careers.example.org", "127.0.0.1:8000", allowed)  # ...so it is listed
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError, match="CAREERS_ALLOWED_ORIGINS"):  # the CLI: one line, exit 2
        parse_allowed_origins("careers.example.org/chat")


def test_allowed_origins_and_proxy_trust_come_from_the_environment(monkeypatch):
    from assistant.web.guard import proxy_options
    from assistant.web.settings import WebSettings

    monkeypatch.setenv("CAREERS_ALLOWED_ORIGINS", "https://careers.example.org")
    monkeypatch.delenv("CAREERS_TRUST_X_FORWARDED_FOR", raising=False)
    web = WebSettings()
    assert web.allowed_origins == ("https://careers.example.org",)
    assert proxy_options(web) == {"proxy_headers": False}  # uvicorn would trust 127.0.0.1's headers
    monkeypatch.setenv("CAREERS_TRUST_X_FORWARDED_FOR", "1")
    assert proxy_options(WebSettings()) == {"proxy_headers": True}


def test_the_handshake_keeps_only_what_chainlit_may_see():
    from assistant.web.socketguard import clean_auth

    ok = clean_auth({"clientType": "webapp", "sessionId": SID, "threadId": "someone-elses-thread",
                     "userEnv": '{"KEY": "x"}', "chatProfile": "p"})
    assert ok == {"sessionId": SID, "clientType": "webapp", "threadId": "", "userEnv": "{}", "chatProfile": "p"}
    for bad in (None, "x", {"clientType": "webapp", "sessionId": "../canary"}, {"clientType": "slack", "sessionId": SID}):
        assert clean_auth(bad) is None


# --- every route and event, as `serve` wires them --------------------------------------------------

@pytest.fixture(scope="module")
def wired():
    """Chainlit's own app and socket.io server, wired in this process exactly as `serve` wires them."""
    from chainlit.server import app, sio

    from assistant.web.server import wire
    from assistant.web.settings import WebSettings

    if not getattr(app.state, "careers_wired", False):
        wire(app, sio, WebSettings())
        app.state.careers_wired = True
    return app, sio


def test_every_route_is_public_guarded_or_refused(wired):
    from assistant.web.guard import GUARDED, PUBLIC, REFUSED, iter_routes, unclassified

    app, _ = wired
    assert unclassified(app) == [], "classify the new route in assistant/web/guard.py (PUBLIC, GUARDED or REFUSED)"
    first: dict[tuple[str, str], object] = {}
    for method, path, endpoint in iter_routes(app.router.routes):
        first.setdefault((method, path), endpoint)
    for key in GUARDED | REFUSED:
        assert key in first, f"{key} is classified but no longer exists: drop it from guard.py"
        assert getattr(first[key], "__module__", None) == "assistant.web.guard", f"{key} is not answered by the guard"
    assert PUBLIC & (GUARDED | REFUSED) == frozenset()


def test_a_new_route_is_caught(wired):
    from fastapi import FastAPI

    from assistant.web.guard import unclassified

    app = FastAPI()
    app.get("/health")(lambda: None)
    app.post("/project/secret")(lambda: None)
    assert unclassified(app)[-1] == ("POST", "/project/secret")


def test_every_socket_event_is_guarded_allowed_or_refused(wired):
    from assistant.web.socketguard import ALLOWED_EVENTS, GUARDED_EVENTS, REFUSED_EVENTS

    _, sio = wired
    handlers = sio.handlers["/"]
    assert set(handlers) <= GUARDED_EVENTS | ALLOWED_EVENTS | REFUSED_EVENTS, \
        "classify the new socket event in assistant/web/socketguard.py"
    assert getattr(handlers["connect"], "careers_guarded", False)
    assert "edit_message" in REFUSED_EVENTS
    for event in REFUSED_EVENTS & set(handlers):
        assert handlers[event].__name__ == f"refused_{event}"
    for event in ALLOWED_EVENTS:
        assert handlers[event].__module__ == "chainlit.socket"


def test_chainlits_session_folders_are_checked(wired):
    from chainlit.config import FILES_DIRECTORY
    from chainlit.session import HTTPSession

    assert HTTPSession(id=SID, client_type="webapp").files_dir == (FILES_DIRECTORY / SID).resolve()
    with pytest.raises(ValueError):
        HTTPSession(id="../data", client_type="webapp").files_dir  # noqa: B018


# --- the real server ------------------------------------------------------------------------------

lt = load_test_module()
BURST = 30
SESSION_TIMEOUT = 2  # seconds


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("security")
    env = {**os.environ, "CAREERS_EMBEDDER": "hash"}
    subprocess.run([sys.executable, "-m", "assistant", "build", "--quiet", "--corpus", str(REPO / "corpus"),
                    "--index", str(tmp / "index")], cwd=REPO, env=env, check=True, timeout=120, capture_output=True)
    srv = lt.OwnServer(tmp / "index", REPO / "corpus", "hash", extra_env={
        # limits on and slow to refill, so the last test can see spoofed addresses share one bucket
        "CAREERS_RATE_PER_MINUTE": "2", "CAREERS_RATE_BURST": str(BURST), "CAREERS_RELOAD_SECONDS": "0",
        "CAREERS_DATABASE_URL": "sqlite+aiosqlite:///data/assistant.db"},  # relative: ../data is the database
        session_timeout=SESSION_TIMEOUT)  # a closed session's folder is deleted this soon after
    srv.tmp = tmp
    try:
        srv.wait_ready(90)
        yield srv
    finally:
        srv.stop()
        srv.cleanup()


def http(base: str, method: str, path: str, body=None, token: str | None = None,
         headers: dict | None = None) -> tuple[int, dict | str]:
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if token:
        hdrs["Cookie"] = f"{CLIENT_COOKIE}={token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers=hdrs, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


class Chat:
    """One browser tab: its session id, its browser secret, its socket and what it was sent."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base, self.session_id, self.token = base, str(uuid.uuid4()), token
        self.events: asyncio.Queue = asyncio.Queue()
        self.sio = None
        self.seen: list[tuple[str, dict]] = []

    async def open(self) -> "Chat":
        status, issued = await lt.issue_cookie(self.base, self.session_id, self.token)
        assert status == 200
        self.token = self.token or issued
        self.sio = await lt.connect_socket(self.base, self.session_id, self.token, self.events)
        await self.sio.emit("connection_successful")
        return self

    async def ask(self, question: str) -> dict:
        """Send a question as the page does; the assistant's reply once the turn has ended."""
        message = {"threadId": "", "id": str(uuid.uuid4()), "name": "User", "type": "user_message",
                   "output": question, "createdAt": "2026-01-01T00:00:00Z", "metadata": {}}
        await self.sio.emit("client_message", {"message": message, "fileReferences": []})
        reply = None
        async with asyncio.timeout(30):
            while True:
                event, data = await self.events.get()
                self.seen.append((event, data))
                if event == "new_message" and data.get("type") == "assistant_message":
                    reply = data
                elif event == "task_end" and reply is not None:
                    return {**reply, "question_id": message["id"]}

    async def settle(self) -> None:
        """Wait for the last turn's stragglers, so that an empty queue afterwards means nothing came."""
        await asyncio.sleep(0.3)
        while not self.events.empty():
            self.seen.append(self.events.get_nowait())

    async def close(self) -> None:
        if self.sio is not None:
            await self.sio.emit("clear_session")
            await self.sio.disconnect()


async def refused(base: str, session_id, token: str | None, **kw) -> bool:
    import socketio

    try:
        sio = await lt.connect_socket(base, session_id, token, **kw)
    except socketio.exceptions.ConnectionError:
        return True
    # It got in: do what the attack did, so that the test shows the damage. A question makes Chainlit
    # write the side panels into the session's folder; "New chat" (clear_session, then disconnect)
    # deletes the folder at once, if clear_session is handled before the disconnect.
    await sio.emit("connection_successful")
    await sio.emit("client_message", {"message": {"threadId": "", "id": str(uuid.uuid4()), "name": "User",
                                                  "type": "user_message", "output": "What band?",
                                                  "createdAt": "2026-01-01T00:00:00Z", "metadata": {}},
                                      "fileReferences": []})
    await asyncio.sleep(1.0)
    await sio.emit("clear_session")
    await asyncio.sleep(0.3)
    await sio.disconnect()
    return False


def db_rows(srv, query: str, *args) -> list[tuple]:
    with sqlite3.connect(srv.root / "data" / "assistant.db") as db:
        return db.execute(query, args).fetchall()


def wait_rows(srv, query: str, *args, timeout: float = 10) -> list[tuple]:
    deadline = time.monotonic() + timeout
    while not (found := db_rows(srv, query, *args)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


@pytest.mark.slow
def test_session_ids_that_are_paths_touch_nothing(server):
    root, outside = server.root, server.tmp / "absolute-canary"
    canaries = [root / "canary", root / "index", outside, root / ".files" / "canary"]
    for folder in canaries:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "keep.txt").write_text("still here")
    database = root / "data" / "assistant.db"
    assert database.exists()

    async def probe():
        legit = await Chat(server.base).open()
        # Never "/" (nor any path outside this test's folder) against a live server: if the guard ever
        # failed, Chainlit would delete that folder recursively. An earlier run of this probe against the
        # unguarded server deleted this machine's /etc. The validator test above covers "/" safely.
        for bad in [b for b in HOSTILE_IDS if b != "/"] + [str(outside), str(root / "data"), None, 123]:
            status, _ = await lt.issue_cookie(server.base, bad)  # type: ignore[arg-type]
            assert status == 400, bad
            for token in (legit.token, None):
                assert await refused(server.base, bad, token), f"connected with sessionId {bad!r}"
        # a proper id in the wrong shape of handshake, or from a client type not served
        assert await refused(server.base, None, legit.token, auth={"clientType": "webapp"})
        assert await refused(server.base, None, legit.token, auth={"clientType": "copilot",
                                                                   "sessionId": str(uuid.uuid4())})
        reply = await legit.ask("What band do OT support workers start on?")  # the server keeps answering
        await legit.close()
        return reply

    reply = asyncio.run(probe())
    assert "band 3" in reply["output"]
    assert http(server.base, "GET", "/project/file/x?session_id=..%2F..%2Fdata")[0] == 403
    status, page = http(server.base, "GET", "/project/file/..%2F..%2Fdata?session_id=" + SID)
    assert status == 200 and page.startswith("<!doctype html>")  # no file route matches: the UI's catch-all
    time.sleep(SESSION_TIMEOUT + 1.5)  # every session opened above has ended and been deleted
    for folder in canaries:
        assert [p.name for p in folder.iterdir()] == ["keep.txt"], folder  # nothing deleted, nothing written
        assert (folder / "keep.txt").read_text() == "still here", folder
    assert database.exists() and db_rows(server, "select count(*) from steps")[0][0] > 0
    others = [p.name for p in (root / ".files").iterdir() if p.name != "canary"]
    assert all(is_session_id(name) for name in others), others
    assert lt.get_json(f"{server.base}/health")["status"] == "ok"


@pytest.mark.slow
def test_a_session_is_only_its_own_browsers(server):
    async def run():
        a = await Chat(server.base).open()
        reply = await a.ask("What band do OT support workers start on?")
        await a.settle()
        b = await Chat(server.base).open()
        sid = a.session_id
        assert (await lt.issue_cookie(server.base, sid))[0] == 403  # B names A's session: refused
        assert (await lt.issue_cookie(server.base, sid, b.token))[0] == 403
        assert await refused(server.base, sid, b.token) and await refused(server.base, sid, None)
        panels = [d for e, d in a.seen if e == "element" and d.get("chainlitKey")]
        assert panels, "the answer should come with its side panels"
        file = f"/project/file/{panels[0]['chainlitKey']}?session_id={sid}"
        status, text = http(server.base, "GET", file, token=a.token)
        assert status == 200 and text
        assert http(server.base, "GET", file, token=b.token)[0] == 403
        assert http(server.base, "GET", file)[0] == 403
        action = {"sessionId": sid, "action": {"name": "ask_suggestion", "payload": {"question": "pushed in"}}}
        assert http(server.base, "POST", "/project/action", action, token=b.token)[0] == 403
        element = {"sessionId": sid, "element": {"type": "custom", "id": "x", "name": "x", "display": "inline"}}
        assert http(server.base, "PUT", "/project/element", element, token=b.token)[0] == 403
        assert http(server.base, "DELETE", "/project/element", element)[0] == 403
        for method, path in (("POST", "/project/threads"), ("GET", f"/project/thread/{reply['threadId']}"),
                             ("DELETE", "/project/thread"), ("POST", f"/project/file?session_id={sid}"),
                             ("POST", "/mcp"), ("POST", "/login")):
            assert http(server.base, method, path, {}, token=a.token)[0] == 404, path
        await asyncio.sleep(0.5)
        assert a.events.empty()  # nothing was pushed into A's page
        await a.close()
        await b.close()

    asyncio.run(run())


@pytest.mark.slow
def test_feedback_only_for_your_own_steps(server):
    async def run():
        a = await Chat(server.base).open()
        reply = await a.ask("How many hours do OT support workers work?")
        thread = reply["threadId"]
        run_step = wait_rows(server, "select id from steps where \"threadId\" = ? and type = 'run'", thread)[0][0]
        b = await Chat(server.base).open()

        def put(session_id, token, **feedback):
            body = {"sessionId": session_id, "feedback": {"forId": run_step, "value": 1, "threadId": thread, **feedback}}
            return http(server.base, "PUT", "/feedback", body, token=token)

        assert put(b.session_id, b.token)[0] == 403  # B's own session, A's step
        assert put(a.session_id, b.token)[0] == 403  # A's session named, B's cookie
        assert put(str(uuid.uuid4()), b.token)[0] == 403  # an invented session
        assert put(a.session_id, None)[0] == 403
        status, body = put(a.session_id, a.token, comment="x" * 2001)
        assert status == 400 and "x" * 50 not in json.dumps(body)
        assert db_rows(server, "select count(*) from feedbacks")[0][0] == 0
        status, body = put(a.session_id, a.token, comment="Clear")
        assert status == 200 and body["success"]
        feedback_id = body["feedbackId"]
        assert db_rows(server, 'select "forId", comment from feedbacks') == [(run_step, "Clear")]
        assert put(a.session_id, b.token, id=feedback_id, comment="overwritten")[0] == 403
        for token in (b.token, None):
            status, _ = http(server.base, "DELETE", "/feedback", {"feedbackId": feedback_id}, token=token)
            assert status == 403
        assert db_rows(server, "select comment from feedbacks") == [("Clear",)]
        status, _ = http(server.base, "DELETE", "/feedback", {"feedbackId": feedback_id}, token=a.token)
        assert status == 200 and db_rows(server, "select count(*) from feedbacks")[0][0] == 0
        await a.close()
        await b.close()

    asyncio.run(run())


@pytest.mark.slow
def test_editing_a_sent_message_and_other_disabled_features_are_refused(server):
    async def run():
        a = await Chat(server.base).open()
        first = await a.ask("What band do OT support workers start on?")
        await a.settle()
        question_id = first["question_id"]
        wait_rows(server, "select id from steps where id = ?", question_id)
        before = db_rows(server, 'select id, output from steps where "threadId" = ? order by id', first["threadId"])
        edited = {"message": {"id": question_id, "output": "rewritten", "threadId": first["threadId"],
                              "type": "user_message", "name": "User", "createdAt": "2026-01-01T00:00:00Z"}}
        await a.sio.emit("edit_message", edited)
        await a.sio.emit("chat_settings_change", {"injected": "x" * 100})
        await a.sio.emit("window_message", {"x": 1})
        await a.sio.emit("message_favorite", edited)
        await asyncio.sleep(1.0)
        assert a.events.empty(), "an edit must not be answered"
        after = db_rows(server, 'select id, output from steps where "threadId" = ? order by id', first["threadId"])
        assert after == before and "rewritten" not in json.dumps(after)
        again = await a.ask("and how many hours do they work?")  # the session still works
        assert again["output"]
        await a.close()

    asyncio.run(run())
    assert "Refused socket event edit_message" in server.log()


@pytest.mark.slow
def test_pages_of_other_web_sites_are_refused(server):
    evil = {"Origin": "http://evil.example"}
    status, body = http(server.base, "POST", "/api/ask", {"question": "What band?"}, headers=evil)
    assert status == 403 and "other web sites" in body["detail"]
    assert http(server.base, "PUT", "/feedback", {}, headers=evil)[0] == 403
    assert http(server.base, "GET", "/health", headers=evil)[0] == 200  # reading is not acting
    same = {"Origin": server.base}

    async def run():
        a = await Chat(server.base).open()
        assert await refused(server.base, a.session_id, a.token, headers=evil)
        assert await refused(server.base, a.session_id, a.token, headers={"Origin": "null"})
        sio = await lt.connect_socket(server.base, a.session_id, a.token, headers=same)  # its own page: fine
        await sio.disconnect()
        await a.close()

    asyncio.run(run())


@pytest.mark.slow
def test_spoofed_forwarded_for_shares_one_rate_limit(server):
    """Last in the module: it spends the bucket of 127.0.0.1."""
    statuses = [http(server.base, "POST", "/api/ask", {"question": "What band do OT support workers start on?"},
                     headers={"X-Forwarded-For": f"203.0.113.{i}"})[0] for i in range(40)]
    assert set(statuses) <= {200, 429} and statuses.count(200) <= BURST and statuses.count(429) >= 40 - BURST
    assert statuses[-1] == 429

    async def run():
        a = Chat(server.base)
        status, a.token = await lt.issue_cookie(server.base, a.session_id)
        a.sio = await lt.connect_socket(server.base, a.session_id, a.token, a.events,
                                        headers={"X-Forwarded-For": "198.51.100.7"})
        await a.sio.emit("connection_successful")
        reply = await a.ask("What band do OT support workers start on?")
        await a.close()
        return reply

    from assistant.web.present import slow_down_text

    assert asyncio.run(run())["output"].startswith(slow_down_text(1)[:40])
    assert "Traceback" not in server.log()
