"""The staff sign-in for real: `python -m assistant serve` on a real SQLite database, Debian's Chromium.

The staff account is made the way staff make one, by running `python -m assistant staff add` with the
password piped in. The index uses the hash embedder: the sign-in does not depend on the model, and the
server starts in seconds. Every request that is not to the server is blocked; every console message
is collected (a CSP violation would show there). Set CAREERS_STAFF_SCREENSHOTS=docs to refresh
docs/staff-login.png.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import loopback_only
from test_web_browser import CHROMIUM, CHROMIUM_ARGS, REPO, browser, running_server  # noqa: F401

pytestmark = pytest.mark.slow

PASSWORD = "a long staff password 1"
REFUSED = re.compile(r"Failed to load resource: the server responded with a status of (401|429) \(.*\)")


@pytest.fixture(scope="module")
def staff_server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("staff")
    root = tmp / "root"
    root.mkdir()
    env = {**os.environ, "CAREERS_EMBEDDER": "hash", "PYTHONPATH": str(REPO),
           "CAREERS_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'data' / 'assistant.db'}"}
    subprocess.run([sys.executable, "-m", "assistant", "build", "--quiet", "--corpus", str(REPO / "corpus"),
                    "--index", str(tmp / "index")], cwd=REPO, env=env, check=True, timeout=120, capture_output=True)
    made = subprocess.run([sys.executable, "-m", "assistant", "staff", "add", "jo.adviser"], input=PASSWORD + "\n",
                          cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    with running_server(tmp / "index", root, {"CAREERS_EMBEDDER": "hash", "CAREERS_RELOAD_SECONDS": "0"}) as s:
        yield s


def open_page(browser, server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.blocked, page.console = loopback_only(page, server.base), []  # type: ignore[attr-defined]
    # A refused sign-in is served as 401 or 429, which Chromium notes in the console: expected. Every
    # page of the menu exists, so a 404 is not.
    page.on("console", lambda m: None if REFUSED.fullmatch(m.text) else page.console.append(f"{m.type}: {m.text}"))
    return context, page


def sign_in(page, name: str, password: str) -> None:
    page.fill("#name", name)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_sign_in_wrong_password_throttle_and_sign_out(browser, staff_server):  # noqa: F811
    context, page = open_page(browser, staff_server)
    try:
        response = page.goto(staff_server.base + "/staff/feedback")
        assert page.url == staff_server.base + "/staff/login?next=/staff/feedback"
        assert response.status == 200 and "default-src 'self'" in response.headers["content-security-policy"]
        assert page.locator("h1").inner_text() == "Sign in"
        shots = os.environ.get("CAREERS_STAFF_SCREENSHOTS")
        if shots:
            page.screenshot(path=str(Path(shots) / "staff-login.png"))

        sign_in(page, "jo.adviser", "not the password")
        assert page.locator("#sign-in-error").inner_text() == "Wrong name or password."
        assert page.input_value("#name") == "jo.adviser" and page.input_value("#password") == ""

        # An account that keeps getting wrong passwords waits, with the time said: 5 free, then locks of
        # 1, 2, 4, 8 s ..., so by the 10th try the lock outlasts the time one try takes.
        for tries in range(1, 11):
            sign_in(page, "someone.else", "guess guess guess")
            if "try again in" in page.locator("#sign-in-error").inner_text():
                break
        assert 6 < tries <= 10, page.locator("#sign-in-error").inner_text()
        assert re.fullmatch(r"Too many wrong passwords for this account or from this address: try again in \d+ s\.",
                            page.locator("#sign-in-error").inner_text())

        sign_in(page, "jo.adviser", PASSWORD)
        assert page.url == staff_server.base + "/staff/feedback"
        assert "jo.adviser" in page.locator("header").inner_text()
        cookie = next(c for c in context.cookies() if c["name"] == "careers_staff")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/staff"
        assert not cookie["secure"]  # plain http on loopback; Secure over https (tests/test_staff_auth.py)
        assert cookie["expires"] > 0  # not a browser-session cookie: it expires when the session does

        home = page.goto(staff_server.base + "/staff")  # the overview, where the menu's first link leads
        assert home.status == 200 and page.locator("h1").inner_text() == "Overview"
        assert page.console == []  # nothing refused by the CSP, no script errors on the staff pages
        chat = page.goto(staff_server.base + "/")  # the public chat needs no sign-in, staff or not
        assert chat.status == 200 and page.url == staff_server.base + "/"
        page.console.clear()  # the chat's page has its own two (the CDN font and KaTeX CSS it does without)
        page.goto(staff_server.base + "/staff/feedback")
        with page.expect_navigation():
            page.click("header button[type=submit]")
        assert page.url == staff_server.base + "/staff/login?signed_out=1"
        assert page.locator(".flash").inner_text() == "You have signed out."
        page.goto(staff_server.base + "/staff/unanswered")
        assert page.url == staff_server.base + "/staff/login?next=/staff/unanswered"
        assert page.console == []
    finally:
        context.close()
    rows = sqlite3.connect(staff_server.db).execute("SELECT user, action FROM staff_audit ORDER BY id").fetchall()
    assert rows == [("jo.adviser", "sign in"), ("jo.adviser", "sign out")]
