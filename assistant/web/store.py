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
from .schema import ensure_schema, unanswered
from .settings import WebSettings

Channel = Literal["chat", "api", "cli"]


class UnansweredQuestion(BaseModel):
    question: str
    asked_at: datetime
    reason: str | None = None
    channel: Channel


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


_INSERT = ("INSERT INTO unanswered (question, asked_at, reason, channel) "
           "VALUES (:question, :asked_at, :reason, :channel)")


class UnansweredStore:
    """Writes and reads the `unanswered` table through one async engine; on the server, writes go
    through its Durable writer instead (durable.py: spooled, never lost, when the database fails)."""

    def __init__(self, engine: AsyncEngine, durable=None) -> None:
        self.engine = engine
        self.durable = durable

    async def record(self, question: str, reason: str | None, channel: Channel) -> None:
        # Staff need the question, not the email address or phone number someone typed into it; the
        # reason can echo the question's words, so it is redacted too.
        row = UnansweredQuestion(question=redact(question), asked_at=datetime.now(timezone.utc),
                                 reason=redact(reason) if reason else reason, channel=channel)
        values = {"question": row.question, "asked_at": row.asked_at.isoformat(timespec="microseconds"),
                  "reason": row.reason, "channel": row.channel}
        if self.durable is not None:
            await self.durable.execute(_INSERT, values)
            return
        async with self.engine.begin() as conn:
            await conn.execute(insert(unanswered).values(**values))

    async def newest(self, limit: int = 100) -> list[UnansweredQuestion]:
        query = (select(unanswered.c.question, unanswered.c.asked_at, unanswered.c.reason, unanswered.c.channel)
                 .order_by(unanswered.c.asked_at.desc(), unanswered.c.id.desc()).limit(max(limit, 0)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [UnansweredQuestion.model_validate(dict(r)) for r in rows]


async def _newest(web: WebSettings, limit: int) -> list[UnansweredQuestion]:
    engine = make_engine(web)
    try:
        await ensure_schema(engine)  # a fresh install has no table yet: list nothing, don't fail
        return await UnansweredStore(engine).newest(limit)
    finally:
        await engine.dispose()


async def _record_all(web: WebSettings, rows: list[tuple[str, str | None]], channel: Channel) -> None:
    engine = make_engine(web)
    try:
        await ensure_schema(engine)
        store = UnansweredStore(engine)
        for question, reason in rows:
            await store.record(question, reason, channel)
    finally:
        await engine.dispose()


def record_unanswered(web: WebSettings, rows: list[tuple[str, str | None]], channel: Channel = "cli") -> None:
    """Record (question, reason) pairs the assistant declined outside the server (`careers-assistant ask`),
    in the same table and database as the chat's, so `unanswered` lists every abstention."""
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
