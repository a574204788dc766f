"""One loaded Assistant shared by the chat and the API: answers off the event loop, records every
question's outcome (the staff overview) and the abstentions (the unanswered list).

Answers are computed either in the server process, one at a time (one worker: `answer_workers=1`),
or by a pool of worker processes, one answer per core at once (pool.py). Both run the same function
(workers.answer_on), so an answer does not depend on where it was computed.

The index can be swapped while serving (reload.py): the service holds one Generation (an Assistant,
and with workers the pool loaded on the same index); each request reads the current one once and
answers entirely on it, so a rebuild shows as the old index or the new one, never a mix.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TypeVar

from ..models import Answer
from ..pipeline import Assistant, Conversation
from ..privacy import for_log
from .limits import UNREADABLE, encodable, refused, scrub
from .pool import WorkerPool
from .store import AskedQuestion, Channel, UnansweredStore
from .workers import HistoryItem, Task, answer_on

log = logging.getLogger(__name__)

__all__ = ["AnswerService", "Generation", "HistoryItem"]

T = TypeVar("T")


@dataclass(frozen=True)
class Generation:
    """What answers on one index: its Assistant, and the worker pool loaded on it (None: in-process)."""

    assistant: Assistant
    pool: WorkerPool | None = None


class AnswerService:
    def __init__(self, assistant: Assistant, store: UnansweredStore | None = None, max_history: int = 10,
                 log_questions: bool = True, workers: int = 1) -> None:
        self.store = store
        self.max_history = max_history
        self.log_questions = log_questions
        self.workers = workers
        self._generation = Generation(assistant)
        # In-process answers: the core does not promise to be thread-safe (FAISS, the tokenizer,
        # caches), and an answer takes ~40 ms of CPU, so answers run one at a time in worker threads:
        # the event loop stays free for other sessions and nothing shared is touched by two threads.
        self._lock = threading.Lock()
        # With workers, one conversation's questions are still answered one after another (a chat
        # client could send two at once): each answer sees the turns of the one before, as in-process.
        self._conversations: weakref.WeakKeyDictionary[Conversation, asyncio.Lock] = weakref.WeakKeyDictionary()

    @property
    def assistant(self) -> Assistant:
        return self._generation.assistant

    def start(self) -> None:
        """Start the worker pool (blocking, seconds: `serve` calls it before the port opens)."""
        if self._generation.pool is None:
            self._generation = self.prepare(self._generation.assistant)

    def prepare(self, assistant: Assistant) -> Generation:
        """What will answer on `assistant`: with workers, a pool started on its index (blocking; the
        caller holds the build lock, so the workers load exactly the index `assistant` holds)."""
        if self.workers <= 1:
            return Generation(assistant)
        pool = WorkerPool(assistant.settings, self.workers, assistant.index.manifest)
        return Generation(assistant, pool.start())

    def conversation(self) -> Conversation:
        return Conversation(self.assistant)

    def swap(self, new: Assistant | Generation) -> Assistant:
        """Serve `new` from the next question on; returns the Assistant it replaces. Questions already
        being answered (or waiting for a worker of the old pool) finish on the old generation, whose
        pool then stops. A bare Assistant is only for the in-process service."""
        generation = new if isinstance(new, Generation) else Generation(new)
        if self.workers > 1 and generation.pool is None:
            raise ValueError("a service with workers swaps in a Generation from prepare()")
        old, self._generation = self._generation, generation
        if old.pool is not None:
            old.pool.retire()
        return old.assistant

    def close(self) -> None:
        """Stop the workers (at server shutdown)."""
        if self._generation.pool is not None:
            self._generation.pool.close()

    def _converse(self, conversation: Conversation, question: str, history: Sequence[HistoryItem]) -> Answer:
        with self._lock:
            # Read once, under the lock: everything runs on this one Assistant.
            return answer_on(self.assistant, conversation, question, history, self.max_history)

    async def _converse_in_pool(self, conversation: Conversation, question: str,
                                history: Sequence[HistoryItem]) -> Answer:
        lock = self._conversations.setdefault(conversation, asyncio.Lock())
        async with lock:
            # Read once, after any wait for this conversation's previous question, and handed to the
            # pool with no await in between: a swap cannot retire this pool before it has the task.
            generation = self._generation
            if generation.pool is None:  # workers asked for, but start() was never called
                return await asyncio.to_thread(self._converse, conversation, question, history)
            conversation.assistant = generation.assistant
            task = Task(question=question, history=list(history), turns=conversation.turns,
                        max_history=self.max_history)
            result = await generation.pool.answer(task)
            conversation.turns.extend(result.turns)  # what the conversation remembers, as in-process
            return result.answer

    async def converse(self, conversation: Conversation, question: str, channel: Channel,
                       history: Sequence[HistoryItem] = ()) -> Answer:
        """Answer `question` in `conversation` (after adding `history` to it unanswered), off the event loop.

        Exceptions propagate: the caller decides how to apologise (chat message, HTTP 500)."""
        started = time.perf_counter()
        if not encodable(question):  # the tokenizer fails on a lone surrogate: refuse it here, politely
            answer = refused(question, UNREADABLE)
        elif self.workers <= 1:
            answer = await asyncio.to_thread(self._converse, conversation, question, history)
        else:
            answer = await self._converse_in_pool(conversation, question, history)
        self._log(answer, question, channel, time.perf_counter() - started)
        await self._record(answer, question, channel)
        return answer

    async def exclusive(self, work: Callable[[Assistant], T]) -> T:
        """Run `work` on the server process's Assistant in a worker thread, under the same lock as
        in-process answers (the core is not shared between threads): the staff pages' FAQ check and
        question grouping. With answer workers, answers do not take this lock, so staff work never
        holds up the chat."""
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
