"""Pick up a rebuilt index while serving: the model stays loaded, only the index is swapped.

`careers-assistant build` writes a new index beside the old one and swaps it in with two renames
under a lock file (index.py). The watcher looks at index/manifest.json once a `interval` (one stat()
call); when it changed, it loads the new index in a worker thread, never on the event loop, with a
shared lock on the build's lock file so no build swaps folders under it while it reads (with answer
workers, it starts their new pool under that lock too), then hands the new Assistant (and pool) to the
service in one reference assignment.

What it does in every other case, so that answering never stops:
- index/ missing (a build between its two renames, or someone deleting it): nothing, keep serving;
- a build holding the lock: nothing now, look again next time;
- the same build (the signature changed but the manifest did not): remember it, nothing to load;
- a new index that is stale, damaged or unreadable: log it, keep serving the old one, and do not try
  that folder again until it changes.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from ..models import Manifest
from ..pipeline import Assistant
from .service import AnswerService, Generation

log = logging.getLogger(__name__)

Outcome = Literal["unchanged", "missing", "busy", "same-build", "reloaded", "failed"]
Signature = tuple[int, int, int, int]


def signature(index_dir: Path) -> Signature | None:
    """Which index folder and manifest file are in place now (None while there is none)."""
    try:
        folder = os.stat(index_dir)
        manifest = os.stat(index_dir / "manifest.json")
    except OSError:
        return None
    return folder.st_ino, manifest.st_ino, manifest.st_mtime_ns, manifest.st_size


@contextmanager
def no_build_swapping(index_dir: Path) -> Iterator[bool]:
    """Hold a shared lock on the build's lock file (index.py `_build_lock`: `.index.lock` beside
    index/); yields False at once, without waiting, while a build holds it."""
    path = index_dir.parent / f".{index_dir.name}.lock"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:  # a read-only parent folder: no build can run there either
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class IndexWatcher:
    def __init__(self, service: AnswerService, interval: float = 1.0,
                 on_swap: Callable[[Assistant], None] | None = None) -> None:
        self.service = service
        self.interval = interval
        self.on_swap = on_swap
        self.index_dir = service.assistant.settings.index_dir
        self._seen: Signature | None = None  # the first check compares manifests, so a build that
        self._task: asyncio.Task | None = None  # finished while the server started is not missed
        self.reloads = 0

    async def check(self) -> Outcome:
        """Look once; load and swap in a new index if there is one."""
        current = signature(self.index_dir)
        if current is None:
            return "missing"
        if current == self._seen:
            return "unchanged"
        outcome, generation = await asyncio.to_thread(self._load)
        if generation is not None:
            assistant = generation.assistant
            old = self.service.swap(generation)
            self.reloads += 1
            log.info("Serving the index built %s (%d documents, %d chunks); the previous one was built %s",
                     assistant.index.manifest.build_time.isoformat(timespec="seconds"),
                     assistant.index.manifest.document_count, assistant.index.manifest.chunk_count,
                     old.index.manifest.build_time.isoformat(timespec="seconds"))
            if self.on_swap is not None:
                try:
                    self.on_swap(assistant)
                except Exception:  # the new index is already serving; only the welcome text is stale
                    log.exception("Updating the welcome text for the new index failed")
        return outcome

    def _load(self) -> tuple[Outcome, Generation | None]:
        with no_build_swapping(self.index_dir) as free:
            if not free:
                return "busy", None
            # Read again under the lock: what is loaded is exactly what is then marked as seen.
            current = signature(self.index_dir)
            if current is None:
                return "missing", None
            serving = self.service.assistant
            try:
                manifest = Manifest.model_validate_json((self.index_dir / "manifest.json").read_text("utf-8"))
            except (OSError, ValueError) as err:
                return self._failed(current, f"its manifest is unreadable ({err.__class__.__name__})")
            if manifest == serving.index.manifest:
                self._seen = current
                self._check_files(manifest)
                return "same-build", None
            try:
                assistant = serving.reload()
                # With answer workers, their pool on the new index starts here, still under the lock:
                # each worker loads exactly the index just read, and none is serving until all are.
                generation = self.service.prepare(assistant)
            except Exception as err:  # AssistantError says what is wrong; anything else is logged too
                return self._failed(current, str(err), exc_info=not _expected(err))
            self._seen = current
            return "reloaded", generation

    def _check_files(self, manifest: Manifest) -> None:
        """The manifest was touched but not changed: say so if the files it lists no longer match.
        What is served was verified and read into memory at load, so it keeps serving."""
        from ..integrity import problems

        found = problems(self.index_dir, manifest)
        if found:
            log.error("The index files in %s/ changed since they were loaded (%s); the copy loaded then keeps "
                      "serving, but a restart would refuse them: run `careers-assistant build`.",
                      self.index_dir, "; ".join(found[:3]))

    def _failed(self, current: Signature, why: str, exc_info: bool = False) -> tuple[Outcome, None]:
        self._seen = current  # not again until the folder changes (the next build)
        built = self.service.assistant.index.manifest.build_time.isoformat(timespec="seconds")
        log.error("A new index in %s/ cannot be served, so the index built %s keeps serving: %s",
                  self.index_dir, built, why, exc_info=exc_info)
        return "failed", None

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # never let one bad look stop the watching
                log.exception("Looking for a new index failed")
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        if self._task is None and self.interval > 0:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="index-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


def _expected(err: Exception) -> bool:
    from ..errors import AssistantError

    return isinstance(err, AssistantError)
