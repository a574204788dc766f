"""The HTTP API beside the chat: POST /api/ask and GET /health, on Chainlit's own FastAPI app."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..models import Facet, Turn
from .limits import RequestLimits, request_cost
from .present import APOLOGY, slow_down_text
from .ratelimit import RateLimiter, client_key, retry_after
from .service import AnswerService

log = logging.getLogger(__name__)



# A conversation's memory is its last few turns; more history is only cost. Each history question is
# at most twice the core's default question limit (a longer one would be refused when asked anyway).
MAX_HISTORY_TURNS = 10
MAX_HISTORY_CHARS = 2_000


class HistoryTurn(BaseModel):
    """A Turn as the core records it (and `ask --json` answers carry): unknown keys are ignored."""

    question: str = Field(max_length=MAX_HISTORY_CHARS)
    facet: Facet | None = None
    subject: str | None = Field(default=None, max_length=100)  # kept only if the index knows the role
    abstained: bool = False


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The core refuses questions over its own limit (1,000 characters) with a polite answer; this
    # bound only stops a client from posting megabytes.
    question: str = Field(max_length=20_000)
    # Earlier questions, oldest first: plain strings (read, never answered again), or Turn objects.
    history: list[HistoryTurn | Annotated[str, Field(max_length=MAX_HISTORY_CHARS)]] = Field(
        default_factory=list, max_length=MAX_HISTORY_TURNS)

    def turns(self) -> list[Turn | str]:
        return [Turn(**item.model_dump()) if isinstance(item, HistoryTurn) else item for item in self.history]


def build_router(service: Callable[[], AnswerService], limiter: Callable[[], RateLimiter | None] = lambda: None,
                 trust_forwarded_for: bool = False, limits: RequestLimits = RequestLimits()) -> APIRouter:
    router = APIRouter()

    @router.post("/api/ask")
    async def ask(request: AskRequest, http: Request) -> JSONResponse:
        bucket = limiter()
        if bucket is not None:
            peer = http.client.host if http.client else None
            # The limit counts work: each history item read costs a little on top of the answer.
            wait = bucket.acquire(client_key(peer, http.headers, trust_forwarded_for),
                                  cost=request_cost(len(request.history), limits))
            if wait:
                seconds = retry_after(wait)
                return JSONResponse({"error": slow_down_text(seconds)}, status_code=429,
                                    headers={"Retry-After": str(seconds)})
        svc = service()
        try:
            answer = await svc.converse(svc.conversation(), request.question, "api", history=request.turns())
        except Exception:
            log.exception("Answering an API question failed")
            return JSONResponse({"error": APOLOGY}, status_code=500)
        return JSONResponse(answer.public())  # exactly what `careers-assistant ask --json` prints

    @router.get("/health")
    async def health() -> JSONResponse:
        # Status and counts only: the manifest (build time, corpus hash, skipped files) is not public.
        index = service().assistant.index
        return JSONResponse({"status": "ok", "documents": len(index.documents),
                             "chunks": index.manifest.chunk_count})

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
