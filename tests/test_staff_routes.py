"""Every /staff route of the app `serve` wires is refused without a staff session.

The routes are read from the app itself (Chainlit's app wired exactly as `serve` wires it), not from a
list kept here: a route added to the console later is requested by this test too, and fails it if it
forgot `page_user` or `action_user` (assistant/staff/base.py). Pages must redirect to the sign-in page;
everything else must answer 401 or 403. The one exception is the sign-in form itself.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from assistant.web.guard import is_staff_route, iter_routes

OPEN_TO_ALL = {("GET", "/staff/login")}  # the sign-in form; its POST still needs the form's token


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Chainlit's app wired as `serve` does (once per process: test_web_security.py may have done it)."""
    from chainlit.server import app, sio

    from assistant.web.server import wire
    from assistant.web.settings import WebSettings

    if not getattr(app.state, "careers_wired", False):
        db = tmp_path_factory.mktemp("staff-routes") / "assistant.db"
        wire(app, sio, WebSettings(database_url=f"sqlite+aiosqlite:///{db}"))
        app.state.careers_wired = True
    return app


def staff_routes(app) -> list[tuple[str, str]]:
    return sorted({(m, p) for m, p, _ in iter_routes(app.router.routes) if is_staff_route(p)})


def concrete(path: str) -> str:
    """A request path for a route path: each {parameter} becomes a plausible value."""
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_the_console_has_routes_and_they_are_not_in_the_api_schema(app):
    routes = staff_routes(app)
    assert ("GET", "/staff/login") in routes and ("POST", "/staff/login") in routes
    assert ("POST", "/staff/logout") in routes and ("GET", "/staff") in routes
    assert not [p for p in app.openapi()["paths"] if is_staff_route(p)]


def test_every_staff_route_refuses_without_a_session(app):
    client = TestClient(app, follow_redirects=False)
    checked = []
    for method, path in staff_routes(app):
        if (method, path) in OPEN_TO_ALL or method == "HEAD":
            continue
        url = concrete(path)
        r = client.request(method, url, data={"csrf": "guess"} if method != "GET" else None)
        if method == "GET":
            assert r.status_code == 303, f"GET {path} answered {r.status_code} without a session"
            assert r.headers["location"].startswith("/staff/login?next=/staff"), (path, r.headers["location"])
        else:
            assert r.status_code in (401, 403), f"{method} {path} answered {r.status_code} without a session"
        checked.append((method, path))
    assert ("POST", "/staff/logout") in checked and ("POST", "/staff/login") in checked


def test_the_sign_in_form_is_the_only_page_open_to_all(app):
    client = TestClient(app, follow_redirects=False)
    r = client.get("/staff/login")
    assert r.status_code == 200 and 'type="password"' in r.text
    assert client.get("/staff/anything/else").status_code == 303  # not Chainlit's chat page
