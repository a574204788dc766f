"""The session middleware in front of every /staff request, and `install_staff`, which `wire()` calls.

For a path under /staff it reads the cookies (sessions.py) and sets, per the contract in base.py,
`request.state.staff_user` (None when not signed in) and `request.state.csrf_token`, plus
`request.state.staff_auth` (the StaffAuth below: engine, accounts, sessions, throttle) for the routes
that need them. Any other path passes through untouched: the chat and the API never see a staff
cookie (its Path is /staff) and need no sign-in.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..web.guard import is_staff_route as is_staff_path
from ..web.settings import WebSettings
from .base import SignInRequired, StaffUser, sign_in_url
from .sessions import COOKIE_PATH, LOGIN_COOKIE, SESSION_COOKIE, SessionStore, Signer, load_secret, new_id
from .throttle import Throttle

log = logging.getLogger(__name__)



class StaffAuth:
    """What sign-in needs, made once per server; the engine and the secret on first use."""

    def __init__(self, web: WebSettings, hasher=None, throttle: Throttle | None = None) -> None:
        self.web = web
        self.hasher = hasher
        self.throttle = throttle or Throttle()
        self._engine = self._signer = self._accounts = self._sessions = None

    @property
    def engine(self):
        if self._engine is None:
            from ..web.store import make_engine

            # Unpooled: staff requests are few, and a pooled connection would belong to the event loop
            # that opened it (the server has one; tests and benchmarks start several).
            self._engine = make_engine(self.web, pooled=False)
        return self._engine

    @property
    def accounts(self):
        if self._accounts is None:
            from .accounts import Accounts

            self._accounts = Accounts(self.engine, self.hasher)
        return self._accounts

    @property
    def sessions(self) -> SessionStore:
        if self._sessions is None:
            self._sessions = SessionStore(self.engine, timedelta(hours=self.web.staff_session_hours))
        return self._sessions

    async def signer(self) -> Signer:
        if self._signer is None:  # two first requests may both load it: the database keeps one secret
            self._signer = Signer(await load_secret(self.engine))
        return self._signer


def cookie_headers(request: Request, name: str, value: str | None, max_age: int | None = None) -> list:
    """Raw Set-Cookie headers for a staff cookie (value None: delete it). Secure over HTTPS, as the
    request's scheme says (behind a proxy: with CAREERS_TRUST_X_FORWARDED_FOR, see guard.proxy_options)."""
    response = Response()
    if value is None:
        response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
    else:
        response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
    return [h for h in response.raw_headers if h[0] == b"set-cookie"]


class StaffSessionMiddleware:
    def __init__(self, app: ASGIApp, auth: StaffAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_staff_path(scope.get("path", "")):
            return await self.app(scope, receive, send)
        request = Request(scope)
        try:
            user, session_id, csrf, cookies = await self._identify(request)
        except (SQLAlchemyError, OSError) as err:
            log.error("The staff console cannot read its database: %s", err)
            response = PlainTextResponse("The staff console cannot reach its database: check CAREERS_DATABASE_URL "
                                         "and that the database can be read, then reload.", status_code=503)
            return await response(scope, receive, send)
        state = scope.setdefault("state", {})
        state.update(staff_user=user, csrf_token=csrf, staff_session=session_id, staff_auth=self.auth)

        async def with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start" and cookies:
                message["headers"] = list(message.get("headers", [])) + cookies
            await send(message)

        await self.app(scope, receive, with_cookies)

    async def _identify(self, request: Request):
        """(user or None, session id or None, CSRF token, Set-Cookie headers to add)."""
        signer = await self.auth.signer()
        cookie = request.cookies.get(SESSION_COOKIE)
        session_id = signer.read_session_cookie(cookie)
        name = await self.auth.sessions.user_of(session_id) if session_id else None
        if name is not None:
            return StaffUser(name=name), session_id, signer.csrf_for_session(session_id), []
        cookies = cookie_headers(request, SESSION_COOKIE, None) if cookie else []  # ended, expired or forged
        nonce = signer.unsign(request.cookies.get(LOGIN_COOKIE))
        if nonce is None:
            nonce = new_id()
            cookies += cookie_headers(request, LOGIN_COOKIE, signer.sign(nonce))
        return None, None, signer.csrf_for_sign_in(nonce), cookies


async def _to_sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(sign_in_url(exc.next_path), status_code=303, headers={"Cache-Control": "no-store"})


def install_staff(app, web: WebSettings, auth: StaffAuth | None = None) -> StaffAuth:
    """/staff on the app: its routes first (ahead of Chainlit's catch-all), the session middleware,
    and pages' "sign in first" turned into a redirect to the sign-in page."""
    from ..web.api import mount_first
    from .routes import build_staff_router

    auth = auth or StaffAuth(web)
    mount_first(app, build_staff_router())
    app.add_middleware(StaffSessionMiddleware, auth=auth)
    app.add_exception_handler(SignInRequired, _to_sign_in)
    return auth
