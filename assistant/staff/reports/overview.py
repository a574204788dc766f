"""/staff: questions per day (answered, declined, asked back, refused), the decline rate's trend, the top questions."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from fastapi import APIRouter, Depends, Request

from ..base import StaffUser, esc, page_user, render_page
from .charts import Series, rate_line, stacked_bars
from .common import ReportSettings, engine_or_none, no_database
from .queries import counts_per_day, top_questions

# Answer.outcome -> what the overview calls it. A registry, so a new outcome is one line here.
KINDS: dict[str, str] = {"answer": "answered", "abstain": "declined", "uncovered": "declined",
                         "clarify": "asked which occupation", "error": "refused"}
COLOURS = {"answered": "#1b7f3b", "declined": "#c77700", "asked which occupation": "#5470c6", "refused": "#8a8a8a"}


class DayTable:
    """Counts per day and kind for the last `days` days (UTC), oldest first, every day present."""

    def __init__(self, counts, days: int, today: date) -> None:
        self.days = [(today - timedelta(days=days - 1 - i)).isoformat() for i in range(days)]
        self.kinds = list(dict.fromkeys(KINDS.values()))
        self.table = {d: dict.fromkeys(self.kinds, 0) for d in self.days}
        for c in counts:
            if c.day in self.table:
                self.table[c.day][KINDS.get(c.outcome, "declined")] += c.count

    def values(self, kind: str) -> list[int]:
        return [self.table[d][kind] for d in self.days]

    def decline_rate(self, days: list[str]) -> float | None:
        """Declined over every question the assistant took on (refused questions are not questions)."""
        declined = sum(self.table[d]["declined"] for d in days)
        tried = sum(self.table[d][k] for d in days for k in self.kinds if k != "refused")
        return declined / tried if tried else None


def _trend(table: DayTable, window: int) -> str:
    recent, before = table.days[-window:], table.days[-2 * window:-window]
    now, then = table.decline_rate(recent), table.decline_rate(before)
    if now is None:
        return f"<p>No questions in the last {window} days.</p>"
    text = f"Decline rate over the last {window} days: <strong>{now:.0%}</strong>"
    if then is None:
        return f"<p>{text} (no questions in the {window} days before).</p>"
    change = now - then
    direction = ("up" if change > 0 else "down") if abs(change) >= 0.005 else "unchanged"
    mark = {"up": "bad", "down": "ok", "unchanged": "muted"}[direction]
    return (f'<p>{text}, against {then:.0%} in the {window} days before: '
            f'<span class="{mark}">{direction}{f" {abs(change) * 100:.0f} points" if direction != "unchanged" else ""}'
            f"</span>.</p>")


def _day_table(table: DayTable) -> str:
    head = "".join(f"<th>{esc(k)}</th>" for k in table.kinds)
    rows = "".join(f"<tr><td>{esc(d)}</td>" + "".join(f"<td>{table.table[d][k]}</td>" for k in table.kinds)
                   + "</tr>" for d in reversed(table.days) if any(table.table[d].values()))
    return (f"<details><summary>The same counts as a table</summary><table><tr><th>day (UTC)</th>{head}</tr>"
            f"{rows or '<tr><td colspan=9>No questions yet.</td></tr>'}</table></details>")


async def overview_body(settings: ReportSettings, engine, today: date | None = None) -> str:
    today = today or datetime.now(timezone.utc).date()
    first = (today - timedelta(days=settings.days - 1)).isoformat()
    table = DayTable(await counts_per_day(engine, first), settings.days, today)
    total = {k: sum(table.values(k)) for k in table.kinds}
    summary = ", ".join(f"{total[k]:,} {esc(k)}" for k in table.kinds)
    bars = stacked_bars(table.days, [Series(label=k, colour=COLOURS[k], values=table.values(k)) for k in table.kinds],
                        title=f"Questions per day over the last {settings.days} days")
    window = settings.trend_days
    line = rate_line(table.days, [table.decline_rate([d]) for d in table.days],
                     [table.decline_rate(table.days[max(0, i + 1 - window):i + 1]) for i in range(len(table.days))],
                     title="Share of questions declined per day, and over the days before each",
                     trend_label=f"over the {window} days to each day")
    top = await top_questions(engine, first, settings.top_questions)
    top_rows = "".join(f"<tr><td>{esc(t.question)}</td><td>{t.count}</td><td>{t.answered} of {t.count}</td></tr>"
                       for t in top) or '<tr><td colspan="3">No questions yet.</td></tr>'
    return (f"<p>Last {settings.days} days (UTC): {summary}.</p>"
            f"<h2>Questions per day</h2>{bars}{_day_table(table)}"
            f"<h2>Decline rate</h2>{_trend(table, settings.trend_days)}{line}"
            f'<p class="muted">Declined: the pages did not say, or no page covers the occupation. Refused '
            f"questions (empty, too long, unreadable) are left out of the rate.</p>"
            f"<h2>Top questions</h2><table><tr><th>question</th><th>asked</th><th>answered</th></tr>{top_rows}</table>"
            f'<p class="muted">The same words in any letter case, spacing or end punctuation count as one question. '
            f'See <a href="/staff/unanswered">Unanswered</a> for what the assistant could not answer.</p>')


def add_routes(router: APIRouter, settings: ReportSettings) -> None:
    @router.get("/staff")
    async def overview(request: Request, user: StaffUser = Depends(page_user)):
        engine = engine_or_none()
        if engine is None:
            return no_database(request, "Overview")
        return render_page(request, "Overview", await overview_body(settings, engine))
