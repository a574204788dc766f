"""The local spool: writes the database refused, kept on disk until they can be replayed.

One JSON object a line in <spool folder>/pending.jsonl, appended and fsync'd before the failure is
reported, so a write survives a server restart as well as the outage. Each record carries a random
key; durable.py stores the key with the write when it replays it, so a record replayed twice (the
server stopped between replaying and forgetting it) is stored once. The lines hold what the
database would have held, already redacted by the data layer; the file is readable by its owner only.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..errors import AssistantError

log = logging.getLogger(__name__)


class SpoolError(AssistantError):
    """The spool folder cannot be written."""


class SpoolRecord(BaseModel):
    key: str = Field(default_factory=lambda: uuid.uuid4().hex)
    at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="microseconds"))
    query: str
    params: dict[str, Any]


def _append(path: Path, lines: list[str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, "".join(lines).encode("utf-8"))
        os.fsync(fd)  # on disk before anyone is told the write was kept
    finally:
        os.close(fd)


class Spool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "pending.jsonl"
        self.rejected_path = folder / "rejected.jsonl"
        self.pending: list[SpoolRecord] = []
        self.unsaved = 0  # records held in memory only, because the spool file could not be written

    def open(self) -> None:
        """Check the folder can be written (at start: SpoolError if not) and read what an earlier run left."""
        probe = self.folder / f".write-check-{os.getpid()}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            _append(probe, ["ok\n"])
            probe.unlink()
        except OSError as err:
            raise SpoolError(f"The spool folder {self.folder}/ cannot be written ({err.strerror or err}): make it "
                             "writable, or set CAREERS_SPOOL_DIR to a writable folder.") from err
        if self.path.exists():
            for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
                try:
                    self.pending.append(SpoolRecord.model_validate_json(line))
                except ValidationError:  # a line cut short by a crash mid-append: nothing was promised for it
                    log.error("Spool %s line %d is unreadable and is skipped", self.path, number)
            if self.pending:
                log.warning("%d writes spooled by an earlier run wait in %s to be replayed", len(self.pending),
                            self.path)

    def add(self, query: str, params: dict[str, Any]) -> tuple[SpoolRecord, bool]:
        """Keep one write; returns it and whether it reached the disk (else it is held in memory only)."""
        record = SpoolRecord(query=query, params=json.loads(json.dumps(params, default=str)))
        self.pending.append(record)
        try:
            _append(self.path, [record.model_dump_json() + "\n"])
            return record, True
        except OSError:
            self.unsaved += 1
            return record, False

    def forget(self, keys: set[str]) -> None:
        """Drop records now stored in the database; the file is rewritten with the rest (atomically)."""
        if not keys:
            return
        self.pending = [r for r in self.pending if r.key not in keys]
        try:
            if not self.pending:
                self.path.unlink(missing_ok=True)
                self.unsaved = 0
                return
            tmp = self.path.with_suffix(".tmp")
            tmp.unlink(missing_ok=True)
            _append(tmp, [r.model_dump_json() + "\n" for r in self.pending])
            os.replace(tmp, self.path)
            self.unsaved = 0
        except OSError:  # the keys are in the database, so replaying the old file again stores nothing twice
            log.warning("Could not rewrite the spool %s; replayed records are skipped next time", self.path)

    def reject(self, record: SpoolRecord, why: str) -> None:
        """A record the database refuses as invalid (not unavailable): set aside, for a person to look at."""
        try:
            _append(self.rejected_path, [json.dumps({**record.model_dump(), "why": why}) + "\n"])
        except OSError:
            pass
        self.forget({record.key})
