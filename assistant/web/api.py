"""The HTTP API beside the chat: POST /api/ask and GET /health, on Chainlit's own FastAPI app."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..models import Turn
from .present import APOLOGY, slow_down_text
from .ratelimit import RateLimiter, client_key, retry_after
from .service import AnswerService

log = logging.getLogger(__name__)



class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The core refuses questions over its own limit (1,000 characters) with a polite answer; this
    # bound only stops a client from posting megabytes.
    question: str = Field(max_length=20_000)
    # Earlier questions, oldest first: plain strings, or Turn objects as the core records them.
    history: list[Turn | str] = Field(default_factory=list, max_length=50)


def build_router(service: Callable[[], AnswerService], limiter: Callable[[], RateLimiter | None] = lambda: None,
                 trust_forwarded_for: bool = False) -> APIRouter:
    router = APIRouter()

    @router.post("/api/ask")
    async def ask(request: AskRequest, http: Request) -> JSONResponse:
        bucket = limiter()
        if bucket is not None:
            peer = http.client.host if http.client else None
            wait = bucket.acquire(client_key(peer, http.headers, trust_forwarded_for))
            if wait:
                seconds = retry_after(wait)
                return JSONResponse({"error": slow_down_text(seconds)}, status_code=429,
                                    headers={"Retry-After": str(seconds)})
        svc = service()
        try:
            answer = await svc.converse(svc.conversation(), request.question, "api", history=request.history)
        except Exception:
            log.exception("Answering an API question failed")
            return JSONResponse({"error": APOLOGY}, status_code=500)
        return JSONResponse(answer.public())  # exactly what `careers-assistant ask --json` prints

    @router.get("/health")
    async def health() -> JSONResponse:
        index = service().assistant.index
        return JSONResponse({"status": "ok", "documents": len(index.documents),
                             "manifest": index.manifest.model_dump(mode="json")})

    return router


def mount_first(app: FastAPI, router: APIRouter) -> None:
    """Add the router's routes ahead of everything already on the app.

    Chainlit registers GET /health and a catch-all GET /{full_path:path} that serves the UI; Starlette
    takes the first route that matches, so routes merely appended would never see a GET."""
    before = len(app.router.routes)
    app.include_router(router)
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[0:0] = added
