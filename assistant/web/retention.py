"""`careers-assistant purge --older-than DAYS`: delete stored conversations, feedback, unanswered
questions and question outcomes older than DAYS (README: what is stored where, and for how long).

Times are compared as ISO 8601 text, which is how every one of these tables stores them:
`unanswered.asked_at` and `questions.asked_at` (UTC, ours), `threads.createdAt` and `steps.createdAt` (Chainlit's). Chainlit
writes a thread's createdAt in the server's local time with a "Z" suffix, so on a server not running
on UTC a thread may be kept or purged up to the UTC offset early or late: hours, against a retention
counted in days.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..settings import Settings
from .schema import elements, ensure_schema, feedbacks, questions, steps, threads, unanswered, users
from .settings import WebSettings
from .store import make_engine


def cutoff_text(older_than_days: float, now: datetime | None = None) -> str:
    """The ISO 8601 moment before which rows are purged, to the second."""
    moment = (now or datetime.now(timezone.utc)) - timedelta(days=older_than_days)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


async def purge(engine: AsyncEngine, older_than_days: float, now: datetime | None = None,
                dry_run: bool = False) -> dict[str, int]:
    """Delete what is older than the cutoff; returns the rows deleted (or that would be) per table.

    A conversation goes as a whole: a thread created before the cutoff with its steps, elements and
    feedback. Rows whose thread is already gone (Chainlit writes steps from background tasks, so a
    step can outlive a failed thread write) go when they are themselves older than the cutoff."""
    if older_than_days < 0:
        raise ValueError("older_than_days must not be negative")
    cut = cutoff_text(older_than_days, now)
    old_threads = select(threads.c.id).where(threads.c.createdAt < cut)
    live_threads = select(threads.c.id).where(or_(threads.c.createdAt >= cut, threads.c.createdAt.is_(None)))
    doomed_steps = select(steps.c.id).where(or_(
        steps.c.threadId.in_(old_threads),
        (steps.c.createdAt < cut) & steps.c.threadId.not_in(live_threads)))
    statements = {
        # Order matters: feedback and elements are found through the steps and threads they belong to.
        "feedbacks": delete(feedbacks).where(or_(feedbacks.c.threadId.in_(old_threads),
                                                 feedbacks.c.forId.in_(doomed_steps))),
        "elements": delete(elements).where(or_(elements.c.threadId.in_(old_threads),
                                               elements.c.forId.in_(doomed_steps))),
        "steps": delete(steps).where(steps.c.id.in_(doomed_steps)),
        "threads": delete(threads).where(threads.c.createdAt < cut),
        # Users exist only with a login (none is configured); one with no thread left goes with them.
        "users": delete(users).where(users.c.createdAt < cut,
                                     users.c.id.not_in(select(threads.c.userId).where(threads.c.userId.is_not(None)))),
        "unanswered": delete(unanswered).where(unanswered.c.asked_at < cut),
        "questions": delete(questions).where(questions.c.asked_at < cut),
    }
    counts: dict[str, int] = {}
    async with engine.begin() as conn:
        for table, statement in statements.items():
            counts[table] = (await conn.execute(statement)).rowcount or 0
        if dry_run:
            await conn.rollback()
    return counts


async def _purge(web: WebSettings, older_than_days: float, dry_run: bool) -> dict[str, int]:
    engine = make_engine(web)
    try:
        await ensure_schema(engine)  # a fresh install has nothing to purge, and no tables yet
        return await purge(engine, older_than_days, dry_run=dry_run)
    finally:
        await engine.dispose()


def print_purge(settings: Settings, older_than_days: float | None = None, dry_run: bool = False,
                web: WebSettings | None = None) -> int:
    del settings  # the store is configured by WebSettings (CAREERS_DATABASE_URL), not the core settings
    web = web or WebSettings()
    days = web.retention_days if older_than_days is None else older_than_days
    if days < 0:
        print("careers-assistant: --older-than must be 0 or more days", file=sys.stderr)
        return 2
    counts = asyncio.run(_purge(web, days, dry_run))
    verb = "Would delete" if dry_run else "Deleted"
    detail = ", ".join(f"{n} {table}" for table, n in counts.items())
    print(f"{verb} records older than {days:g} days (before {cutoff_text(days)} UTC): {detail}.")
    return 0
