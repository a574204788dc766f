"""Notice an SQLite database file deleted or replaced while the server has it open.

SQLite keeps writing to a deleted file through its open connections, so every write after `rm
data/assistant.db` "succeeds" into a file nobody can read again. Before each statement (one stat(),
~2 us) the path is checked to still be the file that was opened. A deleted file is recreated from
the copy an open connection still holds (VACUUM INTO writes the whole database, WAL included, to the
path), else with empty tables; a replaced file (a restored backup) is reconnected to. Either way an
ERROR says what happened. Runs on the database thread (durable.py), so nothing races it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import Engine

from .schema import _create_and_migrate

log = logging.getLogger(__name__)


class SqliteFile:
    def __init__(self, path: Path | None, engine: Engine) -> None:
        self.path, self.engine = path, engine  # path None: an in-memory database, nothing to watch
        self._identity: tuple[int, int] | None = None
        self.recreated = 0

    def check(self) -> None:
        if self.path is None:
            return
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._recreate()
            return
        identity = (st.st_dev, st.st_ino)
        if self._identity is not None and identity != self._identity:
            log.error("The database file %s was replaced while serving: reconnecting to the new file", self.path)
            self.engine.dispose()
            with self.engine.begin() as conn:
                _create_and_migrate(conn)
        self._identity = identity

    def _recreate(self) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        copied = False
        raw = self.engine.raw_connection()  # a pooled one still has the deleted file open, if any is left
        try:
            if not self.path.exists():  # else the pool had none, and this connection made an empty file
                cursor = raw.cursor()
                cursor.execute("VACUUM INTO ?", (str(self.path),))  # everything it held, schema included
                cursor.close()
                copied = True
        finally:
            raw.close()
        self.engine.dispose()  # every connection to the deleted file goes
        with self.engine.begin() as conn:
            _create_and_migrate(conn)
        st = os.stat(self.path)
        self._identity = (st.st_dev, st.st_ino)
        self.recreated += 1
        log.error("The database file %s was deleted while serving: recreated it %s", self.path,
                  "from the copy the server still had open" if copied else "with empty tables")
