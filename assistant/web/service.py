"""One loaded Assistant shared by the chat and the API: answers off the event loop, records every
question's outcome (the staff overview) and the abstentions (the unanswered list).

The Assistant can be swapped while serving (reload.py): each request reads the current one once and
answers entirely on it, so a rebuild shows as the old index or the new one, never a mix.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TypeVar

from ..models import Answer, Turn
from ..pipeline import Assistant, Conversation
from ..privacy import for_log
from .limits import UNREADABLE, checked_turn, encodable, refused, scrub
from .store import AskedQuestion, Channel, UnansweredStore

log = logging.getLogger(__name__)

HistoryItem = str | Turn
T = TypeVar("T")


class AnswerService:
    def __init__(self, assistant: Assistant, store: UnansweredStore | None = None, max_history: int = 10,
                 log_questions: bool = True) -> None:
        self.assistant = assistant
        self.store = store
        self.max_history = max_history
        self.log_questions = log_questions
        # The core does not promise to be thread-safe (FAISS, the tokenizer, caches), and an answer
        # takes ~20 ms of CPU, so answers run one at a time in worker threads: the event loop stays
        # free for other sessions and nothing shared is touched by two threads at once.
        self._lock = threading.Lock()

    def conversation(self) -> Conversation:
        return Conversation(self.assistant)

    def swap(self, assistant: Assistant) -> Assistant:
        """Serve `assistant` from the next question on; returns the one it replaces. Questions already
        being answered finish on the old one (they hold their own reference to it)."""
        old, self.assistant = self.assistant, assistant
        return old

    def _converse(self, conversation: Conversation, question: str, history: Sequence[HistoryItem]) -> Answer:
        if not encodable(question):  # the tokenizer fails on a lone surrogate: refuse it here, politely
            return refused(question, UNREADABLE)
        with self._lock:
            # Read once: everything below runs on this one Assistant. A conversation started before a
            # reload carries on with the current index; its turns (facet, role) do not depend on it.
            assistant = conversation.assistant = self.assistant
            for item in list(history)[-self.max_history:]:
                # History is never answered again: a Turn is taken as the client recorded it (its
                # role only if this assistant could have named it), and a question given as text is
                # only read, as the conversation would have remembered it. So a long history costs
                # milliseconds under the lock, not one answer per turn.
                turn = item if isinstance(item, Turn) else assistant.read_turn(item, conversation.turns)
                if turn is not None:
                    conversation.turns.append(checked_turn(turn, assistant))
            return conversation.ask(question)

    async def converse(self, conversation: Conversation, question: str, channel: Channel,
                       history: Sequence[HistoryItem] = ()) -> Answer:
        """Answer `question` in `conversation` (after adding `history` to it unanswered), in a worker thread.

        Exceptions propagate: the caller decides how to apologise (chat message, HTTP 500)."""
        started = time.perf_counter()
        answer = await asyncio.to_thread(self._converse, conversation, question, history)
        self._log(answer, question, channel, time.perf_counter() - started)
        await self._record(answer, question, channel)
        return answer

    async def exclusive(self, work: Callable[[Assistant], T]) -> T:
        """Run `work` on the current Assistant in a worker thread, under the same lock as answers (the
        core is not shared between threads): the staff pages' FAQ check and question grouping."""
        def run() -> T:
            with self._lock:
                return work(self.assistant)

        return await asyncio.to_thread(run)

    async def encode(self, texts: list[str]):
        """Unit vectors of `texts` from the loaded model (staff pages group similar questions with it)."""
        return await self.exclusive(lambda assistant: assistant.embedder.encode(texts))

    def _log(self, answer: Answer, question: str, channel: Channel, seconds: float) -> None:
        outcome = "refused" if answer.error else "abstained" if answer.abstained else "answered"
        facet = answer.facet.value if answer.facet else "-"
        # The question is user text: redacted (emails, phone numbers), on one line, shortened.
        text = f" question={for_log(question, 120)}" if self.log_questions else ""
        log.info("%s %s facet=%s ms=%.0f%s", channel, outcome, facet, seconds * 1000, text)

    async def _record(self, answer: Answer, asked: str, channel: Channel) -> None:
        if self.store is None:
            return
        facet = answer.facet.value if answer.facet else None
        # A refused question (too long, not text) is kept as the core shows it: its first 200 characters,
        # made storable (a lone surrogate would fail the INSERT). A refusal made before the core saw the
        # question leaves outcome at its default, so error decides.
        row = AskedQuestion(question=scrub(answer.question or asked), asked_at=datetime.now(timezone.utc),
                            channel=channel, outcome="error" if answer.error else answer.outcome,
                            occupation=answer.occupation, facet=facet, reason=answer.reason)
        try:
            await self.store.record_question(row)
            if answer.abstained and not answer.error:
                await self.store.record(answer.question, answer.reason, channel, occupation=answer.occupation,
                                        facet=facet, asked_at=row.asked_at)
        except Exception:  # the user still gets the answer; staff lose one row, and the log says why
            log.exception("Could not record a question's outcome")
