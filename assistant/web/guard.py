"""Every HTTP route on the app is public, guarded or refused, and nothing else.

Chainlit 2.12's routes that read or write a session's data trust the `sessionId` in the request
(and DELETE /feedback trusts any feedback id), so anyone who knew an id could act for its owner.
The guarded routes below stand in front of Chainlit's (mounted first, see api.mount_first): each
checks that the caller's HttpOnly cookie owns the session (sessions.py), then calls Chainlit's own
handler, so the behaviour stays Chainlit's. Features this server turns off (login, thread history,
file upload, MCP) are refused outright rather than left to Chainlit's flags. `install` also refuses
any route it does not know (a Chainlit upgrade or a Slack/Teams env variable can add some), and
tests/test_web_security.py fails if a route is unclassified. Pinned to chainlit 2.12.x. Routes under
/staff are the staff console's, behind its own sign-in (assistant/staff/middleware.py).
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures below at run time, and
# their types are names local to build_guard_router.
import asyncio
import logging
from collections.abc import Callable, Iterator

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from .ratelimit import RateLimiter, client_key, retry_after
from .sessions import (CHAINLIT_STICKY_COOKIE, CLIENT_COOKIE, SessionRegistry, is_session_id, new_token,
                       token_from_cookies)
from .settings import WebSettings

log = logging.getLogger(__name__)

MAX_FEEDBACK_COMMENT = 2_000  # characters; a comment is a sentence or two, never a document
STEP_WAIT_SECONDS = 2.0  # a step is written by a background task: feedback may arrive just before it

_DOCS = {(m, p) for p in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc") for m in ("GET", "HEAD")}
PUBLIC: frozenset[tuple[str, str]] = frozenset(_DOCS | {
    ("GET", "/public/{filename:path}"), ("GET", "/assets/{filename:path}"), ("GET", "/copilot/{filename:path}"),
    ("GET", "/auth/config"), ("GET", "/user"), ("GET", "/project/translations"), ("GET", "/project/settings"),
    ("GET", "/favicon"), ("GET", "/logo"), ("GET", "/avatars/{avatar_id:str}"), ("HEAD", "/"), ("GET", "/health"),
    ("GET", "/{full_path:path}"), ("POST", "/api/ask"),
})
# Ours, below: the caller must own the session named in the request.
GUARDED: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/set-session-cookie"), ("PUT", "/feedback"), ("DELETE", "/feedback"), ("PUT", "/project/element"),
    ("DELETE", "/project/element"), ("POST", "/project/action"), ("GET", "/project/file/{file_id}"),
})
# Features that are off here: login, thread history and sharing, uploads, MCP.
REFUSED: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/login"), ("POST", "/logout"), ("POST", "/auth/jwt"), ("POST", "/auth/header"),
    ("GET", "/auth/oauth/{provider_id}"), ("GET", "/auth/oauth/{provider_id}/callback"),
    ("POST", "/auth/oauth/azure-ad-hybrid/callback"),
    ("POST", "/project/threads"), ("GET", "/project/thread/{thread_id}"), ("GET", "/project/share/{thread_id}"),
    ("GET", "/project/thread/{thread_id}/element/{element_id}"), ("PUT", "/project/thread"),
    ("PUT", "/project/thread/share"), ("DELETE", "/project/thread"),
    ("POST", "/project/file"), ("POST", "/mcp"), ("DELETE", "/mcp"),
})
MOUNTS = frozenset({"/ws/socket.io"})  # socket.io: its events are classified in socketguard.py
# The staff console (assistant/staff/): every route under it needs a staff session, except the sign-in
# page; tests/test_staff_routes.py requests each one without a session and expects a refusal.
STAFF_PREFIX = "/staff"


def is_staff_route(path: str) -> bool:
    return path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")

NOT_YOURS = "This chat session does not belong to this browser. Reload the page to start a new one."
TURNED_OFF = "This feature is turned off on this server."


def iter_routes(routes, prefix: str = "") -> Iterator[tuple[str, str, object]]:
    """(method, path, endpoint) for every route, in the order Starlette tries them; ("MOUNT", path,
    app) for a mount. FastAPI 0.16x keeps an included router as one entry holding the original."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from iter_routes(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
            continue
        path = prefix + getattr(route, "path", "")
        methods = getattr(route, "methods", None)
        if methods:
            for method in sorted(methods):
                yield method, path, getattr(route, "endpoint", None)
        elif hasattr(route, "app") and hasattr(route, "path"):
            yield "MOUNT", path, route.app


