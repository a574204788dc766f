"""Fast, exact tests of the staff sign-in: cookies, CSRF, redirects, throttling, the flow over HTTP.

The HTTP tests run the real middleware and routes on a small FastAPI app (with a catch-all standing in
for Chainlit's) through Starlette's TestClient, on a tmp SQLite database, with cheap Argon2 parameters
(tests/test_staff_accounts.py covers the accounts and the CLI).
"""

from __future__ import annotations

import re
import sqlite3
import time

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from assistant.staff.auth import EXPIRED, WRONG, safe_next
from assistant.staff.base import StaffUser, action_user, page_user
from assistant.staff.middleware import StaffAuth, install_staff
from assistant.staff.sessions import LOGIN_COOKIE, SESSION_COOKIE, Signer
from assistant.staff.throttle import Throttle, ThrottleRule
from assistant.web.schema import ensure_schema
from assistant.web.settings import WebSettings
from assistant.web.store import make_engine
from test_staff_accounts import CHEAP, PASSWORD, _with_accounts, run, web_for


# --- cookies, CSRF, next, throttle ----------------------------------------------------------------

def test_session_cookies_are_signed_and_expire():
    signer = Signer(b"k" * 32)
    cookie = signer.session_cookie("abc", int(time.time()) + 60)
    assert signer.read_session_cookie(cookie) == "abc"
    assert signer.read_session_cookie(cookie, now=time.time() + 61) is None  # expired
    session, expires, mac = cookie.split(".")
    assert signer.read_session_cookie(f"abd.{expires}.{mac}") is None  # another id
    assert signer.read_session_cookie(f"{session}.{int(expires) + 9999}.{mac}") is None  # stretched
    assert signer.read_session_cookie(cookie[:-1] + ("A" if cookie[-1] != "A" else "B")) is None
    assert Signer(b"o" * 32).read_session_cookie(cookie) is None  # another server's secret
    for junk in (None, "", ".", "..", "a.b", "x" * 1000):
        assert signer.read_session_cookie(junk) is None
    assert signer.csrf_for_session("abc") != signer.csrf_for_session("abd") != signer.csrf_for_sign_in("abc")


@pytest.mark.parametrize("target, expected", [
    ("/staff/feedback?occupation=nurse", "/staff/feedback?occupation=nurse"), ("/staff", "/staff"),
    (None, "/staff"), ("", "/staff"), ("https://evil.example/staff", "/staff"), ("//evil.example/staff", "/staff"),
    ("/\\evil.example", "/staff"), ("/staff/../api/ask", "/staff"), ("/staff/%2e%2e/x", "/staff"),
    ("/staffroom", "/staff"), ("/", "/staff"), ("javascript:alert(1)", "/staff"), ("/staff/login", "/staff"),
    ("/staff/logout", "/staff"), ("/staff/x\r\nSet-Cookie: a=b", "/staff"), ("/staff/a#frag", "/staff/a"),
])
def test_after_sign_in_only_staff_pages_are_a_destination(target, expected):
    assert safe_next(target) == expected


def test_wrong_passwords_lock_for_doubling_times_per_account_and_per_client():
    now = [0.0]
    throttle = Throttle(ThrottleRule(free=2, cap=8), ThrottleRule(free=4, cap=100), clock=lambda: now[0])
    for _ in range(2):
        assert throttle.wait("jo", "1.1.1.1") == 0
        throttle.failed("jo", "1.1.1.1")
    assert throttle.wait("jo", "1.1.1.1") == 0
    locks = []
    for _ in range(6):
        throttle.failed("JO", "2.2.2.2")  # the account's count is one whatever the case and address
        locks.append(throttle.wait("jo", "3.3.3.3"))
    assert locks == [1, 2, 4, 8, 8, 8]
    assert throttle.wait("ann", "3.3.3.3") == 0  # another account from a fresh address: no wait
    now[0] += 8
    assert throttle.wait("jo", "3.3.3.3") == 0
    throttle.succeeded("jo", "3.3.3.3")
    throttle.failed("jo", "3.3.3.3")
    assert throttle.wait("jo", "4.4.4.4") == 0  # the right password cleared the count
    for name in ("a", "b", "c", "d"):  # one address trying many accounts: 4 free ...
        throttle.failed(name, "5.5.5.5")
    assert throttle.wait("f", "5.5.5.5") == 0
    throttle.failed("e", "5.5.5.5")  # ... then locked for every account
    assert throttle.wait("f", "5.5.5.5") == 1
    now[0] += 86_401
    throttle.failed("jo", "6.6.6.6")
    assert throttle.wait("jo", "7.7.7.7") == 0  # a day later the count starts again


