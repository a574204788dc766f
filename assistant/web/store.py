"""Questions the sources don't cover: recorded by the server, listed by `careers-assistant unanswered`."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..privacy import redact
from ..settings import Settings
from .schema import ensure_schema, questions, unanswered
from .settings import WebSettings

Channel = Literal["chat", "api", "cli"]


class UnansweredQuestion(BaseModel):
    question: str
    asked_at: datetime
    reason: str | None = None
    channel: Channel
    occupation: str | None = None  # what the assistant read the question as being about
    facet: str | None = None


class AskedQuestion(BaseModel):
    """One row of `questions`: every question's outcome, for the staff overview."""

    question: str
    asked_at: datetime
    channel: Channel
    outcome: str  # Answer.outcome
    occupation: str | None = None
    facet: str | None = None
    reason: str | None = None


SQLITE_BUSY_TIMEOUT_MS = 30_000


def tune_sqlite(engine: AsyncEngine | Engine) -> AsyncEngine | Engine:
    """Make an SQLite engine fit for many chat sessions writing at once; other databases are untouched.

    SQLite has one writer at a time. In its default rollback-journal mode every commit waits for
    several fsyncs, so under load (each chat message is four or five writes) writers queue past the
    default 5 s busy timeout and Chainlit drops the row with only a warning ("database is locked").
    WAL makes a commit an append (synchronous=NORMAL: fsync at checkpoints, still crash-safe) and
    lets readers run beside the writer; the longer busy timeout absorbs bursts."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return engine

    @event.listens_for(getattr(engine, "sync_engine", engine), "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    return engine


def make_engine(web: WebSettings, pooled: bool = True) -> AsyncEngine:
    """`pooled=False`: every use opens and closes its own connection (light traffic, and no connection
    outlives the event loop that opened it)."""
    path = web.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)  # SQLite makes the file, not its folder
    if pooled:
        return tune_sqlite(create_async_engine(web.database_url))
    from sqlalchemy.pool import NullPool

    return tune_sqlite(create_async_engine(web.database_url, poolclass=NullPool))


_INSERT = ("INSERT INTO unanswered (question, asked_at, reason, channel, occupation, facet) "
           "VALUES (:question, :asked_at, :reason, :channel, :occupation, :facet)")
_INSERT_QUESTION = ("INSERT INTO questions (asked_at, channel, outcome, occupation, facet, reason, question) "
                    "VALUES (:asked_at, :channel, :outcome, :occupation, :facet, :reason, :question)")


class UnansweredStore:
    """Writes and reads the `unanswered` table through one async engine; on the server, writes go
    through its Durable writer instead (durable.py: spooled, never lost, when the database fails)."""

    def __init__(self, engine: AsyncEngine, durable=None) -> None:
        self.engine = engine
        self.durable = durable

    async def record(self, question: str, reason: str | None, channel: Channel, occupation: str | None = None,
                     facet: str | None = None, asked_at: datetime | None = None) -> None:
        # Staff need the question, not the email address or phone number someone typed into it; the
        # reason can echo the question's words, so it is redacted too.
        row = UnansweredQuestion(question=redact(question), asked_at=asked_at or datetime.now(timezone.utc),
                                 reason=redact(reason) if reason else reason, channel=channel,
                                 occupation=occupation, facet=facet)
        values = {"question": row.question, "asked_at": _when(row.asked_at), "reason": row.reason,
                  "channel": row.channel, "occupation": row.occupation, "facet": row.facet}
        await self._write(_INSERT, unanswered, values)

    async def record_question(self, row: AskedQuestion) -> None:
        """Every question's outcome (the overview's counts per day); redacted like `record`."""
        values = {"asked_at": _when(row.asked_at), "channel": row.channel, "outcome": row.outcome,
                  "occupation": row.occupation, "facet": row.facet,
                  "reason": redact(row.reason) if row.reason else row.reason, "question": redact(row.question)}
        await self._write(_INSERT_QUESTION, questions, values)

    async def _write(self, statement: str, table, values: dict) -> None:
        if self.durable is not None:
            await self.durable.execute(statement, values)
            return
        async with self.engine.begin() as conn:
            await conn.execute(insert(table).values(**values))

    async def newest(self, limit: int = 100) -> list[UnansweredQuestion]:
        query = (select(unanswered.c.question, unanswered.c.asked_at, unanswered.c.reason, unanswered.c.channel,
                        unanswered.c.occupation, unanswered.c.facet)
                 .order_by(unanswered.c.asked_at.desc(), unanswered.c.id.desc()).limit(max(limit, 0)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [UnansweredQuestion.model_validate(dict(r)) for r in rows]


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


async def _newest(web: WebSettings, limit: int) -> list[UnansweredQuestion]:
    engine = make_engine(web)
    try:
        await ensure_schema(engine)  # a fresh install has no table yet: list nothing, don't fail
        return await UnansweredStore(engine).newest(limit)
    finally:
        await engine.dispose()


async def _record_all(web: WebSettings, rows: list[tuple], channel: Channel) -> None:
    engine = make_engine(web)
    try:
        await ensure_schema(engine)
        store = UnansweredStore(engine)
        for question, reason, *read_as in rows:  # read_as: the occupation and facet, when given
            await store.record(question, reason, channel, *read_as)
    finally:
        await engine.dispose()


def record_unanswered(web: WebSettings, rows: list[tuple], channel: Channel = "cli") -> None:
    """Record what the assistant declined outside the server (`careers-assistant ask`): (question, reason)
    or (question, reason, occupation, facet) rows, in the same table and database as the chat's, so
    `unanswered` lists every abstention."""
    if rows:
        asyncio.run(_record_all(web, rows, channel))


def _printable(text: str) -> str:
    # Questions are user input: no terminal escape sequence reaches a staff member's terminal.
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


def print_unanswered(settings: Settings, limit: int = 100, as_json: bool = False,
                     web: WebSettings | None = None) -> int:
    """`careers-assistant unanswered`: newest first, as a table or as one JSON array."""
    del settings  # the store is configured by WebSettings (CAREERS_DATABASE_URL), not the core settings
    web = web or WebSettings()
    rows = asyncio.run(_newest(web, limit))
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("No unanswered questions recorded yet.", file=sys.stderr)
        return 0
    for r in rows:
        when = r.asked_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        reason = f"  ({r.reason.rstrip('.')})" if r.reason else ""
        print(_printable(f"{when}  [{r.channel}]  {r.question}{reason}"))
    return 0
