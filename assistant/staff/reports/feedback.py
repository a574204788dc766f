"""/staff/feedback: thumbs down first, each with its comment, the question, the whole answer as the
user saw it (quotes and the list of sources) and its time; filter by occupation; export CSV."""

from __future__ import annotations

import math
import re

from fastapi import APIRouter, Depends, Request

from ...faqreport import answer_html
from ..base import StaffUser, esc, page_user, render_page
from .common import ReportSettings, csv_response, engine_or_none, link, no_database, number, pager, show_time, state
from .queries import FeedbackRow, feedback_rows

# The chat stores its markdown with source and user text backslash-escaped (web/safety.py); shown
# here as HTML, the escapes go and every character is HTML-escaped instead (answer_html).
_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
NO_OCCUPATION = "(none recorded)"


def plain(markdown: str) -> str:
    return _MD_ESCAPE.sub(r"\1", markdown)


def occupation_of(row: FeedbackRow) -> str:
    """What the answer was about: as the chat recorded it, else the one occupation its question names."""
    if row.occupation:
        return row.occupation
    if row.question:
        registry = state().service.assistant.index.registry
        named = sorted(registry.names_in(row.question))
        if len(named) == 1:
            return registry[named[0]].name
    return NO_OCCUPATION


async def rows_for(settings: ReportSettings, occupation: str | None) -> list[tuple[FeedbackRow, str]]:
    rows = [(r, occupation_of(r)) for r in await feedback_rows(engine_or_none(), settings.feedback_max)]
    return [(r, o) for r, o in rows if not occupation or o == occupation]


def _item(row: FeedbackRow, occupation: str) -> str:
    verdict = '<strong class="bad">Thumbs down</strong>' if row.value == 0 else '<strong class="ok">Thumbs up</strong>'
    comment = f"<p><strong>Comment:</strong> {esc(row.comment)}</p>" if row.comment else \
        '<p class="muted">No comment.</p>'
    answer = (f'<div class="answer">{answer_html(plain(row.answer))}</div>' if row.answer else
              '<p class="muted">The answer is not stored (purged, or its write never reached the database).</p>')
    return (f'<section class="feedback"><p>{verdict} · {esc(show_time(row.when))} · {esc(occupation)}</p>{comment}'
            f"<p><strong>Question:</strong> {esc(row.question) if row.question else '<span class=muted>unknown</span>'}"
            f"</p><details open><summary>The answer as the user saw it</summary>{answer}</details></section><hr>")


def _filter_form(occupations: list[str], chosen: str | None) -> str:
    options = "".join(f'<option value="{esc(o)}"{" selected" if o == chosen else ""}>{esc(o)}</option>'
                      for o in occupations)
    return (f'<form method="get" action="/staff/feedback"><label>Occupation <select name="occupation">'
            f'<option value="">all</option>{options}</select></label> <button type="submit">Filter</button></form>')


def add_routes(router: APIRouter, settings: ReportSettings) -> None:
    @router.get("/staff/feedback")
    async def feedback_page(request: Request, occupation: str | None = None, page: str | None = None,
                            user: StaffUser = Depends(page_user)):
        if engine_or_none() is None:
            return no_database(request, "Feedback")
        every = await rows_for(settings, None)
        occupations = sorted({o for _, o in every}, key=str.casefold)
        rows = [(r, o) for r, o in every if not occupation or o == occupation]
        down = sum(r.value == 0 for r, _ in rows)
        pages = max(1, math.ceil(len(rows) / settings.page_size))
        page = min(int(number(page, 1, 1, 1e9)), pages)
        shown = rows[(page - 1) * settings.page_size: page * settings.page_size]
        body = (f"{_filter_form(occupations, occupation)}<p>{len(rows):,} rated answer"
                f"{'' if len(rows) == 1 else 's'}{' about ' + esc(occupation) if occupation else ''}: {down:,} "
                f"thumbs down (shown first), {len(rows) - down:,} thumbs up. "
                f'<a href="{link("/staff/feedback.csv", occupation=occupation)}">Download as CSV</a></p>'
                + "".join(_item(r, o) for r, o in shown)
                + (pager("/staff/feedback", page, pages, occupation=occupation) if rows else "<p>No feedback yet.</p>"))
        return render_page(request, "Feedback", body)

    @router.get("/staff/feedback.csv")
    async def feedback_csv(occupation: str | None = None, user: StaffUser = Depends(page_user)):
        rows = await rows_for(settings, occupation) if engine_or_none() is not None else []
        out = [[show_time(r.when), "down" if r.value == 0 else "up", o, r.comment or "", r.question or "",
                plain(r.answer) if r.answer else ""] for r, o in rows]
        return csv_response("feedback.csv", ["time", "rating", "occupation", "comment", "question", "answer"], out)
