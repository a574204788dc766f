"""/staff/unanswered: what the assistant could not answer, grouped by meaning; mark a group handled; CSV."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from ..base import StaffUser, action_user, csrf_field, esc, page_user, render_page
from .common import ReportSettings, csv_response, engine_or_none, link, no_database, number, show_time, state
from .grouping import Group, VectorCache, group_rows, normalise
from .queries import mark_handled, question_of, unanswered_rows

MAX_IDS = 10_000  # one form marks at most this many questions


def _counted(pairs: list[tuple[str, int]], none: str) -> str:
    return "<br>".join(f"{esc(v) if v else f'<span class=muted>{none}</span>'}"
                       + (f' <span class="muted">×{n}</span>' if len(pairs) > 1 else "") for v, n in pairs[:4])


def _plain(pairs: list[tuple[str, int]]) -> str:
    return "; ".join(f"{v or '-'} ({n})" for v, n in pairs)


async def groups_for(settings: ReportSettings, cache: VectorCache, handled: bool) -> tuple[list[Group], int]:
    """The groups, and how many wordings are not compared by meaning yet (each its own group until then)."""
    rows = await unanswered_rows(engine_or_none(), handled, settings.group_max_questions)
    keys = [normalise(r.question) for r in rows]
    vectors = await cache.vectors(state().service, keys, settings.group_encode_budget) if rows else {}
    return group_rows(rows, vectors, settings.group_similarity), len(set(keys) - set(vectors))


def _group_html(request: Request, n: int, g: Group, handled: bool) -> str:
    wordings = "".join(f"<li>{esc(q)}</li>" for q in g.questions[:8])
    more = f'<li class="muted">and {len(g.questions) - 8} more wordings</li>' if len(g.questions) > 8 else ""
    action = "" if handled else (
        f'<form method="post" action="/staff/unanswered/handled">{csrf_field(request)}'
        f'<input type="hidden" name="ids" value="{esc(",".join(map(str, g.ids)))}">'
        f'<button type="submit">Mark handled</button></form>')
    return (f"<tr><td>{n}</td><td><ul>{wordings}{more}</ul></td><td>{g.count}</td>"
            f"<td>{esc(show_time(g.first_seen))}</td><td>{esc(show_time(g.last_seen))}</td>"
            f"<td>{_counted(g.occupations, 'none named')}</td><td>{_counted(g.topics, 'none')}</td>"
            f"<td>{_counted(g.reasons, 'none given')}</td><td>{action}</td></tr>")


def parse_ids(raw: object) -> list[int] | None:
    """The ids a form sends back ("3,5,8"); None when it is not such a list."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    parts = raw.split(",")
    if len(parts) > MAX_IDS or not all(p.strip().isascii() and p.strip().isdigit() and len(p.strip()) < 19
                                       for p in parts):
        return None
    return sorted({int(p) for p in parts})


def add_routes(router: APIRouter, settings: ReportSettings) -> None:
    cache = VectorCache()

    @router.get("/staff/unanswered")
    async def unanswered_page(request: Request, handled: str = "", marked: str | None = None,
                              user: StaffUser = Depends(page_user)):
        handled = handled == "1"
        marked = int(number(marked, -1, 0, MAX_IDS))
        if engine_or_none() is None:
            return no_database(request, "Unanswered questions")
        groups, unread = await groups_for(settings, cache, handled)
        flash = f'<p class="flash">Marked {marked} question{"" if marked == 1 else "s"} handled.</p>' \
            if marked >= 0 else ""
        switch = (f'<a href="{link("/staff/unanswered")}">Show the questions still to look at</a>' if handled else
                  f'<a href="{link("/staff/unanswered", handled=1)}">Show the groups already handled</a>')
        rows = "".join(_group_html(request, n, g, handled) for n, g in enumerate(groups, start=1))
        total = sum(g.count for g in groups)
        if unread:
            flash += (f'<p class="flash">{unread:,} wordings are not compared by meaning yet (each is its own group '
                      f"for now): the model reads {settings.group_encode_budget:,} new ones each time the page is "
                      f'shown. <a href="{link("/staff/unanswered", handled=1 if handled else None)}">Reload</a></p>')
        body = (f"{flash}<p>{total:,} question{'' if total == 1 else 's'} in {len(groups):,} group"
                f"{'' if len(groups) == 1 else 's'}{' (handled)' if handled else ''}, the newest "
                f"{settings.group_max_questions:,} at most, grouped by meaning. {switch} · "
                f'<a href="{link("/staff/unanswered.csv", handled=1 if handled else None)}">Download as CSV</a></p>'
                "<table><tr><th>#</th><th>questions</th><th>times</th><th>first seen</th><th>last seen</th>"
                "<th>occupation read</th><th>topic read</th><th>why it declined</th><th></th></tr>"
                f"{rows or '<tr><td colspan=9>Nothing here.</td></tr>'}</table>")
        return render_page(request, "Unanswered questions", body)

    @router.get("/staff/unanswered.csv")
    async def unanswered_csv(handled: str = "", user: StaffUser = Depends(page_user)):
        handled = handled == "1"
        groups = (await groups_for(settings, cache, handled))[0] if engine_or_none() is not None else []
        rows = [[n, g.count, show_time(g.first_seen), show_time(g.last_seen), _plain(g.occupations),
                 _plain(g.topics), _plain(g.reasons), "\n".join(g.questions)] for n, g in enumerate(groups, start=1)]
        return csv_response("unanswered.csv", ["group", "count", "first_seen", "last_seen", "occupations",
                                               "topics", "reasons", "questions"], rows)

    @router.post("/staff/unanswered/handled")
    async def mark(request: Request, user: StaffUser = Depends(action_user)):
        from ..audit import audit_after  # the staff audit log (assistant/staff/audit.py)

        engine = engine_or_none()
        ids = parse_ids((await request.form()).get("ids"))
        if engine is None or ids is None:
            return render_page(request, "Unanswered questions", '<p class="error">That form did not name '
                               'any questions: go back to <a href="/staff/unanswered">Unanswered</a> and try '
                               "again.</p>", status_code=400)
        now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        example = await question_of(engine, ids[0])  # what the group was about, for the audit log
        await mark_handled(engine, state().durable, ids, now)
        plural = "" if len(ids) == 1 else "s"
        await audit_after(engine, user.name, "unanswered.handled",
                    f"{len(ids)} question{plural} like “{(example or '?')[:120]}” (ids {_span(ids)})")
        return RedirectResponse(f"/staff/unanswered?marked={len(ids)}", status_code=303)


def _span(ids: list[int]) -> str:
    return ",".join(map(str, ids)) if len(ids) <= 20 else f"{','.join(map(str, ids[:20]))},… ({len(ids)})"
