"""/staff/coverage: occupations × topics; each cell the pages with evidence and their oldest date.

Empty cells and figures older than the threshold (default 2 years, ?years= to change it) stand out;
a cell links to the quotes it found. Paged and filtered by occupation name, so ESCO and O*NET's
thousands of occupations cost one page of rows at a time.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

from fastapi import APIRouter, Depends, Request

from ...models import Facet
from ...render import date_label
from ..base import StaffUser, esc, page_user, render_page
from .common import ReportSettings, link, number, pager, state
from .coveragemap import LABELS, TOPICS, Cell, CoverageCache

MAX_YEARS = 100.0


def cutoff(years: float, today: date | None = None) -> date:
    return (today or datetime.now(timezone.utc).date()) - timedelta(days=round(years * 365.25))


# The map is wider than a screen: it scrolls inside its own box (a style element: the CSP allows
# those, not style attributes).
# Small enough that the twelve topics fit a laptop's width (the page scrolls sideways when they do not);
# a date is never split at its hyphens.
_STYLE = ("<style>.scroll{overflow-x:auto}.scroll table{font-size:.8rem}.scroll td,.scroll th{padding:.3rem .35rem}"
          ".scroll .date{white-space:nowrap}</style>")


def _cell(occupation_id: str, topic: Facet, cell: Cell, before: date) -> str:
    if not cell.pages:
        return '<td class="empty">—<br><span class="muted">no page</span></td>'
    stale = cell.stale(before)
    n = len(cell.pages)
    day = f'<span class="date">{cell.oldest.isoformat()}</span>' if cell.oldest else ""
    when = (f'<span class="bad">{day} (old)</span>' if stale else f'<span class="muted">{day}</span>') if day else ""
    undated = f'<span class="muted">{"+" if cell.oldest else ""}{cell.undated} undated</span>' if cell.undated else ""
    href = link("/staff/coverage/quotes", occupation=occupation_id, topic=topic.value)
    return (f'<td{" class=warn" if stale else ""}><a href="{href}">{n} page{"" if n == 1 else "s"}</a>'
            + "".join(f"<br>{part}" for part in (when, undated) if part) + "</td>")


def add_routes(router: APIRouter, settings: ReportSettings) -> None:
    cache = CoverageCache()

    # Plain functions, so FastAPI runs them in its thread pool: a cold page reads and scores dozens of
    # pages (seconds at taxonomy size), which must not stall the chat on the event loop.
    @router.get("/staff/coverage")
    def coverage_page(request: Request, q: str = "", page: str | None = None, years: str | None = None,
                      user: StaffUser = Depends(page_user)):
        years = number(years, settings.stale_years, 0.01, MAX_YEARS)
        before = cutoff(years)
        cmap = cache.for_index(state().service.assistant.index)
        q = q[:200]
        found = cmap.occupations(q)
        pages = max(1, math.ceil(len(found) / settings.page_size))
        page = min(int(number(page, 1, 1, 1e9)), pages)
        shown = found[(page - 1) * settings.page_size: page * settings.page_size]
        head = "".join(f"<th>{esc(LABELS[t])}</th>" for t in TOPICS)
        rows = []
        for occ in shown:
            cells = cmap.row(occ)
            rows.append(f"<tr><th>{esc(occ.name)}<br><span class=muted>{len(occ.pages)} page"
                        f"{'' if len(occ.pages) == 1 else 's'}</span></th>"
                        + "".join(_cell(occ.id, t, cells[t], before) for t in TOPICS) + "</tr>")
        total = len(cmap.index.registry.covered)
        form = (f'<form method="get" action="/staff/coverage"><label>Occupation name <input name="q" value="{esc(q)}" '
                f'size="30"></label> <label>Figures older than <input name="years" type="number" step="0.5" '
                f'min="0.5" max="{MAX_YEARS:g}" value="{years:g}"> years stand out</label> '
                f'<button type="submit">Show</button></form>')
        body = (f"{form}<p>{len(found):,} of {total:,} occupations{' matching ' + esc(repr(q)) if q else ''}. "
                f'Each cell: how many of the occupation\'s pages give evidence for the topic, and the oldest '
                f'"last updated" date among them. <span class="empty">&nbsp;—&nbsp;</span> no page covers it; '
                f'<span class="warn">&nbsp;(old)&nbsp;</span> the oldest is before {before.isoformat()} (over '
                f"{years:g} years ago).</p>{_STYLE}<div class=\"scroll\"><table><tr><th>occupation</th>{head}</tr>"
                f"{''.join(rows) or '<tr><td colspan=13>No occupation matches.</td></tr>'}</table></div>"
                + pager("/staff/coverage", page, pages, q=q, years=years if years != settings.stale_years else None))
        return render_page(request, "Coverage map", body)

    @router.get("/staff/coverage/quotes")
    def quotes_page(request: Request, occupation: str = "", topic: str = "",
                    user: StaffUser = Depends(page_user)):
        cmap = cache.for_index(state().service.assistant.index)
        registry = cmap.index.registry
        facet = next((t for t in TOPICS if t.value == topic), None)
        if occupation not in registry or facet is None:
            return render_page(request, "Coverage quotes", '<p class="error">No such occupation or topic in the '
                               'loaded index (it may have been rebuilt): go back to the <a href="/staff/coverage">'
                               "coverage map</a>.</p>", status_code=404)
        occ = registry[occupation]
        sections = []
        for doc_id in occ.pages:
            found = cmap.evidence(doc_id).get(facet, [])
            if not found:
                continue
            doc = cmap.index.documents[doc_id]
            meta = doc.meta
            url = meta.url if meta.url and meta.url.startswith(("https://", "http://")) else None
            where = f' — <a href="{esc(url)}" rel="noreferrer">{esc(url)}</a>' if url else ""
            quotes = "".join(f"<li>{esc(doc.text[s.start:s.end])}</li>" for s in found[:settings.quotes_per_page])
            more = (f'<li class="muted">and {len(found) - settings.quotes_per_page} more</li>'
                    if len(found) > settings.quotes_per_page else "")
            sections.append(f"<h2>{esc(meta.publisher)}: {esc(meta.title)}</h2><p class=muted>{esc(date_label(meta))}"
                            f"{where} · {esc(meta.doc_id)}</p><ul>{quotes}{more}</ul>")
        body = (f'<p><a href="{link("/staff/coverage", q=occ.name)}">← back to the map</a></p>'
                + ("".join(sections) or "<p>No page of this occupation gives evidence for this topic.</p>"))
        return render_page(request, f"{occ.name}: {LABELS[facet]}", body)
