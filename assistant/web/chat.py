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
from .present import ChatReply, apology, reply_for
from .state import current
from .welcome import ICON, STARTERS

log = logging.getLogger(__name__)

ASK_ACTION = "ask_suggestion"
# Chainlit's UI offers thumbs up/down on the last assistant message of a step with this name
# (frontend Messages/index.tsx, CL_RUN_NAMES), which is what @cl.on_message wraps each answer in.
RUN_NAME = "on_message"
# Chainlit's footer says "LLMs can make mistakes"; there is no LLM here, so it says what is true.
WATERMARK = "Every answer quotes the pages it cites: check each source's date."


class CareersDataLayer(SQLAlchemyDataLayer):
    """Chainlit's SQLAlchemy data layer, without element storage.

    Elements (the side panels) need a blob store, and each one would log a warning without it; they
    are exact spans of the indexed pages, so the steps, threads and feedback are what is worth keeping."""

    async def create_element(self, element) -> None:  # type: ignore[override]
        return None


@cl.data_layer
def _data_layer() -> SQLAlchemyDataLayer:
    return CareersDataLayer(conninfo=current().web.database_url)


@cl.set_chat_profiles
async def _chat_profiles(user=None, language=None) -> list[cl.ChatProfile]:
    # One profile, never shown as a choice: Chainlit's first screen shows a profile's description
    # (with its icon) above the starters, which is where the welcome belongs. A first message would
    # hide the starters instead.
    welcome = current().welcome
    return [cl.ChatProfile(name=welcome.role, markdown_description=welcome.short(), icon=ICON, default=True)]


@cl.set_starters
async def _starters(user=None, language=None) -> list[cl.Starter]:
    return [cl.Starter(label=label, message=message) for label, message in STARTERS]


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
    await cl.Message(content=reply.content, elements=elements, actions=actions).send()


async def _answer(question: str) -> None:
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
