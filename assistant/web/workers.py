"""What an answer worker does: load one Assistant, then answer tasks that arrive down a pipe.

An answer is ~40 ms of mostly-Python CPU, so threads in the server would queue on the GIL; worker
processes (pool.py starts them) each answer on a core of their own. The message between the server
and a worker is a pydantic model dumped to plain Python values (pickled by the pipe): a Task carries
the question, the history a client sent, and the conversation's turns so far; the Result carries the
Answer and the turns the conversation remembers after it. `answer_on` is the one function that turns
those into an answer, in a worker and in the server's own process alike, so an answer is the same
wherever it was computed.

Imported by each worker process when it starts: only the core, pydantic and limits.py (no Chainlit,
no database), so a worker starts in about a second.
"""

from __future__ import annotations

import logging
import os
import signal
import traceback
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from ..models import Answer, Manifest, Turn
from ..pipeline import Assistant, Conversation
from ..settings import Settings
from .limits import checked_turn

log = logging.getLogger(__name__)

HistoryItem = str | Turn


class Task(BaseModel):
    """One question to answer, with everything the answer depends on besides the index."""

    model_config = ConfigDict(frozen=True)

    question: str
    history: list[HistoryItem] = []  # what an API client sent: read into the conversation, never answered
    turns: list[Turn] = []  # the conversation so far, as the server holds it
    max_history: int = 10


class Result(BaseModel):
    model_config = ConfigDict(frozen=True)

    answer: Answer
    turns: list[Turn] = []  # to append to the conversation: the history read, then this answer's turn


class Ready(BaseModel):
    """A worker's first message: the index it loaded (a pool only admits workers on its own index)."""

    pid: int
    manifest: Manifest | None = None
    error: str | None = None  # why it could not load: the index or model problem, as the core words it


def answer_on(assistant: Assistant, conversation: Conversation, question: str, history: Sequence[HistoryItem],
              max_history: int) -> Answer:
    """Answer `question` in `conversation` on `assistant`, after adding the last `max_history` items
    of `history` to it (unanswered). The question must already be encodable (service.py checks)."""
    # Everything below runs on this one Assistant. A conversation started before a reload carries on
    # with the current index; its turns (facet, role) do not depend on it.
    conversation.assistant = assistant
    for item in list(history)[-max_history:] if max_history else []:
        # History is never answered again: a Turn is taken as the client recorded it (its role only
        # if this assistant could have named it), and a question given as text is only read, as the
        # conversation would have remembered it. So a long history costs milliseconds, not answers.
        turn = item if isinstance(item, Turn) else assistant.read_turn(item, conversation.turns)
        if turn is not None:
            conversation.turns.append(checked_turn(turn, assistant))
    return conversation.ask(question)


def answer_task(assistant: Assistant, task: Task) -> Result:
    conversation = Conversation(assistant)
    conversation.turns = list(task.turns)
    answer = answer_on(assistant, conversation, task.question, task.history, task.max_history)
    return Result(answer=answer, turns=conversation.turns[len(task.turns):])


def serve_tasks(settings_json: str, conn) -> None:
    """A worker process's whole life: load, say Ready, answer until the server closes the pipe.

    An exception while answering is sent back as text (the server apologises and logs it) and the
    worker goes on; only a crash ends it, and the pool replaces it."""
    # Ctrl-C in a terminal reaches the whole process group: the server decides when workers stop
    # (it closes the pipe, or sends None), so a worker never dies with a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _log_like_the_server()
    try:
        assistant = Assistant(Settings.model_validate_json(settings_json))
    except Exception as err:  # AssistantError says what to fix; the pool logs it and does not retry
        conn.send(Ready(pid=os.getpid(), error=f"{err.__class__.__name__}: {err}").model_dump())
        return
    conn.send(Ready(pid=os.getpid(), manifest=assistant.index.manifest).model_dump())
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the server is gone (even killed): nothing left to answer for
            return
        if message is None:  # the pool retiring this worker
            return
        try:
            reply = answer_task(assistant, Task.model_validate(message)).model_dump()
        except Exception:
            reply = {"error": traceback.format_exc(limit=20)}
        conn.send(reply)


def _log_like_the_server() -> None:
    """The worker writes to the server's stderr: same format, same redaction of user text."""
    from ..privacy import SafeLogFormatter
    from .server import LOG_FORMAT

    handler = logging.StreamHandler()
    handler.setFormatter(SafeLogFormatter(LOG_FORMAT))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])  # the server logs each answer
