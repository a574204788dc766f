"""Every database write the server makes, without silent loss.

Chainlit's SQLAlchemy data layer logs a failed write as a WARNING and carries on, so with a read-only,
full, locked or unreachable database every message and feedback row was lost while the chat (and
PUT /feedback) said all was well. Here every write of the chat (CareersDataLayer.execute_sql) and of
the unanswered-questions store goes through one Durable writer:

- a write the database refuses because it is unavailable is appended to the local spool (spool.py,
  fsync'd) with an ERROR naming what was kept; the caller can ask `not_stored()` (feedback does, so
  the visitor is told);
- spooled writes are replayed in order, before the next write (which never overtakes them) and from a
  background task every `spool_retry_seconds`; each replay stores its key in `spool_replayed` in the
  same transaction, so it lands exactly once;
- a spooled write the database refuses for another reason than an outage (a statement that cannot
  work) is set aside in spool/rejected.jsonl with an ERROR, so it cannot block the rest;
- SQLite: before each statement the file is checked to still be the one opened (sqlitefile.py): a
  file deleted while serving is recreated from the copy the open connection still holds.

SQLite statements run one at a time on one thread of their own with the plain sqlite3 driver (the
reason is in chat.py's CareersDataLayer); other databases use their async engine.
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from ..errors import AssistantError
from ..privacy import for_log
from .schema import ensure_schema
from .settings import WebSettings
from .spool import Spool
from .sqlitefile import SqliteFile
from .store import make_engine, tune_sqlite

log = logging.getLogger(__name__)

WRITE_CHECK = ('INSERT INTO spool_replayed ("key", replayed_at) VALUES (\'write-check\', :at) '
               'ON CONFLICT ("key") DO UPDATE SET replayed_at = :at')
LEDGER = 'INSERT INTO spool_replayed ("key", replayed_at) VALUES (:key, :at)'
_WRITE = re.compile(r"^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)
_NOT_STORED: ContextVar[bool] = ContextVar("careers_write_not_stored", default=False)


class DatabaseUnwritable(AssistantError):
    """The database cannot be written at start."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def reason(err: BaseException) -> str:
    """The driver's message without the SQL and parameters SQLAlchemy appends (they hold user text)."""
    orig = getattr(err, "orig", None) or err
    return for_log(f"{orig.__class__.__name__}: {str(orig).splitlines()[0] if str(orig) else ''}", 160)


# SQLite reports a statement that can never work (unknown table or column, bad SQL) as an
# OperationalError too, like an outage: these words tell them apart.
_BAD_STATEMENT = re.compile(r"no such (table|column)|has no column|syntax error", re.IGNORECASE)


def _unavailable(err: BaseException) -> bool:
    """An outage (read-only, full, locked, gone, unreachable) rather than a statement that cannot work."""
    if isinstance(err, (sa_exc.IntegrityError, sa_exc.ProgrammingError, sa_exc.DataError)):
        return False
    if _BAD_STATEMENT.search(str(getattr(err, "orig", None) or err)):
        return False
    return isinstance(err, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, OSError)) or \
        bool(getattr(err, "connection_invalidated", False))


def describe(query: str, params: dict[str, Any]) -> str:
    """Which row a write is for, by table and id (ids are random UUIDs, never personal)."""
    match = _WRITE.match(query)
    verb, table = (match.group(1).split()[0].lower(), match.group(2)) if match else ("write", "?")
    ident = params.get("id") or params.get("feedback_id") or params.get("forId")
    return f"{verb} {table}" + (f" id={for_log(ident, 60)}" if ident else "")


def is_write(query: str) -> bool:
    return _WRITE.match(query) is not None


def reset_not_stored() -> None:
    _NOT_STORED.set(False)


def not_stored() -> bool:
    """Whether a write since reset_not_stored() in this task was spooled or refused instead of stored."""
    return _NOT_STORED.get()


async def prepare_database(web: WebSettings) -> list[str]:
    """At start: create missing tables and make one real write; DatabaseUnwritable says how to fix it."""
    engine = make_engine(web)
    try:
        added = await ensure_schema(engine)
        async with engine.begin() as conn:
            await conn.execute(text(WRITE_CHECK), {"at": _now()})
        return added
    except (sa_exc.SQLAlchemyError, OSError) as err:
        where = web.sqlite_path()
        fix = (f"make {where} and its folder {where.parent}/ writable by this user" if where
               else "check the server is running and the user may write")
        raise DatabaseUnwritable(f"The database cannot be written ({reason(err)}): {fix}, or set "
                                 "CAREERS_DATABASE_URL to a database that can be.") from err
    finally:
        await engine.dispose()  # this engine belongs to a short-lived loop; the server makes its own