def test_the_throttle_keeps_a_bounded_number_of_keys():
    throttle = Throttle(max_keys=100)
    for i in range(1000):
        throttle.failed(f"name{i}", f"10.0.{i // 256}.{i % 256}")
    assert len(throttle._entries) == 100


# --- over HTTP ------------------------------------------------------------------------------------

def make_app(web: WebSettings, throttle: Throttle | None = None) -> FastAPI:
    from fastapi import APIRouter

    from assistant.web.api import mount_first

    app = FastAPI()

    @app.get("/{full_path:path}")
    def chat(full_path: str):  # stands in for Chainlit's catch-all
        return {"chat": full_path}

    install_staff(app, web, StaffAuth(web, hasher=CHEAP, throttle=throttle))
    probes = APIRouter()  # a page and an action as the console's parts write them, ahead of the staff fallback

    @probes.get("/staff/probe")
    async def probe(user: StaffUser = Depends(page_user)):
        return {"user": user.name}

    @probes.post("/staff/probe")
    async def act(request: Request, user: StaffUser = Depends(action_user)):
        return {"did": user.name}

    mount_first(app, probes)
    return app


@pytest.fixture
def site(tmp_path):
    web = web_for(tmp_path)
    run(_with_accounts(web, lambda a: a.add("jo", PASSWORD)))
    with TestClient(make_app(web), follow_redirects=False) as client:
        yield client, web


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def sign_in(client: TestClient, name="jo", password=PASSWORD, next_path="/staff/probe", csrf=None):
    page = client.get("/staff/login", params={"next": next_path})
    return client.post("/staff/login", data={"name": name, "password": password, "next": next_path,
                                             "csrf": csrf if csrf is not None else csrf_of(page.text)})


def test_pages_redirect_to_sign_in_and_back(site):
    client, _ = site
    r = client.get("/staff/probe")
    assert r.status_code == 303 and r.headers["location"] == "/staff/login?next=/staff/probe"
    login_cookie = r.headers["set-cookie"]  # the sign-in form's nonce, set on the first staff request
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and 'name="next" value="/staff/probe"' in page.text
    assert page.headers["cache-control"] == "no-store" and "set-cookie" not in page.headers
    assert f"{LOGIN_COOKIE}=" in login_cookie and "HttpOnly" in login_cookie and "SameSite=strict" in login_cookie \
        and "Path=/staff" in login_cookie and "Secure" not in login_cookie
    r = sign_in(client)
    assert r.status_code == 303 and r.headers["location"] == "/staff/probe"
    cookie = r.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie \
        and "Path=/staff" in cookie and re.search(r"Max-Age=28[0-9]{3}", cookie)  # 8 hours
    assert client.get("/staff/probe").json() == {"user": "jo"}
    assert client.get("/staff/login").headers["location"] == "/staff"  # already signed in


def test_wrong_password_unknown_name_and_expired_form(site):
    client, _ = site
    for name, password in (("jo", "not the password"), ("nobody", PASSWORD), ("", ""), ("jo", "x" * 5000)):
        r = sign_in(client, name=name, password=password)
        assert r.status_code in (400, 401) and WRONG in r.text and SESSION_COOKIE not in r.headers.get("set-cookie", "")
    r = sign_in(client, csrf="forged")
    assert r.status_code == 403 and EXPIRED in r.text
    assert client.get("/staff/probe").status_code == 303
    r = sign_in(client, name="<script>alert(1)</script>", password="wrong password")
    assert "<script>alert" not in r.text and "&lt;script&gt;" in r.text


