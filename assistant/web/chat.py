"""Chainlit callbacks. Importing this module registers them on Chainlit's global config.

Imported only by `server.serve`, after `state.install`, so every callback can rely on `current()`.
"""

from __future__ import annotations

import logging

import chainlit as cl
from chainlit.config import config
from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ..pipeline import Conversation
from ..privacy import redact
from .limits import scrub
from .present import ChatReply, apology, reply_for, slow_down
from .ratelimit import client_key, retry_after
from .state import current
from .durable import Durable, not_stored, reset_not_stored
from .settings import WebSettings
from .welcome import ICON

log = logging.getLogger(__name__)

ASK_ACTION = "ask_suggestion"
# Chainlit's UI offers thumbs up/down on the last assistant message of a step with this name
# (frontend Messages/index.tsx, CL_RUN_NAMES), which is what @cl.on_message wraps each answer in.
RUN_NAME = "on_message"
# Chainlit's footer says "LLMs can make mistakes"; there is no LLM here, so it says what is true.
WATERMARK = "Every answer quotes the pages it cites: check each source's date."


def minimal_step(step_dict: dict) -> dict:
    """What is kept of a chat step: its text redacted (emails, phone numbers), and no page address
    (the browser puts window.location in each user message's metadata; a URL can carry a prefilled
    question or tracking parameters, and staff reviewing feedback do not need it)."""
    step = dict(step_dict)
    for key in ("input", "output", "name"):
        if isinstance(step.get(key), str):
            step[key] = redact(scrub(step[key]))  # scrub: a lone surrogate would fail the row's INSERT
    if isinstance(step.get("metadata"), dict):
        step["metadata"] = {k: v for k, v in step["metadata"].items() if k != "location"}
    return step


class CareersDataLayer(SQLAlchemyDataLayer):
    """Chainlit's SQLAlchemy data layer, without element storage, keeping only what staff need.

    Elements (the side panels) need a blob store, and each one would log a warning without it; they
    are exact spans of the indexed pages, so the steps, threads and feedback are what is worth keeping.
    Every text Chainlit would store (messages, the thread's name, which is the first question, and
    feedback comments) is redacted first."""

    def __init__(self, conninfo: str, durable: Durable | None = None, **kwargs) -> None:
        super().__init__(conninfo=conninfo, **kwargs)
        # Every statement goes through one Durable writer (durable.py): a write the database refuses is
        # spooled and replayed, never dropped with a warning. SQLite: every statement runs whole, one at
        # a time, on one thread of its own with the plain sqlite3 driver. Chainlit persists each step
        # from its own fire-and-forget task; through aiosqlite a dozen pooled connections then queue on
        # SQLite's single writer lock, each statement bouncing between the event loop and a driver
        # thread several times (every bounce waiting for the GIL while an answer is computed), until
        # SQLite's busy timeout or the pool's timeout fails it. In one thread nothing waits on a lock,
        # and a statement costs one hand-off. Other databases use their async engine.
        self.durable = durable or Durable(WebSettings(database_url=conninfo))
        self._owns_durable = durable is None

    async def execute_sql(self, query: str, parameters: dict):  # type: ignore[override]
        result = await self.durable.execute(query, parameters)
        return self.clean_result(result) if isinstance(result, list) else result

    async def close(self) -> None:
        await super().close()
        if self._owns_durable:
            await self.durable.close()

    async def create_element(self, element) -> None:  # type: ignore[override]
        return None

    async def create_step(self, step_dict):  # type: ignore[override]
        return await super().create_step(minimal_step(step_dict))

    async def update_step(self, step_dict):  # type: ignore[override]
        return await super().update_step(minimal_step(step_dict))

    async def update_thread(self, thread_id: str, name: str | None = None, *args, **kwargs):  # type: ignore[override]
        return await super().update_thread(thread_id, redact(scrub(name)) if isinstance(name, str) else name,
                                           *args, **kwargs)

    async def upsert_feedback(self, feedback):  # type: ignore[override]
        if isinstance(feedback.comment, str):
            feedback.comment = redact(feedback.comment)
        reset_not_stored()
        feedback_id = await super().upsert_feedback(feedback)
        if not_stored():  # spooled (or refused): PUT /feedback must not answer success
            raise FeedbackNotSaved(FEEDBACK_NOT_SAVED)
        return feedback_id


# Chainlit's PUT /feedback turns an exception into an error reply with its text as the detail, and
# the page shows that detail in a toast: this is what the visitor reads.
FEEDBACK_NOT_SAVED = ("Sorry, your feedback could not be saved just now. It has been kept and will be "
                      "stored when the database is back.")


class FeedbackNotSaved(Exception):
    status_code = 503  # for a route wrapper that maps it: the service, not the request, is at fault


@cl.data_layer
def _data_layer() -> SQLAlchemyDataLayer:
    return CareersDataLayer(conninfo=current().web.database_url, durable=current().durable)