def unclassified(app: FastAPI) -> list[tuple[str, str]]:
    known = PUBLIC | GUARDED | REFUSED
    return sorted({(m, p) for m, p, _ in iter_routes(app.router.routes)
                   if (m, p) not in known and not (m == "MOUNT" and p in MOUNTS) and not is_staff_route(p)})


def _refusal(status: int = 404, detail: str = TURNED_OFF) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def build_guard_router(registry: SessionRegistry, limiter: Callable[[], RateLimiter | None],
                       trust_forwarded_for: bool, extra_refused: frozenset[tuple[str, str]] = frozenset()) -> APIRouter:
    # Chainlit's handlers and request models, called after the checks: imported here, with the app.
    from chainlit import server as cl_server
    from chainlit.action import Action
    from chainlit.data import get_data_layer
    from chainlit.session import WebsocketSession, ws_sessions_id
    from chainlit.types import CallActionRequest, DeleteFeedbackRequest, ElementRequest, UpdateFeedbackRequest

    UserParam = cl_server.UserParam
    router = APIRouter()

    def owned(session_id: object, request: Request):
        """The caller's live session with this id, or None if it is not the caller's."""
        if not registry.owns(session_id, token_from_cookies(request.cookies)):
            return None
        return WebsocketSession.get_by_id(session_id)  # type: ignore[arg-type]

    def too_fast(request: Request) -> JSONResponse | None:
        """Feedback shares the question budget (ratelimit.py): a 429 like /api/ask's, or None."""
        bucket = limiter()
        if bucket is None:
            return None
        peer = request.client.host if request.client else None
        wait = bucket.acquire(client_key(peer, request.headers, trust_forwarded_for))
        if not wait:
            return None
        from .present import slow_down_text

        seconds = retry_after(wait)
        return JSONResponse({"detail": slow_down_text(seconds)}, status_code=429, headers={"Retry-After": str(seconds)})

    def spooled_step_thread(step_id: str) -> str | None:
        from .state import current

        durable = getattr(current(), "durable", None)
        return durable.spooled_step_thread(step_id) if durable is not None else None

    async def rows(query: str, **parameters) -> list[dict]:
        layer = get_data_layer()
        result = await layer.execute_sql(query=query, parameters=parameters) if layer else None
        return result if isinstance(result, list) else []

    async def step_thread(step_id: str) -> str | None:
        deadline = asyncio.get_running_loop().time() + STEP_WAIT_SECONDS
        while True:
            found = await rows('SELECT "threadId" AS thread_id FROM steps WHERE "id" = :step_id', step_id=step_id)
            if found:
                return found[0]["thread_id"]
            spooled = spooled_step_thread(step_id)  # written while the database refused writes
            if spooled or asyncio.get_running_loop().time() >= deadline:
                return spooled
            await asyncio.sleep(0.2)

    async def feedback_row(feedback_id: str) -> dict | None:
        found = await rows('SELECT f."forId" AS for_id, s."threadId" AS thread_id FROM feedbacks f '
                           'LEFT JOIN steps s ON s."id" = f."forId" WHERE f."id" = :feedback_id', feedback_id=feedback_id)
        return found[0] if found else None

    @router.post("/set-session-cookie")
    async def set_session_cookie(request: Request) -> JSONResponse:
        """The browser calls this before every socket connection with the session id it made up; the
        first browser to name an id gets it, bound to its secret (issued here if it has none)."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        session_id = body.get("session_id") if isinstance(body, dict) else None
        if not is_session_id(session_id):
            return _refusal(400, "session_id must be a UUID such as 0b0e2f4e-5b8a-4c1e-9d2a-3f4e5a6b7c8d.")
        token = token_from_cookies(request.cookies) or new_token()
        if not registry.claim(session_id, token):
            return _refusal(403, NOT_YOURS)
        response = JSONResponse({"message": "Session cookie set"})
        response.set_cookie(CLIENT_COOKIE, token, path="/", httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")  # https as uvicorn sees it (proxy: guard.proxy_options)
        local = request.client is not None and request.client.host in ("127.0.0.1", "localhost")
        response.set_cookie(CHAINLIT_STICKY_COOKIE, session_id, path="/", httponly=True, secure=not local,
                            samesite="lax" if local else "none")  # exactly as Chainlit sets it
        return response

    @router.put("/feedback")
    async def update_feedback(request: Request, update: UpdateFeedbackRequest, current_user: UserParam):
        feedback = update.feedback
        if isinstance(feedback.comment, str) and len(feedback.comment) > MAX_FEEDBACK_COMMENT:
            return _refusal(400, f"A feedback comment can be at most {MAX_FEEDBACK_COMMENT:,} characters.")
        if (limited := too_fast(request)) is not None:
            return limited
        session = owned(update.sessionId, request)
        if session is None or feedback.threadId not in (None, "", session.thread_id) \
                or await step_thread(feedback.forId) != session.thread_id:
            return _refusal(403, NOT_YOURS)
        feedback.threadId = session.thread_id
        if feedback.id is not None:
            existing = await feedback_row(feedback.id)
            if existing is None:
                feedback.id = None  # a new row under an id the server chooses
            elif existing["for_id"] != feedback.forId:
                return _refusal(403, NOT_YOURS)
        try:
            return await cl_server.update_feedback(request, update, current_user)
        except HTTPException as err:  # Chainlit wraps every failure in a 500 quoting the exception
            from .chat import FEEDBACK_NOT_SAVED, FeedbackNotSaved

            if err.detail == FEEDBACK_NOT_SAVED:  # spooled, not stored: say so, as a service fault
                return JSONResponse({"detail": FEEDBACK_NOT_SAVED}, status_code=FeedbackNotSaved.status_code)
            raise

    @router.delete("/feedback")
    async def delete_feedback(request: Request, payload: DeleteFeedbackRequest, current_user: UserParam):
        if (limited := too_fast(request)) is not None:
            return limited
        # The browser sends only the feedback's id: it must be on a step of one of this browser's sessions.
        threads = {s.thread_id for sid in registry.sessions_of(token_from_cookies(request.cookies))
                   if (s := ws_sessions_id.get(sid)) is not None}
        row = await feedback_row(payload.feedbackId)
        if row is None or row["thread_id"] not in threads:
            return _refusal(403, NOT_YOURS)
        return await cl_server.delete_feedback(request, payload, current_user)

    def element_route(handler):
        async def guarded(request: Request, payload: ElementRequest, current_user: UserParam):
            if owned(payload.sessionId, request) is None:
                return _refusal(403, NOT_YOURS)
            element = payload.element
            if element.get("type") == "custom" and not all(isinstance(element.get(k), str)
                                                           for k in ("id", "name", "display")):
                return _refusal(400, "A custom element needs a string id, name and display.")
            return await handler(payload, current_user)
        return guarded

    router.put("/project/element")(element_route(cl_server.update_thread_element))
    router.delete("/project/element")(element_route(cl_server.delete_thread_element))

    @router.post("/project/action")
    async def call_action(request: Request, payload: CallActionRequest, current_user: UserParam):
        if owned(payload.sessionId, request) is None:
            return _refusal(403, NOT_YOURS)
        try:
            Action(**payload.action)
        except (TypeError, ValueError):
            return _refusal(400, "An action needs a name and a payload, and nothing Chainlit does not know.")
        return await cl_server.call_action(payload, current_user)

    @router.get("/project/file/{file_id}")
    async def get_file(request: Request, file_id: str, session_id: str, current_user: UserParam):
        if owned(session_id, request) is None:
            return _refusal(403, NOT_YOURS)
        return await cl_server.get_file(file_id, session_id, current_user)

    for method, path in sorted(REFUSED | extra_refused):
        router.add_api_route(path, _refused, methods=[method], include_in_schema=False)
    return router


async def _refused() -> JSONResponse:
    return _refusal()


def proxy_options(web: WebSettings) -> dict:
    """uvicorn's proxy handling follows CAREERS_TRUST_X_FORWARDED_FOR. uvicorn trusts X-Forwarded-For
    and X-Forwarded-Proto from 127.0.0.1 by default, rewriting the client address of every HTTP
    request and websocket, so 40 requests with made-up addresses passed the rate limit. With the flag
    on, it trusts the addresses in FORWARDED_ALLOW_IPS (uvicorn's variable; default 127.0.0.1,::1)."""
    return {"proxy_headers": web.trust_forwarded_for}


def install_guards(app: FastAPI, sio, web: WebSettings, limiter: Callable[[], RateLimiter | None]) -> SessionRegistry:
    """Wire everything up on Chainlit's app and socket.io server, before the server starts."""
    from chainlit.session import ws_sessions_id

    from .api import mount_first
    from .origins import OriginGuard
    from .socketguard import guard_files, guard_socket

    registry = SessionRegistry(is_live=lambda session_id: session_id in ws_sessions_id)
    guard_files()
    guard_socket(sio, registry)
    unknown = frozenset((m, p) for m, p in unclassified(app) if m != "MOUNT")
    for method, path in sorted(unknown):
        log.warning("Refusing %s %s: a route this server does not know (a Chainlit upgrade?)", method, path)
    mount_first(app, build_guard_router(registry, limiter, web.trust_forwarded_for, extra_refused=unknown))
    app.add_middleware(OriginGuard, allowed=web.allowed_origins)
    return registry
