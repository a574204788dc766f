"""A pool of answer worker processes, all on one index: the server's answers on every core.

Processes are started with multiprocessing's "spawn" context: the server has threads (uvicorn,
the database writer, the reload watcher), and forking a process with threads can copy a lock some
other thread holds. Each worker loads its own Assistant once (workers.py); the index files it reads
are shared between processes by the OS page cache.

Dispatch: `answer` hands the task to a thread pool with one thread per worker. A thread takes an idle
worker, sends the task down its pipe and waits (without the GIL) for the result. So a task waits in
the thread pool's queue, first come first served, until a worker is free, and the event loop never
blocks. A pool is one index generation: when a rebuilt index is swapped in, the service starts a new
pool and `retire`s the old one, which finishes every task already given to it, then stops its workers.

A worker that dies (killed, out of memory, a crash in native code) fails only the question it was
answering, with WorkerCrashed (the caller apologises, as for any exception), and is replaced by a
new worker in the background. A replacement that loaded a different index than the pool's (a build
swapped the folder meanwhile) is not admitted: a pool never mixes indexes, and the watcher is about
to swap in a pool on the new one anyway.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..errors import AssistantError
from ..models import Manifest
from ..settings import Settings
from .workers import Ready, Result, Task, serve_tasks

log = logging.getLogger(__name__)


class PoolError(AssistantError):
    """The pool could not start, or has no worker left to answer with."""


class WorkerCrashed(RuntimeError):
    """The worker answering this question stopped before it answered."""


class WorkerFailed(RuntimeError):
    """The worker raised while answering; the message holds its traceback."""


class Worker:
    def __init__(self, process, conn) -> None:
        self.process = process
        self.conn = conn

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def stop(self, timeout: float = 5.0) -> None:
        """Ask it to finish (it is idle), then make sure it is gone."""
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self.conn.close()


class WorkerPool:
    def __init__(self, settings: Settings, size: int, manifest: Manifest, start_timeout: float = 180.0,
                 target: Callable = serve_tasks) -> None:
        self.settings = settings
        self.size = size
        self.manifest = manifest  # the index every worker of this pool must have loaded
        self.start_timeout = start_timeout
        self.target = target  # tests wrap serve_tasks to make a worker crash on cue
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._members: set[Worker] = set()
        self._starting = 0
        self._guard = threading.Lock()  # _members and _starting change in task and replacement threads
        self._tasks = ThreadPoolExecutor(size, thread_name_prefix="answer-pool")
        self._closed = threading.Event()
        self.replaced = 0

    def pids(self) -> list[int]:
        with self._guard:
            return sorted(w.pid for w in self._members if w.pid is not None)

    # --- starting workers -------------------------------------------------------------------------

    def start(self) -> WorkerPool:
        """Start every worker and wait until each has loaded the index (blocking: `serve` calls it
        before the port opens, the reload watcher in its own thread). Raises PoolError if one cannot."""
        with self._guard:
            self._starting += self.size
        launched = [self._launch() for _ in range(self.size)]
        problems = []
        for worker in launched:
            problem = self._admit(worker)
            if problem:
                problems.append(problem)
        if problems:
            self.close()
            raise PoolError(f"{len(problems)} of {self.size} answer workers could not start ({problems[0]}). "
                            "Fix that, or set CAREERS_ANSWER_WORKERS=1 to answer in the server process.")
        # Debug: serve's one start-up line already says how many workers answer, and a reload logs the
        # index it now serves.
        log.debug("%d answer workers ready on the index built %s (pids %s)", self.size,
                 self.manifest.build_time.isoformat(timespec="seconds"), ", ".join(map(str, self.pids())))
        return self

    def _launch(self) -> Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=self.target, args=(self.settings.model_dump_json(), theirs),
                                        name="answer-worker", daemon=True)
        process.start()
        theirs.close()  # only the worker holds its end: when it dies, our recv() sees EOF at once
        return Worker(process, ours)

    def _admit(self, worker: Worker) -> str | None:
        """Wait for the worker's Ready; add it to the pool if it loaded this pool's index. Returns why not."""
        try:
            if not worker.conn.poll(self.start_timeout):
                problem = f"no word from it after {self.start_timeout:g} s"
            else:
                ready = Ready.model_validate(worker.conn.recv())
                problem = ready.error or (None if ready.manifest == self.manifest else
                                          "it loaded a different index (a build finished while it started)")
        except (EOFError, OSError):
            worker.process.join(5)
            problem = f"it exited with code {worker.process.exitcode} while loading"
        with self._guard:
            self._starting -= 1
            if problem is None and not self._closed.is_set():
                self._members.add(worker)
                self._idle.put(worker)
                return None
        worker.stop()
        return problem or "the pool closed while it started"

    def _replace(self, lost: Worker) -> None:
        """Stop what is left of `lost` and start a new worker in its place, in the background."""
        with self._guard:
            self._members.discard(lost)
            if self._closed.is_set():
                return
            self._starting += 1
        lost.stop(timeout=1.0)
        log.error("Answer worker pid %s stopped (exit code %s); starting another", lost.pid, lost.process.exitcode)

        def replace() -> None:
            try:
                worker = self._launch()
            except Exception:
                with self._guard:
                    self._starting -= 1
                log.exception("Could not start an answer worker")
                return
            problem = self._admit(worker)
            if problem:
                log.error("The replacement answer worker was not admitted: %s; %d workers answer", problem,
                          len(self._members))
            else:
                self.replaced += 1
                log.info("Answer worker pid %s replaces pid %s", worker.pid, lost.pid)

        threading.Thread(target=replace, name="answer-worker-replace", daemon=True).start()

    # --- answering ----------------------------------------------------------------------------------

    async def answer(self, task: Task) -> Result:
        """The Result of `task` from one worker. Raises WorkerCrashed, WorkerFailed or PoolError."""
        if self._closed.is_set():
            raise PoolError("the answer pool is closed")
        return await asyncio.get_running_loop().run_in_executor(self._tasks, self._call, task.model_dump())

    def _call(self, payload: dict) -> Result:
        worker = self._checkout()
        try:
            worker.conn.send(payload)
            reply = worker.conn.recv()
        except BaseException as err:
            self._replace(worker)  # the pipe may hold half a message: this worker is never used again
            if isinstance(err, (EOFError, OSError)):
                raise WorkerCrashed(f"answer worker pid {worker.pid} stopped while answering (exit code "
                                    f"{worker.process.exitcode})") from None
            raise
        self._idle.put(worker)  # the pipe is clear again: the worker answered exactly what it was sent
        if "error" in reply:
            raise WorkerFailed(f"answer worker pid {worker.pid} raised:\n{reply['error']}")
        return Result.model_validate(reply)

    def _checkout(self) -> Worker:
        while True:
            try:
                worker = self._idle.get(timeout=0.5)
            except queue.Empty:
                with self._guard:
                    alive = len(self._members) + self._starting
                if self._closed.is_set() or alive == 0:
                    raise PoolError("no answer worker is running (see the log for why they stopped)") from None
                continue
            if worker.process.is_alive():
                return worker
            self._replace(worker)  # it died while idle: this question goes to another worker

    # --- stopping -----------------------------------------------------------------------------------

    def retire(self) -> None:
        """Finish every task already given to this pool, then stop its workers, in the background."""

        def drain() -> None:
            self._tasks.shutdown(wait=True)
            self.close()

        threading.Thread(target=drain, name="answer-pool-retire", daemon=True).start()

    def close(self) -> None:
        """Stop every worker now; tasks still waiting fail with PoolError."""
        self._closed.set()
        self._tasks.shutdown(wait=False, cancel_futures=True)
        with self._guard:
            members, self._members = list(self._members), set()
        for worker in members:
            worker.stop(timeout=2.0)
