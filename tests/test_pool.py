"""The answer worker pool (web/pool.py, web/workers.py), with real worker processes on the hash embedder.

Answers from a worker must be exactly the answers the server process gives (same Answer dump, same
conversation turns after it); a worker that dies or raises fails only its own question and a dead one
is replaced; a pool admits only workers on its own index; a swapped-out pool finishes what it was
given. Each pool start spawns Python processes (~1-2 s), so the pools here are few and small.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from assistant.evaluate import load_cases
from assistant.models import Facet, Turn
from assistant.web.pool import PoolError, WorkerCrashed, WorkerFailed, WorkerPool
from assistant.web.service import AnswerService
from assistant.web.workers import Task

REPO = Path(__file__).resolve().parents[1]
CRASH = "crash the worker answering this"
FAIL = "raise in the worker answering this"


def crashing_worker(settings_json: str, conn) -> None:
    """The real worker, except that it dies (exit code 3) on CRASH and raises on FAIL."""
    from assistant.web import workers

    real = workers.answer_on

    def answer_on(assistant, conversation, question, *args):
        if question == CRASH:
            os._exit(3)
        if question == FAIL:
            raise RuntimeError("told to fail")
        return real(assistant, conversation, question, *args)

    workers.answer_on = answer_on
    workers.serve_tasks(settings_json, conn)


@pytest.fixture(scope="module")
def pool(hash_assistant):
    started = WorkerPool(hash_assistant.settings, 2, hash_assistant.index.manifest, target=crashing_worker).start()
    yield started
    started.close()


def pooled(hash_assistant, pool: WorkerPool) -> AnswerService:
    """A service answering through `pool` (already started) on `hash_assistant`."""
    from assistant.web.service import Generation

    service = AnswerService(hash_assistant, workers=pool.size)
    service._generation = Generation(hash_assistant, pool)
    return service


def converse_all(service: AnswerService, questions: list[str], history=()) -> tuple[list[dict], list[Turn]]:
    async def run():
        conversation = service.conversation()
        answers = [(await service.converse(conversation, q, "api", history=history if i == 0 else ())).model_dump()
                   for i, q in enumerate(questions)]
        return answers, conversation.turns

    return asyncio.run(run())


def test_workers_answer_exactly_as_the_server_process_does(hash_assistant, pool):
    in_process, workers = AnswerService(hash_assistant), pooled(hash_assistant, pool)
    conversations = [case.turns for case in load_cases(REPO / "evals" / "cases.yaml")]
    conversations.append([turns[-1] for turns in conversations[:30]])  # one long conversation
    for questions in conversations:
        assert converse_all(workers, questions) == converse_all(in_process, questions), questions
    # An API client's history, as text and as Turns (one naming an occupation the index does not know).
    history = ["What band do OT support workers start on?",
               Turn(question="and the hours?", facet=Facet.hours, subject="no-such-occupation"),
               Turn(question="pay?", facet=Facet.pay, subject=hash_assistant.index.registry.covered[0].id)]
    for questions in (["and how much?"], ["what about weekends?", "and the skills?"]):
        got = converse_all(workers, questions, history)
        assert got == converse_all(in_process, questions, history)
        assert len(got[1]) == len(history) + len(questions)


def test_a_worker_that_dies_fails_only_its_question_and_is_replaced(hash_assistant, pool):
    before = pool.pids()
    replaced = pool.replaced

    async def run():
        tasks = [pool.answer(Task(question=q)) for q in (CRASH, "What band do OT support workers start on?")]
        return await asyncio.gather(*tasks, return_exceptions=True)

    crashed, answered = asyncio.run(run())
    assert isinstance(crashed, WorkerCrashed) and "exit code 3" in str(crashed)
    assert not isinstance(answered, Exception) and "band 3" in answered.answer.answer
    wait_for(lambda: pool.replaced == replaced + 1 and len(pool.pids()) == 2)
    assert pool.pids() != before
    assert "band 3" in asyncio.run(pool.answer(Task(question="What band do OT support workers start on?"))).answer.answer


def test_a_worker_killed_while_idle_costs_no_question(hash_assistant, pool):
    wait_for(lambda: len(pool.pids()) == 2)
    victim = pool.pids()[0]
    os.kill(victim, signal.SIGKILL)
    time.sleep(0.2)

    async def run():
        return await asyncio.gather(*[pool.answer(Task(question="What skills do OT support workers need?"))
                                      for _ in range(6)])

    assert all(result.answer.citations for result in asyncio.run(run()))
    wait_for(lambda: len(pool.pids()) == 2 and victim not in pool.pids())


def test_an_exception_in_a_worker_is_reported_and_the_worker_keeps_answering(hash_assistant, pool):
    pids = pool.pids()
    with pytest.raises(WorkerFailed, match="told to fail"):
        asyncio.run(pool.answer(Task(question=FAIL)))
    assert pool.pids() == pids
    service = pooled(hash_assistant, pool)
    with pytest.raises(WorkerFailed):  # the service lets it propagate: chat and API apologise
        asyncio.run(service.converse(service.conversation(), FAIL, "chat"))


def test_one_conversations_questions_are_answered_in_order(hash_assistant, pool):
    service = pooled(hash_assistant, pool)
    conversation = service.conversation()

    async def run():
        return await asyncio.gather(service.converse(conversation, "What band do OT support workers start on?", "chat"),
                                    service.converse(conversation, "and how many hours?", "chat"))

    first, second = asyncio.run(run())
    assert [t.question for t in conversation.turns] == ["What band do OT support workers start on?",
                                                        "and how many hours?"]
    assert second.subject == first.subject and second.facet == Facet.hours  # the follow-up saw the first turn


def test_a_pool_admits_only_workers_on_its_own_index(hash_assistant):
    other = hash_assistant.index.manifest.model_copy(update={"chunk_count": 1})
    with pytest.raises(PoolError, match="different index"):
        WorkerPool(hash_assistant.settings, 1, other).start()


def test_a_worker_that_cannot_load_the_index_stops_the_start_with_the_reason(hash_assistant, tmp_path):
    settings = hash_assistant.settings.model_copy(update={"index_dir": tmp_path / "nowhere"})
    with pytest.raises(PoolError, match="build") as err:
        WorkerPool(settings, 1, hash_assistant.index.manifest).start()
    assert "CAREERS_ANSWER_WORKERS=1" in str(err.value)


def test_a_swapped_out_pool_finishes_its_questions_then_stops(hash_assistant):
    service = AnswerService(hash_assistant, workers=2)
    service.start()
    old_pool = service._generation.pool
    old_pids = old_pool.pids()

    async def run():
        fresh = await asyncio.to_thread(service.prepare, hash_assistant.reload())
        waiting = [asyncio.ensure_future(service.converse(service.conversation(), "What band do OT support "
                                                          "workers start on?", "api")) for _ in range(8)]
        # One conversation's two questions: the second waits for the first, and reaches a pool after the swap.
        conversation = service.conversation()
        in_order = [asyncio.ensure_future(service.converse(conversation, q, "chat"))
                    for q in ("What band do OT support workers start on?", "and how many hours?")]
        await asyncio.sleep(0)  # each has read the generation and handed its task to the old pool's queue
        assert service.swap(fresh) is hash_assistant  # the old pool retires with most of them not yet answered
        first, second = await asyncio.gather(*in_order)
        assert second.facet == Facet.hours and second.subject == first.subject
        return await asyncio.gather(*waiting), service._generation.pool

    try:
        answers, new_pool = asyncio.run(run())
        assert all("band 3" in a.answer for a in answers)
        assert new_pool is not old_pool and set(new_pool.pids()).isdisjoint(old_pids)
        wait_for(lambda: old_pool.pids() == [] and not any(_alive(p) for p in old_pids))
        answer = asyncio.run(service.converse(service.conversation(), "What band do OT support workers start on?",
                                              "api"))
        assert "band 3" in answer.answer
        with pytest.raises(ValueError):
            service.swap(hash_assistant)  # a service with workers needs the new index's pool
    finally:
        service.close()


def test_answer_workers_default_to_the_usable_cpus_and_zero_is_refused(monkeypatch):
    from pydantic import ValidationError

    from assistant.web.settings import WebSettings

    monkeypatch.delenv("CAREERS_ANSWER_WORKERS", raising=False)
    assert WebSettings().answer_workers == len(os.sched_getaffinity(0))
    monkeypatch.setenv("CAREERS_ANSWER_WORKERS", "3")
    assert WebSettings().answer_workers == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("CAREERS_ANSWER_WORKERS", bad)
        with pytest.raises(ValidationError):
            WebSettings()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_the_reload_watcher_swaps_in_a_pool_on_the_rebuilt_index(tmp_path):
    import shutil

    from assistant.embedding import make_embedder
    from assistant.index import build_index
    from assistant.pipeline import Assistant
    from assistant.settings import Settings
    from assistant.web.reload import IndexWatcher

    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedder="hash")
    build_index(settings, make_embedder("hash"))
    service = AnswerService(Assistant(settings), workers=2)
    service.start()
    watcher = IndexWatcher(service, interval=0.05)
    question = "How much is the bike allowance for OT support workers in Test Town?"
    try:
        first = service._generation.pool
        assert asyncio.run(watcher.check()) == "same-build" and service._generation.pool is first
        assert asyncio.run(service.converse(service.conversation(), question, "api")).abstained
        (corpus / "bike.md").write_text("---\nid: bike-page\ntitle: Bike allowance for OT support workers\n"
                                        "publisher: Test Board\n---\nBike allowance\n\nOT support workers in Test "
                                        "Town get a £999 bike allowance.\n", encoding="utf-8")
        build_index(settings, make_embedder("hash"))
        assert asyncio.run(watcher.check()) == "reloaded"
        second = service._generation.pool
        assert second is not first and second.manifest == service.assistant.index.manifest
        answer = asyncio.run(service.converse(service.conversation(), question, "api"))
        assert {c.doc_id for c in answer.citations} == {"bike-page"} and "£999" in answer.answer
        wait_for(lambda: first.pids() == [])  # the old pool had nothing left to answer: it stopped
    finally:
        service.close()
