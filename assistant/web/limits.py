"""What one request may carry and cost: body size, readable text, history turns.

Every HTTP request's body is counted as it streams in, before any route parses it: a declared
Content-Length over the limit is refused without reading a byte, and a body that grows past it (chunked,
or lying about its length) is refused at the first chunk over. So a 100 MB post costs the server at
most `max_body_bytes` of memory, whoever sends it, on every route, Chainlit's included.

A JSON body is also checked for text Python can hold but not write out: invalid UTF-8, and "\\ud800"
escapes (lone surrogates), which decode fine and then fail deep inside (the tokenizer, SQLite, a log
file) as HTTP 500s and lost rows. Both get HTTP 400 with a message saying what to fix.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..models import Answer, Turn

UNREADABLE = ("Your question has a character that cannot be read (often half of an emoji that was cut "
              "off). Please type the question again.")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # how a surrogate appears in JSON text


class RequestLimits(BaseModel):
    """The bounds `serve` enforces. Each is well above what the UI or a fair API client sends: the
    core answers at most 1,000 characters, and a 20,000-character question (the API's own bound) is
    under 120 KB even with every character JSON-escaped."""

    model_config = ConfigDict(frozen=True)

    max_body_bytes: int = 256 * 1024  # any HTTP request body
    max_socket_message_bytes: int = 256 * 1024  # one socket.io message (a chat question and its metadata)
    history_turn_cost: float = 0.1  # questions' worth of rate limit each history item spends


def request_cost(history_items: int, limits: RequestLimits) -> float:
    """Rate-limit tokens one /api/ask spends: one for the answer, a little for each history item read."""
    return 1.0 + limits.history_turn_cost * history_items


def encodable(text: str) -> bool:
    """False when `text` holds a lone surrogate: a str Python accepts but no UTF-8 writer does."""
    return _SURROGATE.search(text) is None


def scrub(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD, so it can be stored and shown."""
    return _SURROGATE.sub("\ufffd", text)


def refused(question: str, message: str) -> Answer:
    """The answer for a question refused before it reached the core, shaped like the core's own refusals."""
    shown = scrub(question[:200])
    return Answer(question=shown, answer=message, abstained=True, error=message, reason=message)


def checked_turn(turn: Turn, assistant) -> Turn:
    """A client's Turn fit to steer the next answer: a subject the assistant could not have named
    itself is dropped (it would be written into the answer's text), the question made storable."""
    subject = turn.subject if turn.subject and assistant.known_subject(turn.subject) else None
    return turn.model_copy(update={"subject": subject, "question": scrub(turn.question)})


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return True  # FastAPI parses a body without a content type as JSON
    main = content_type.split(";", 1)[0].strip().lower()
    return main == "application/json" or (main.startswith("application/") and main.endswith("+json"))


def json_problem(body: bytes, declared: bool) -> str | None:
    """Why `body` is unfit for a JSON route, or None. `declared`: the client said it is JSON (without
    that, a body that is not JSON is left to the route, which may not read it at all)."""
    try:
        text = body.decode("utf-8")
        value = json.loads(text)
    except UnicodeDecodeError:
        return "The request body is not valid UTF-8 text; send JSON encoded as UTF-8."
    except RecursionError:
        return "The request body is nested too deeply; send plain JSON."
    except ValueError:
        return "The request body is not valid JSON; check its quotes, commas and brackets." if declared else None
    if _SURROGATE_ESCAPE.search(body) is None:
        return None
    stack = [value]  # iterative: a deep document must not exhaust the stack here either
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not encodable(item):
                return ("The request body has a lone surrogate escape (such as \\ud800): half of a "
                        "character. Send whole characters (UTF-8, or escaped surrogate pairs).")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [v for k, v in scope.get("headers", []) if k.lower() == name]


class BodyLimit:
    """ASGI middleware: every HTTP body read and checked in full, bounded, before the app sees it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_big = f"The request body is over the server's limit of {self.max_bytes:,} bytes."
        declared = _header(scope, b"content-length")
        if declared:
            if len(set(declared)) > 1 or not declared[0].isdigit():
                return await _error(400, "The Content-Length header is not a single whole number.", scope,
                                    receive, send)
            if int(declared[0]) > self.max_bytes:
                return await _error(413, too_big, scope, receive, send)  # refused unread
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await _error(413, too_big, scope, receive, send)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = _header(scope, b"content-type")
        declared_type = content_type[0].decode("latin-1") if content_type else None
        if body and _is_json(declared_type):
            problem = json_problem(body, declared_type is not None)
            if problem:
                return await _error(400, problem, scope, receive, send)

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # then whatever comes next: the disconnect

        await self.app(scope, replay, send)


async def _error(status: int, text: str, scope: Scope, receive: Receive, send: Send) -> None:
    # Connection: close, as the rest of a refused body is never read.
    await JSONResponse({"error": text}, status_code=status, headers={"Connection": "close"})(scope, receive, send)
