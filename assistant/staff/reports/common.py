"""What the report pages share: their settings, the server's objects, times, CSV export, small HTML bits.

The reports read the server's own objects (the loaded Assistant, the database engine) through
`assistant.web.state.current()`, read at each request: a reloaded index shows on the next page.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from ..base import esc


class ReportSettings(BaseModel):
    """Every bound and threshold of the report pages, validated once and passed to each page."""

    model_config = ConfigDict(frozen=True)

    days: int = Field(default=30, ge=1, le=366)  # the overview's span
    trend_days: int = Field(default=7, ge=1, le=60)  # decline rate: these last days against the ones before
    top_questions: int = Field(default=10, ge=1, le=100)
    # Two unanswered questions whose MiniLM vectors are at least this close (cosine) are one group.
    # Measured on all-MiniLM-L6-v2: rewordings of one question 0.83-0.95 ("X pay", "what is the salary
    # of an X"); one occupation, another topic 0.55-0.74 (pay / band, nights / hours);
    # another occupation, the same topic 0.34-0.49 (tests/test_staff_reports.py, the slow test).
    group_similarity: float = Field(default=0.75, gt=0, le=1)
    group_max_questions: int = Field(default=3000, ge=1)  # the newest this many are grouped
    # New wordings the model reads per page view: the numpy MiniLM read 10 questions/s on 2 busy cores
    # (benchmarks/results/staff_reports.md), so a backlog is read a few hundred at a time, newest first.
    group_encode_budget: int = Field(default=200, ge=1)
    feedback_max: int = Field(default=2000, ge=1)  # newest feedback rows read (thumbs down first)
    stale_years: float = Field(default=2.0, gt=0)  # coverage: a figure older than this stands out
    page_size: int = Field(default=50, ge=1, le=1000)  # coverage rows and feedback items per page
    quotes_per_page: int = Field(default=20, ge=1)  # coverage quotes shown per source page
    faq_max_bytes: int = Field(default=200_000, ge=1)  # an uploaded FAQ CSV (the server takes 256 KB)
    faq_max_rows: int = Field(default=300, ge=1)  # questions one upload may check (each is a full answer)
    faq_reports_kept: int = Field(default=20, ge=1)  # HTML reports kept in memory for download


def state():
    """The running server's objects (installed by `careers-assistant serve`, or a test)."""
    from ...web.state import current

    return current()


def engine_or_none():
    store = state().service.store
    return store.engine if store is not None else None


def parse_time(text: str | None) -> datetime | None:
    """A stored ISO 8601 time (ours in UTC, Chainlit's with a "Z"), or None if it is not one."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def show_time(text: str | datetime | None) -> str:
    moment = parse_time(text) if not isinstance(text, datetime) else text
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown"


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): such a cell
# gets a leading apostrophe, which spreadsheets show as text and do not run.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_response(filename: str, header: list[str], rows: list[list[object]]):
    from fastapi.responses import Response

    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[safe_cell(v) for v in row] for row in rows])
    # A BOM so Excel reads the file as UTF-8 (£ signs, accents); every CSV reader skips it.
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def number(raw: str | None, default: float, low: float, high: float) -> float:
    """A number from a query string a person may have edited: anything else, or out of range, is the default."""
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        return default
    return value if low <= value <= high else default


def link(path: str, **params: object) -> str:
    """A same-site link with its query string, escaped for an href attribute."""
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return esc(path + ("?" + urlencode(kept) if kept else ""))


def no_database(request, title: str):
    from ..base import render_page

    return render_page(request, title, '<p class="error">This server keeps no database, so there is nothing '
                                       "to report: set CAREERS_DATABASE_URL and restart it.</p>")


def pager(path: str, page: int, pages: int, **params: object) -> str:
    if pages <= 1:
        return ""
    parts = []
    if page > 1:
        parts.append(f'<a href="{link(path, page=page - 1, **params)}">← previous</a>')
    parts.append(f"page {page} of {pages}")
    if page < pages:
        parts.append(f'<a href="{link(path, page=page + 1, **params)}">next →</a>')
    return f'<p class="pager">{" · ".join(parts)}</p>'