def test_https_cookies_are_secure(tmp_path):
    web = web_for(tmp_path)
    run(_with_accounts(web, lambda a: a.add("jo", PASSWORD)))
    with TestClient(make_app(web), base_url="https://testserver", follow_redirects=False) as client:
        r = sign_in(client)
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_actions_need_a_session_and_its_csrf_token(site):
    client, _ = site
    assert client.post("/staff/probe").status_code == 401
    assert client.post("/staff/logout").status_code == 401
    before = csrf_of(client.get("/staff/login").text)
    sign_in(client)
    assert client.post("/staff/probe", data={"csrf": "nope"}).status_code == 403
    assert client.post("/staff/probe").status_code == 403
    assert client.post("/staff/probe", data={"csrf": before}).status_code == 403  # the sign-in form's token
    token = csrf_of(client.get("/staff/nowhere").text)  # the page shell's sign-out form carries it
    assert token != before
    assert client.post("/staff/probe", data={"csrf": token}).json() == {"did": "jo"}
    assert client.post("/staff/probe", headers={"X-CSRF-Token": token}).json() == {"did": "jo"}


def test_sign_out_ends_the_session_even_for_a_copied_cookie(site):
    client, web = site
    sign_in(client)
    copied = client.cookies.get(SESSION_COOKIE)
    token = csrf_of(client.get("/staff/nowhere").text)
    r = client.post("/staff/logout", data={"csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/staff/login?signed_out=1"
    assert "You have signed out." in client.get(r.headers["location"]).text
    client.cookies.set(SESSION_COOKIE, copied, path="/staff")
    assert client.get("/staff/probe").status_code == 303
    rows = sqlite3.connect(web.sqlite_path()).execute("SELECT user, action FROM staff_audit ORDER BY id").fetchall()
    assert rows == [("jo", "sign in"), ("jo", "sign out")]


def test_removing_an_account_ends_its_sessions_and_sessions_survive_a_restart(site):
    client, web = site
    sign_in(client)
    with TestClient(make_app(web), follow_redirects=False) as restarted:  # same database: same secret
        restarted.cookies.set(SESSION_COOKIE, client.cookies.get(SESSION_COOKIE), path="/staff")
        assert restarted.get("/staff/probe").json() == {"user": "jo"}
    run(_with_accounts(web, lambda a: a.remove("jo")))
    assert client.get("/staff/probe").status_code == 303


def test_an_expired_session_is_refused(site):
    client, web = site
    sign_in(client)
    db = sqlite3.connect(web.sqlite_path())
    db.execute("UPDATE staff_sessions SET expires_at = '2000-01-01T00:00:00.000000+00:00'")
    db.commit()
    r = client.get("/staff/probe")
    assert r.status_code == 303 and f'{SESSION_COOKIE}=""' in r.headers["set-cookie"]  # and the cookie is cleared


def test_repeated_wrong_passwords_are_slowed_down(tmp_path):
    web = web_for(tmp_path)
    run(_with_accounts(web, lambda a: a.add("jo", PASSWORD)))
    throttle = Throttle(ThrottleRule(free=3, base=30), ThrottleRule(free=50))
    with TestClient(make_app(web, throttle), follow_redirects=False) as client:
        statuses = [sign_in(client, password="wrong password").status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 401]
        r = sign_in(client)  # even the right password waits
        assert r.status_code == 429 and r.headers["retry-after"] == "30"
        assert "try again in 30 s" in r.text
        assert sign_in(client, name="ann", password="wrong password").status_code == 401  # other accounts are not


def test_the_chat_and_api_are_untouched(site):
    client, _ = site
    r = client.get("/")
    assert r.json() == {"chat": ""} and "set-cookie" not in r.headers
    assert client.get("/staffroom").json() == {"chat": "staffroom"}


def test_staff_pages_send_their_origin_with_forms_and_nothing_else_changes():
    """Under no-referrer Chromium posts a form with `Origin: null`, which origins.py refuses."""
    from assistant.web.headers import PATH_OVERRIDES, SecurityHeaders

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    served = SecurityHeaders(app, {"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}, PATH_OVERRIDES)
    client = TestClient(served)  # not as a context manager: this bare app has no lifespan
    for path, policy in (("/staff", "same-origin"), ("/staff/login", "same-origin"), ("/", "no-referrer"),
                         ("/staffroom", "no-referrer"), ("/api/ask", "no-referrer")):
        r = client.get(path)
        assert r.headers["referrer-policy"] == policy and r.headers["x-frame-options"] == "DENY", path


def test_audit_records_who_did_what_newest_first(tmp_path):
    from assistant.staff.audit import MAX_DETAIL, audit, recent

    async def scenario():
        engine = make_engine(web_for(tmp_path))
        try:
            await ensure_schema(engine)
            await audit(engine, "jo", "upload", "nurse.md")
            await audit(engine, "ann", "rebuild", "x" * 5000)
            return await recent(engine, 10), await recent(engine, 1)
        finally:
            await engine.dispose()

    both, newest = run(scenario())
    assert [(e.user, e.action) for e in both] == [("ann", "rebuild"), ("jo", "upload")]
    assert len(both[0].detail) == MAX_DETAIL and both[1].detail == "nurse.md"
    assert both[0].at >= both[1].at and both[0].at.tzinfo is not None
    assert [e.action for e in newest] == ["rebuild"]


@pytest.mark.parametrize("body, content_type", [
    (b"name=%FF%FE&password=%00%00&csrf=%FF", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
    (b'{"name": "jo", "password": "x"}', "application/json"),
    (b"--b\r\nContent-Disposition: form-data; name=\"name\"; filename=\"a.txt\"\r\n\r\njo\r\n--b--\r\n",
     "multipart/form-data; boundary=b"),
    (b"name=jo&name=ann&password=" + b"p" * 100_000, "application/x-www-form-urlencoded"),
    (b"", "text/plain"),
])
def test_hostile_sign_in_posts_get_a_clear_refusal_never_a_traceback(site, body, content_type):
    client, _ = site
    client.get("/staff/login")
    r = client.post("/staff/login", content=body, headers={"Content-Type": content_type})
    assert 400 <= r.status_code < 500 and "Traceback" not in r.text
    assert client.get("/staff/probe").status_code == 303  # and nobody got in


def test_an_unusable_database_gets_a_503_that_says_what_to_check(tmp_path):
    (tmp_path / "not-a-folder").write_text("x")
    web = WebSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'not-a-folder' / 'assistant.db'}")
    with TestClient(make_app(web), follow_redirects=False) as client:
        r = client.get("/staff/login")
        assert r.status_code == 503 and "CAREERS_DATABASE_URL" in r.text
        assert client.get("/").json() == {"chat": ""}  # the chat does not depend on the staff tables


def test_a_refused_sign_in_logs_a_real_accounts_name_but_never_what_else_was_typed(site, caplog):
    client, _ = site
    with caplog.at_level("WARNING", logger="assistant.staff.auth"):
        sign_in(client, name="jo", password="not the password")
        sign_in(client, name=PASSWORD, password="x")  # a password typed into the name box
    assert [r.getMessage() for r in caplog.records] == ["Staff sign-in refused for 'jo' from testclient",
                                                        "Staff sign-in refused for an unknown name from testclient"]


def test_guesses_sent_in_parallel_are_throttled_too(tmp_path):
    import asyncio

    import httpx

    web = web_for(tmp_path)
    run(_with_accounts(web, lambda a: a.add("jo", PASSWORD)))
    app = make_app(web, Throttle(ThrottleRule(free=3, base=60), ThrottleRule(free=1000)))

    async def attack() -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            csrf = csrf_of((await c.get("/staff/login")).text)
            replies = await asyncio.gather(*(c.post("/staff/login", data={"name": "jo", "password": f"guess {i:04}",
                                                                          "csrf": csrf}) for i in range(30)))
            return sorted(r.status_code for r in replies)

    assert run(attack()) == [401] * 4 + [429] * 26  # 3 free, the 4th starts the lock: no more were checked


def test_an_audit_row_the_database_refuses_costs_a_log_line_not_the_action(caplog):
    """Sign-in, sign-out and "mark handled" have already happened when they are recorded."""
    import asyncio

    from assistant.staff.audit import audit_after

    class Broken:
        def begin(self):
            raise OSError("disk full")

    with caplog.at_level("ERROR"):
        assert asyncio.run(audit_after(Broken(), "ada", "sign in", "from 127.0.0.1")) is False
    assert "Could not write the audit log for sign in by ada" in caplog.text
