"""One loaded Assistant shared by the chat and the API: answers off the event loop, logs abstentions.

The Assistant can be swapped while serving (reload.py): each request reads the current one once and
answers entirely on it, so a rebuild shows as the old index or the new one, never a mix.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence

from ..models import Answer, Turn
from ..pipeline import Assistant, Conversation
from ..privacy import for_log
from .store import Channel, UnansweredStore

log = logging.getLogger(__name__)

HistoryItem = str | Turn


class AnswerService:
    def __init__(self, assistant: Assistant, store: UnansweredStore | None = None, max_history: int = 20,
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
        with self._lock:
            # Read once: everything below, history replay included, runs on this one Assistant. A
            # conversation started before a reload carries on with the current index; its turns
            # (facet, role) do not depend on the index.
            conversation.assistant = self.assistant
            for item in list(history)[-self.max_history:]:
                if isinstance(item, Turn):
                    conversation.turns.append(item)
                else:
                    # A past question given as text: answer it again to learn what it was about
                    # (facet, role), exactly as the conversation would have at the time.
                    conversation.ask(item)
            return conversation.ask(question)

    async def converse(self, conversation: Conversation, question: str, channel: Channel,
                       history: Sequence[HistoryItem] = ()) -> Answer:
        """Answer `question` in `conversation` (after replaying `history` into it), in a worker thread.

        Exceptions propagate: the caller decides how to apologise (chat message, HTTP 500)."""
        started = time.perf_counter()
        answer = await asyncio.to_thread(self._converse, conversation, question, history)
        self._log(answer, question, channel, time.perf_counter() - started)
        if answer.abstained and not answer.error:
            await self._record(answer, channel)
        return answer

    def _log(self, answer: Answer, question: str, channel: Channel, seconds: float) -> None:
        outcome = "refused" if answer.error else "abstained" if answer.abstained else "answered"
        facet = answer.facet.value if answer.facet else "-"
        # The question is user text: redacted (emails, phone numbers), on one line, shortened.
        text = f" question={for_log(question, 120)}" if self.log_questions else ""
        log.info("%s %s facet=%s ms=%.0f%s", channel, outcome, facet, seconds * 1000, text)

    async def _record(self, answer: Answer, channel: Channel) -> None:
        if self.store is None:
            return
        try:
            await self.store.record(answer.question, answer.reason, channel)
        except Exception:  # the user still gets the answer; staff lose one row, and the log says why
            log.exception("Could not record an unanswered question")