class Durable:
    def __init__(self, web: WebSettings) -> None:
        self.path = web.sqlite_path()
        self.spool = Spool(web.spool_folder())
        self.retry_seconds = web.spool_retry_seconds
        self._lock: asyncio.Lock | None = None
        self._task: asyncio.Task | None = None
        self._sync = self._thread = self._async = self._file = None
        url = make_url(web.database_url)
        if url.get_backend_name() == "sqlite":
            self._sync = tune_sqlite(create_engine(url.set(drivername="sqlite"),
                                                   connect_args={"check_same_thread": False}))
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-db")
            self._file = SqliteFile(self.path, self._sync)
        else:
            self._async = create_async_engine(web.database_url)

    @property
    def sqlite(self) -> bool:
        return self._sync is not None

    # --- running statements -------------------------------------------------------------------------

    def _tx_sync(self, statements: list[tuple[str, dict]]):
        self._file.check()  # type: ignore[union-attr]
        with self._sync.begin() as conn:  # type: ignore[union-attr]
            out = None
            for query, params in statements:
                result = conn.execute(text(query), params)
                out = [dict(r._mapping) for r in result.fetchall()] if result.returns_rows else result.rowcount
            return out

    async def _tx(self, statements: list[tuple[str, dict]]):
        """Run the statements in one transaction; the last one's rows (or row count). Raises."""
        if self._sync is not None:
            return await asyncio.get_running_loop().run_in_executor(self._thread, self._tx_sync, statements)
        async with self._async.begin() as conn:  # type: ignore[union-attr]
            out = None
            for query, params in statements:
                result = await conn.execute(text(query), params)
                out = [dict(r._mapping) for r in result.fetchall()] if result.returns_rows else result.rowcount
            return out

    def _lock_now(self) -> asyncio.Lock:
        if self._lock is None:  # made on the server's loop, at first use
            self._lock = asyncio.Lock()
        return self._lock

    async def execute(self, query: str, params: dict[str, Any]):
        """Chainlit's execute_sql contract: rows as dicts, else the row count; None if it failed."""
        if not is_write(query):
            try:
                return await self._tx([(query, params)])
            except Exception as err:
                log.warning("A database read failed (%s)", reason(err))
                return None
        async with self._lock_now():
            if self.spool.pending:
                await self._replay(quiet=True)
            why = "earlier writes still wait to be replayed"  # a write never overtakes a spooled one
            if not self.spool.pending:
                try:
                    return await self._tx([(query, params)])
                except Exception as err:
                    if not _unavailable(err):
                        _NOT_STORED.set(True)
                        log.error("The database refused a write as invalid (%s): %s is not stored",
                                  reason(err), describe(query, params))
                        return None
                    why = reason(err)
            self._keep(query, params, why)
            return None

    def spooled_step_thread(self, step_id: str) -> str | None:
        """The thread of a step written while the database refused writes (still in the spool), so the
        visitor can give feedback on an answer that is not stored yet."""
        for record in reversed(self.spool.pending):
            params = record.params
            if 'INTO steps' in record.query and params.get("id") == step_id:
                return params.get("threadId") or params.get("thread_id")
        return None

    def _keep(self, query: str, params: dict[str, Any], why: str) -> None:
        _NOT_STORED.set(True)
        _record, on_disk = self.spool.add(query, params)
        where = f"in {self.spool.path}" if on_disk else "IN MEMORY ONLY (the spool file cannot be written either)"
        log.error("A database write failed (%s): kept %s %s, %d waiting; replayed when the database works again",
                  why, describe(query, params), where, len(self.spool.pending))

    async def _replay(self, quiet: bool = False) -> None:
        """Replay spooled writes in order until one fails for an outage; call with the lock held."""
        done: set[str] = set()
        for record in list(self.spool.pending):
            try:
                await self._tx([(LEDGER, {"key": record.key, "at": _now()}), (record.query, record.params)])
            except sa_exc.IntegrityError as err:
                if "spool_replayed" not in str(err):
                    self._reject(record, err)
                    continue
                # Its key is stored: an earlier replay stored it, and it is not written again.
            except Exception as err:
                if _unavailable(err):
                    if not quiet:  # the background retry says so; each new write already logs an ERROR
                        log.warning("The database still refuses writes (%s): %d spooled writes wait",
                                    reason(err), len(self.spool.pending) - len(done))
                    break  # still down: the rest wait, in order
                self._reject(record, err)
                continue
            done.add(record.key)
        if done:
            self.spool.forget(done)
            log.warning("Replayed %d spooled database writes; %d still waiting", len(done), len(self.spool.pending))

    def _reject(self, record, err: BaseException) -> None:
        self.spool.reject(record, reason(err))
        log.error("A spooled write (%s) is refused by the database as invalid (%s): set aside in %s",
                  describe(record.query, record.params), reason(err), self.spool.rejected_path)

    # --- life cycle -----------------------------------------------------------------------------------

    def open(self) -> None:
        """At start, before the port opens: the spool folder must be writable (SpoolError if not)."""
        self.spool.open()

    async def flush(self) -> None:
        """Check the file and replay what waits: what the background task does every retry_seconds."""
        async with self._lock_now():
            if self._sync is not None:
                try:
                    await asyncio.get_running_loop().run_in_executor(self._thread, self._file.check)
                except Exception as err:
                    log.error("Checking the database file failed (%s)", reason(err))
            if self.spool.pending:
                await self._replay()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.retry_seconds)
            try:
                await self.flush()
            except Exception:  # never let one bad look stop the retrying
                log.exception("Replaying spooled database writes failed")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="database-spool")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._sync is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._sync.dispose)
            self._thread.shutdown(wait=False)  # type: ignore[union-attr]
        elif self._async is not None:
            await self._async.dispose()