@cl.set_chat_profiles
async def _chat_profiles(user=None, language=None) -> list[cl.ChatProfile]:
    # One profile, never shown as a choice: Chainlit's first screen shows a profile's description
    # (with its icon) above the starters, which is where the welcome belongs. A first message would
    # hide the starters instead.
    welcome = current().welcome
    return [cl.ChatProfile(name=welcome.role, markdown_description=welcome.short(), icon=ICON, default=True)]


@cl.set_starters
async def _starters(user=None, language=None) -> list[cl.Starter]:
    return [cl.Starter(label=label, message=message) for label, message in current().welcome.starters]


@cl.on_app_startup
async def _on_app_startup() -> None:
    watcher = current().watcher
    if watcher is not None:
        watcher.start()  # on the server's own event loop, for the life of the server
    if current().durable is not None:
        current().durable.start()  # retries spooled database writes


@cl.on_app_shutdown
async def _on_app_shutdown() -> None:
    watcher = current().watcher
    if watcher is not None:
        await watcher.stop()
    if current().durable is not None:
        await current().durable.flush()  # a last replay, if the database is back
    current().service.close()  # the answer workers (they would also stop when the server's pipes close)


def forget_chat_context(session_id: str) -> None:
    """Drop a session's messages from Chainlit's global chat_contexts.

    Chainlit keeps every message of every session (content, elements, actions) in a module-level dict
    and never removes a session's entry (chainlit#2951; the fix, chainlit#2959, is not released), so a
    server's memory grows with every conversation. Nothing here reads it: our conversation state is
    the Conversation in the user session, and the features that read chat_context (editing a message,
    resuming a thread) are off."""
    from chainlit.chat_context import chat_contexts

    chat_contexts.pop(session_id, None)


@cl.on_chat_end
async def _on_chat_end() -> None:
    forget_chat_context(cl.context.session.id)  # at every disconnect: closed tab or "New chat"


@cl.on_chat_start
async def _on_chat_start() -> None:
    cl.user_session.set("conversation", current().service.conversation())


def _conversation() -> Conversation:
    conversation = cl.user_session.get("conversation")
    if not isinstance(conversation, Conversation):  # e.g. a session restored after a server restart
        conversation = current().service.conversation()
        cl.user_session.set("conversation", conversation)
    return conversation


async def _send(reply: ChatReply) -> None:
    elements = [cl.Text(name=p.name, content=p.content, display="side") for p in reply.sources]
    actions = [cl.Action(name=ASK_ACTION, payload={"question": s}, label=s, tooltip="Ask this next")
               for s in reply.suggestions]
    metadata = {"occupation": reply.occupation} if reply.occupation else None
    await cl.Message(content=reply.content, elements=elements, actions=actions, metadata=metadata).send()


def session_client(environ: dict, trust_forwarded_for: bool) -> str:
    """The address of the browser behind a chat session, from the environ python-socketio keeps for
    its connection (REMOTE_ADDR there is always 127.0.0.1; the ASGI scope has the real peer)."""
    scope = environ.get("asgi.scope") or {}
    peer = scope.get("client")
    headers = {"x-forwarded-for": environ.get("HTTP_X_FORWARDED_FOR", "")}
    return client_key(peer[0] if peer else None, headers, trust_forwarded_for)


def _client() -> str:
    environ = getattr(cl.context.session, "environ", None) or {}
    return session_client(environ, current().web.trust_forwarded_for)


def _rate_limited() -> int:
    """0 when this session's client may ask now, else the seconds to wait."""
    limiter = current().limiter
    if limiter is None:
        return 0
    wait = limiter.acquire(_client())
    return retry_after(wait) if wait else 0


async def _answer(question: str) -> None:
    wait = _rate_limited()
    if wait:
        await _send(slow_down(wait))
        return
    try:
        answer = await current().service.converse(_conversation(), question, "chat")
        reply = reply_for(answer)
    except Exception:  # the user sees a short apology; the traceback goes to the log only
        log.exception("Answering a chat message failed")
        reply = apology()
    await _send(reply)


@cl.on_message
async def _on_message(message: cl.Message) -> None:
    await _answer(message.content or "")


@cl.action_callback(ASK_ACTION)
async def _on_suggestion(action: cl.Action) -> None:
    question = action.payload.get("question")
    if not isinstance(question, str):  # the payload comes back from the browser: check it
        return
    try:
        user_message = cl.Message(content=question, author="User", type="user_message")
        await user_message.send()
        await cl.context.emitter.task_start()
        async with cl.Step(name=RUN_NAME, type="run", parent_id=user_message.id) as run:
            run.input = question
            await _answer(question)
    except Exception:
        log.exception("Answering a suggested question failed")
        await _send(apology())
    finally:
        await cl.context.emitter.task_end()


def ui_routes() -> APIRouter:
    """Routes that take precedence over Chainlit's own (see api.mount_first)."""
    router = APIRouter()

    @router.get("/project/translations")
    async def translations(language: str = Query(default="en-US", pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")):
        translation = config.load_translation(config.ui.language or language)
        if isinstance(translation.get("chat"), dict):
            translation["chat"]["watermark"] = WATERMARK
        return JSONResponse({"translation": translation})

    return router
