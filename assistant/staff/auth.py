"""Signing in and out of the staff console: GET/POST /staff/login, POST /staff/logout.

The sign-in form works without JavaScript. A wrong name or password gets one message for both (the
page never says which names exist); repeated wrong passwords are throttled per account and per
client address (throttle.py) with "try again in N s". After signing in, the browser goes to `next`
if that is a staff page, else to /staff: never to another site (`safe_next`). Sign-in and sign-out
are recorded in the audit log (audit.py).
"""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ..web.ratelimit import client_key
from .audit import audit_after
from .base import SIGN_IN_PATH, StaffUser, _same, action_user, csrf_field, esc, page_user, render_page
from .middleware import cookie_headers, is_staff_path
from .sessions import LOGIN_COOKIE, SESSION_COOKIE

log = logging.getLogger(__name__)

HOME = "/staff"
MAX_FIELD = 1_000  # characters of a name or password field; accounts.py allows no longer
WRONG = "Wrong name or password."
EXPIRED = "The sign-in form had expired: please sign in again."
_NOT_NEXT = (SIGN_IN_PATH, "/staff/logout")


def safe_next(target: str | None) -> str:
    """`target` if it is a staff page on this server, else /staff: no open redirect.

    Refused: other schemes or hosts ("https://evil", "//evil", "/\\evil"), anything outside /staff
    (including via "..", encoded or not), control characters, and the sign-in and sign-out paths."""
    if not target or len(target) > 2_000 or any(ord(c) < 32 or c == "\\" for c in target):
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//") or not is_staff_path(parts.path):
        return HOME
    decoded = unquote(parts.path)
    if ".." in decoded.split("/") or "\\" in decoded or decoded.startswith("//") or decoded.rstrip("/") in _NOT_NEXT:
        return HOME
    return target.split("#", 1)[0]


def _client(request: Request) -> str:
    auth = request.state.staff_auth
    return client_key(request.client.host if request.client else None, request.headers,
                      auth.web.trust_forwarded_for)


def _form_page(request: Request, next_path: str, *, name: str = "", message: str = "", flash: str = "",
               status_code: int = 200, headers: dict | None = None) -> Response:
    body = (f'<p class="flash" role="status">{esc(flash)}</p>' if flash else "") + \
           (f'<p class="error" role="alert" id="sign-in-error">{esc(message)}</p>' if message else "") + (
        f'<form method="post" action="{SIGN_IN_PATH}">{csrf_field(request)}'
        f'<input type="hidden" name="next" value="{esc(next_path)}">'
        f'<p><label for="name">Name</label><br><input id="name" name="name" autocomplete="username" '
        f'required maxlength="64" value="{esc(name)}"{"" if name else " autofocus"}></p>'
        f'<p><label for="password">Password</label><br><input id="password" name="password" type="password" '
        f'autocomplete="current-password" required maxlength="{MAX_FIELD}"{" autofocus" if name else ""}></p>'
        f'<p><button type="submit">Sign in</button></p></form>'
        '<p class="muted">Accounts are made on the server with <code>careers-assistant staff add NAME</code>.</p>')
    response = render_page(request, "Sign in", body, status_code=status_code)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def build_auth_router() -> APIRouter:
    router = APIRouter()

    @router.get(SIGN_IN_PATH)
    async def sign_in_page(request: Request, next: str = HOME, signed_out: str | None = None) -> Response:
        target = safe_next(next)
        if request.state.staff_user is not None:
            return RedirectResponse(target, status_code=303)
        return _form_page(request, target, flash="You have signed out." if signed_out else "")

    @router.post(SIGN_IN_PATH)
    async def sign_in(request: Request) -> Response:
        auth = request.state.staff_auth
        form = await request.form()
        fields = {k: form.get(k) for k in ("name", "password", "csrf", "next")}
        name, password, sent, target = (v if isinstance(v, str) else "" for v in fields.values())
        target = safe_next(target)
        if len(name) > MAX_FIELD or len(password) > MAX_FIELD:
            return _form_page(request, target, message=WRONG, status_code=400)
        if not sent or not _same(sent, request.state.csrf_token):
            return _form_page(request, target, name=name, message=EXPIRED, status_code=403)
        client = _client(request)
        wait = auth.throttle.wait(name, client)
        if wait:
            return _form_page(request, target, name=name, status_code=429, headers={"Retry-After": str(wait)},
                              message=f"Too many wrong passwords for this account or from this address: "
                                      f"try again in {wait} s.")
        # Counted as wrong before it is checked (no await in between), so requests sent in parallel
        # cannot all pass the check above; a right password clears the count again.
        auth.throttle.failed(name, client)
        if not name or not password or not await auth.accounts.verify(name, password):
            # Only a real account's name is logged: what was typed may be a password in the wrong box.
            shown = repr(name) if name and await auth.accounts.exists(name) else "an unknown name"
            log.warning("Staff sign-in refused for %s from %s", shown, client)
            return _form_page(request, target, name=name, message=WRONG, status_code=401)
        auth.throttle.succeeded(name, client)
        session_id, expires = await auth.sessions.open(name)
        signer = await auth.signer()
        response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
        cookies = cookie_headers(request, SESSION_COOKIE, signer.session_cookie(session_id, expires),
                                 max_age=max(int(expires - time.time()), 1))
        cookies += cookie_headers(request, LOGIN_COOKIE, None)
        response.raw_headers.extend(cookies)
        await audit_after(auth.engine, name, "sign in", f"from {client}")
        return response

    @router.post("/staff/logout")
    async def sign_out(request: Request, user: StaffUser = Depends(action_user)) -> Response:
        auth = request.state.staff_auth
        await auth.sessions.close(request.state.staff_session)
        await audit_after(auth.engine, user.name, "sign out", "")
        response = RedirectResponse(f"{SIGN_IN_PATH}?signed_out=1", status_code=303)
        response.raw_headers.extend(cookie_headers(request, SESSION_COOKIE, None))
        return response

    return router


def build_fallback_router() -> APIRouter:
    """Last of the staff routes: a staff address no page answers is "not found" to the signed in, and a
    redirect to sign in for everyone else (never Chainlit's chat page, which its catch-all would serve)."""
    router = APIRouter()

    @router.get(HOME)
    @router.get(HOME + "/{rest:path}")
    async def not_found(request: Request, user: StaffUser = Depends(page_user)) -> Response:
        del user
        return render_page(request, "Not found", '<p>There is no staff page at this address. The menu above '
                                                 'lists the pages there are.</p>', status_code=404)

    return router
