"""One loaded Assistant shared by the chat and the API: answers off the event loop, logs abstentions."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence

from ..models import Answer, Turn
from ..pipeline import Assistant, Conversation
from .store import Channel, UnansweredStore

log = logging.getLogger(__name__)

HistoryItem = str | Turn


class AnswerService:
    def __init__(self, assistant: Assistant, store: UnansweredStore | None = None, max_history: int = 20) -> None:
        self.assistant = assistant
        self.store = store
        self.max_history = max_history
        # The core does not promise to be thread-safe (FAISS, the tokenizer, caches), and an answer
        # takes ~20 ms of CPU, so answers run one at a time in worker threads: the event loop stays
        # free for other sessions and nothing shared is touched by two threads at once.
        self._lock = threading.Lock()

    def conversation(self) -> Conversation:
        return Conversation(self.assistant)

    def _converse(self, conversation: Conversation, question: str, history: Sequence[HistoryItem]) -> Answer:
        with self._lock:
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
        answer = await asyncio.to_thread(self._converse, conversation, question, history)
        if answer.abstained and not answer.error:
            await self._record(answer, channel)
        return answer

    async def _record(self, answer: Answer, channel: Channel) -> None:
        if self.store is None:
            return
        try:
            await self.store.record(answer.question, answer.reason, channel)
        except Exception:  # the user still gets the answer; staff lose one row, and the log says why
            log.exception("Could not record an unanswered question")
