"""Error replies that never echo what the client sent, nor say what failed inside.

FastAPI's default 422 returns every validation error with its `input`: a 100 MB body comes back whole
(memory twice over), and text a client chose is reflected to whoever reads the reply. Here a 422 names
the fields and the kind of problem only; a body that is not JSON gets 400. A 5xx from any route,
Chainlit's included (its feedback route puts the exception's text in `detail`), says only that it
failed: the traceback is in the log.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .present import APOLOGY

log = logging.getLogger(__name__)

# A location part is shown only if it looks like a field name: parts can be dict keys the client chose.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-\[\], ]{0,63}")
HIDDEN = "…"


def _location(error: dict) -> str:
    parts = list(error.get("loc", ()))
    if error.get("type") == "extra_forbidden" and parts:
        parts[-1] = HIDDEN  # the unexpected field's name is the client's text
    shown = [str(p) if isinstance(p, int) or (isinstance(p, str) and _NAME.fullmatch(p)) else HIDDEN
             for p in parts]
    return ".".join(shown)


def validation_reply(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse({"error": "The request body is not valid JSON; check its quotes, commas and "
                                      "brackets."}, status_code=400)
    fields = [{"location": _location(e), "problem": str(e.get("type", "invalid"))} for e in errors[:20]]
    return JSONResponse({"error": "The request does not match what this address accepts: see `fields`.",
                         "fields": fields}, status_code=422)


def install_error_replies(app: FastAPI) -> None:
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_reply(exc)

    async def on_http_error(request: Request, exc: HTTPException):
        if exc.status_code < 500:
            return await http_exception_handler(request, exc)  # Chainlit's UI shows these ("Unauthorized")
        log.error("%s %s failed with %d: %s", request.method, request.url.path, exc.status_code, exc.detail)
        return JSONResponse({"detail": APOLOGY}, status_code=exc.status_code)

    app.add_exception_handler(RequestValidationError, on_invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, on_http_error)  # type: ignore[arg-type]
