"""The database reads (and the one write) behind the report pages, on the server's async engine.

Times are ISO 8601 text in every table, so a span of days is a text comparison and a day is the
first ten characters. The one write, marking unanswered questions handled, goes through the server's
Durable writer when it has one (spooled, never lost, like every other write the server makes).
"""

from __future__ import annotations

import json

from pydantic import BaseModel
from sqlalchemy import Text, and_, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ...web.schema import feedbacks, questions, steps, unanswered


class DayCount(BaseModel):
    day: str  # YYYY-MM-DD, UTC
    outcome: str
    count: int


class TopQuestion(BaseModel):
    question: str
    count: int
    answered: int


class UnansweredRow(BaseModel):
    id: int
    question: str
    asked_at: str
    reason: str | None = None
    occupation: str | None = None
    facet: str | None = None
    handled_at: str | None = None


class FeedbackRow(BaseModel):
    id: str
    value: int  # 0 thumbs down, 1 thumbs up
    comment: str | None = None
    for_id: str
    when: str | None = None  # the answer's time (the feedback row has none of its own)
    question: str | None = None
    answer: str | None = None  # the assistant's message as stored (markdown, as the user saw it)
    occupation: str | None = None  # what the answer was about, when the chat recorded it


async def counts_per_day(engine: AsyncEngine, first_day: str) -> list[DayCount]:
    day = func.substr(questions.c.asked_at, 1, 10)
    query = (select(day.label("day"), questions.c.outcome, func.count().label("n"))
             .where(questions.c.asked_at >= first_day).group_by(day, questions.c.outcome))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [DayCount(day=r.day, outcome=r.outcome, count=r.n) for r in rows]


async def top_questions(engine: AsyncEngine, first_day: str, limit: int, scan: int = 5000) -> list[TopQuestion]:
    """The questions asked most often. The same words count as one whatever their case, spacing and end
    punctuation (grouping.normalise), each shown as its first wording in sort order. The database
    counts each lower-cased wording; the `scan` most asked of those are merged here."""
    from .grouping import normalise

    key = func.lower(func.trim(questions.c.question))
    answered = func.sum(case((questions.c.outcome == "answer", 1), else_=0))
    query = (select(func.min(questions.c.question).label("q"), func.count().label("n"), answered.label("a"))
             .where(questions.c.asked_at >= first_day, questions.c.outcome != "error")
             .group_by(key).order_by(func.count().desc(), key).limit(scan))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    merged: dict[str, TopQuestion] = {}
    for r in rows:
        k = normalise(r.q)
        if k in merged:
            top = merged[k]
            merged[k] = TopQuestion(question=min(top.question, r.q), count=top.count + r.n,
                                    answered=top.answered + (r.a or 0))
        else:
            merged[k] = TopQuestion(question=r.q, count=r.n, answered=r.a or 0)
    return sorted(merged.values(), key=lambda t: (-t.count, t.question))[:limit]


async def unanswered_rows(engine: AsyncEngine, handled: bool, limit: int) -> list[UnansweredRow]:
    """The newest unanswered questions still to look at (or, with handled, the ones marked handled)."""
    done = unanswered.c.handled_at.is_not(None) if handled else unanswered.c.handled_at.is_(None)
    query = (select(unanswered.c.id, unanswered.c.question, unanswered.c.asked_at, unanswered.c.reason,
                    unanswered.c.occupation, unanswered.c.facet, unanswered.c.handled_at)
             .where(done).order_by(unanswered.c.asked_at.desc(), unanswered.c.id.desc()).limit(limit))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [UnansweredRow.model_validate(dict(r)) for r in rows]


async def mark_handled(engine: AsyncEngine, durable, ids: list[int], at: str) -> None:
    names = [f"id{i}" for i in range(len(ids))]
    params: dict = {n: v for n, v in zip(names, ids)}
    params["at"] = at
    statement = (f"UPDATE unanswered SET handled_at = :at WHERE handled_at IS NULL AND id IN "
                 f"({', '.join(':' + n for n in names)})")
    if durable is not None:
        await durable.execute(statement, params)
        return
    from sqlalchemy import text

    async with engine.begin() as conn:
        await conn.execute(text(statement), params)


async def question_of(engine: AsyncEngine, row_id: int) -> str | None:
    async with engine.connect() as conn:
        return (await conn.execute(select(unanswered.c.question).where(unanswered.c.id == row_id))).scalar()


async def feedback_rows(engine: AsyncEngine, limit: int) -> list[FeedbackRow]:
    """Feedback, thumbs down first, newest first within each; each with the answer it rates and its question.

    Chainlit ties feedback to the answer's run step (on_message); the message the user read is that
    step's child (an assistant_message), and the question is the run's input or its parent user
    message."""
    run = steps.alias("run")
    query = (select(feedbacks.c.id, feedbacks.c.value, feedbacks.c.comment, feedbacks.c.forId,
                    run.c.type, run.c.input, run.c.output, run.c.parentId, run.c.createdAt,
                    cast(run.c.metadata, Text).label("metadata"))
             .select_from(feedbacks.outerjoin(run, run.c.id == feedbacks.c.forId))
             .order_by(feedbacks.c.value.asc(), run.c.createdAt.desc(), feedbacks.c.id).limit(limit))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
        run_ids = [r["forId"] for r in rows if r["type"] == "run"]
        parents = [r["parentId"] for r in rows if r["parentId"]]
        children, users = {}, {}
        message_columns = (steps.c.parentId, steps.c.output, cast(steps.c.metadata, Text).label("metadata"),
                           steps.c.createdAt)
        for chunk in _chunks(run_ids):
            found = await conn.execute(select(*message_columns)
                                       .where(and_(steps.c.parentId.in_(chunk), steps.c.type == "assistant_message"))
                                       .order_by(steps.c.createdAt))
            for r in found.mappings():
                children.setdefault(r["parentId"], r)  # the first message of the run: the answer
        for chunk in _chunks(parents):
            found = await conn.execute(select(steps.c.id, steps.c.output).where(
                and_(steps.c.id.in_(chunk), steps.c.type == "user_message")))
            users.update({r["id"]: r["output"] for r in found.mappings()})
    out = []
    for r in rows:
        # Feedback on the message itself (an older Chainlit, or a client) rates that message.
        message = children.get(r["forId"]) or (r if r["type"] == "assistant_message" else None)
        question = users.get(r["parentId"]) or (r["input"] if r["type"] == "run" else None)
        meta = _json(message["metadata"]) if message is not None else None
        out.append(FeedbackRow(id=r["id"], value=r["value"], comment=r["comment"], for_id=r["forId"],
                               when=message["createdAt"] if message is not None else r["createdAt"],
                               question=question or None, answer=message["output"] if message is not None else None,
                               occupation=meta.get("occupation") if isinstance(meta, dict) else None))
    return out


def _json(text: str | None) -> object:
    """A step's metadata as written (JSON text); anything unreadable is no metadata, not a failed page."""
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _chunks(values: list, size: int = 500):
    values = list(dict.fromkeys(values))
    for i in range(0, len(values), size):
        yield values[i:i + size]
