"""Rebuild the index in the background while the server keeps answering, one build at a time.

The build runs as a child process (`python -m assistant build`, the same command an operator runs):
the server stays responsive, a crash or a kill of the build cannot take the server down, and it can
be stopped. The build writes a new index beside the old one and swaps it in atomically (index.py), so a
failed or stopped build leaves the served index as it was; the chat picks up a finished one through the
live reload (web/reload.py). Progress is read back from the build's own output (its tqdm bars and
summary lines), kept in a log file beside the index folder.

A build asked for while one runs is queued (one at most): the running build may have read the pages
before the change, so another starts when it ends.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from ..settings import Settings

State = Literal["idle", "running", "succeeded", "failed", "stopped"]
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the child runs this same code
# tqdm's line: "Encoding passages (1,234 reused):  40%|████      | 8/20 [00:01<00:02, 5.1text/s]"
_BAR = re.compile(r"^(?P<what>[^:|]+):\s*(?P<pct>\d+)%\|.*?\|\s*(?P<done>\d+)/(?P<total>\d+)")
_TAIL_BYTES = 16 * 1024


class BuildStatus(BaseModel):
    state: State = "idle"
    started_by: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    step: str = ""  # what the build is doing now, from its output
    done: int | None = None  # progress of the current step, when it has a bar
    total: int | None = None
    summary: list[str] = []  # when finished: the result line(s), or the error
    skipped: list[str] = []  # pages the finished build skipped, and why
    queued: bool = False  # another build will start when this one ends
    exit_code: int | None = None


class Rebuilder:
    def __init__(self, settings: Settings, log_path: Path | None = None) -> None:
        self.settings = settings
        index = settings.index_dir
        self.log_path = log_path or index.parent / f".{index.name}.staff-build.log"
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._status = BuildStatus()
        self._queued_by: str | None = None
        self._stop_asked = False

    def command(self) -> list[str]:
        return [sys.executable, "-m", "assistant", "build", "--corpus", str(self.settings.corpus_dir.resolve()),
                "--index", str(self.settings.index_dir.resolve())]

    def start(self, user: str) -> Literal["started", "queued", "failed"]:
        with self._lock:
            if self._proc is not None:
                self._queued_by = user
                return "queued"
            self._spawn(user)
            return "started" if self._proc is not None else "failed"

    def stop(self) -> bool:
        """Stop the running build (the served index is untouched) and drop a queued one."""
        with self._lock:
            self._queued_by = None
            if self._proc is None:
                return False
            self._stop_asked = True
            self._proc.terminate()
            return True

    def status(self) -> BuildStatus:
        with self._lock:
            status = self._status.model_copy(update={"queued": self._queued_by is not None})
            running = self._proc is not None
        if running:
            step, done, total = progress(_tail(self.log_path))
            status = status.model_copy(update={"step": step, "done": done, "total": total})
        return status

    def wait(self, timeout: float | None = None) -> BuildStatus:
        """Until no build runs or is queued (for tests and shutdown)."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if self._proc is None and self._queued_by is None:
                    return self._status
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("the build is still running")
            time.sleep(0.05)

    def _spawn(self, user: str) -> None:
        """Start the child (caller holds the lock). Output goes to the log file, read for progress."""
        env = {**os.environ, "CAREERS_EMBEDDER": self.settings.embedder, "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join(p for p in (str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p)}
        log = None
        try:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "wb")
            proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=env)
        except OSError as err:  # e.g. the folder beside the index is read-only: the build could not write either
            if log is not None:
                log.close()
            self._status = BuildStatus(state="failed", started_by=user, started_at=_now(), finished_at=_now(),
                                       summary=[f"The build could not be started ({err}); check that "
                                                f"{self.log_path.parent} can be written by the server."])
            return
        self._proc, self._stop_asked = proc, False
        self._status = BuildStatus(state="running", started_by=user, started_at=_now(),
                                   step="Reading the pages")
        threading.Thread(target=self._wait_for, args=(proc, log), name="staff-rebuild", daemon=True).start()

    def _wait_for(self, proc: subprocess.Popen, log) -> None:
        code = proc.wait()
        log.close()
        text = _tail(self.log_path)
        with self._lock:
            state: State = "succeeded" if code == 0 else "stopped" if self._stop_asked else "failed"
            summary, skipped = outcome(text, state)
            self._status = self._status.model_copy(update={
                "state": state, "finished_at": _now(), "exit_code": code, "summary": summary, "skipped": skipped,
                "step": "", "done": None, "total": None})
            self._proc = None
            if self._queued_by is not None:
                user, self._queued_by = self._queued_by, None
                self._spawn(user)


def progress(text: str) -> tuple[str, int | None, int | None]:
    """The build's current step from the end of its output: (what, done, total), a bar's counts if any."""
    lines = [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]
    if not lines:
        return "Starting", None, None
    last = lines[-1]
    bar = _BAR.match(last)
    if bar:
        return bar["what"].strip(), int(bar["done"]), int(bar["total"])
    return last[:300], None, None


def outcome(text: str, state: State) -> tuple[list[str], list[str]]:
    """(summary, skipped pages) of a finished build's output."""
    lines = [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip() and not _BAR.match(line.strip())]
    skipped = [line.removeprefix("Skipped ").strip() for line in lines if line.startswith("Skipped ")]
    if state == "succeeded":
        return [line for line in lines if line.startswith("Indexed ")][-1:], skipped
    if state == "stopped":
        return ["The build was stopped; the chat keeps answering from the index it had."], []
    # The CLI's own message when it has one ("careers-assistant: ..."), else the end of a traceback.
    said = [line.removeprefix("careers-assistant:").strip() for line in lines if line.startswith("careers-assistant:")]
    return (said or lines[-12:] or ["The build stopped without saying why."]), skipped


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - _TAIL_BYTES))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _now() -> datetime:
    return datetime.now(timezone.utc)
