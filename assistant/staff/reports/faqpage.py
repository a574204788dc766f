"""/staff/faq: upload the CSV `careers-assistant faq-check` reads, read the report in the page, download it.

The file is read by the CLI's own reader (faq.read_faq) from a temporary copy under its own name, so a
bad file gets the CLI's message word for word; each row is checked by faq.check and the report is
faqreport.report: the same verdicts and reasons as the command. Rows are checked one at a time
under the answer lock, so chat answers go on between them.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections import OrderedDict
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from ...errors import AssistantError
from ...faq import FaqResult, check, read_faq
from ...faqreport import answer_html, report
from ..base import StaffUser, action_user, csrf_field, esc, page_user, render_page
from .common import ReportSettings, state

TITLE = "FAQ check"


def _form(request: Request, settings: ReportSettings) -> str:
    return (f'<form method="post" action="/staff/faq" enctype="multipart/form-data">{csrf_field(request)}'
            f'<p><label>CSV file <input type="file" name="csv" accept=".csv,text/csv" required></label> '
            f'<button type="submit">Check</button></p></form>'
            f'<p class="muted">The file <code>careers-assistant faq-check</code> reads: a <code>question</code> and '
            f'an <code>expected</code> column (phrases separated by <code>;</code>, or <code>no answer</code> '
            f'when the assistant should decline); <code>id</code>, <code>notes</code> and <code>facet</code> are '
            f"optional. At most {settings.faq_max_bytes // 1000:,} KB and {settings.faq_max_rows:,} questions "
            f"(run the command for longer lists).</p>")


def file_name(raw: str | None) -> str:
    """The uploaded file's own name, fit to be a file name here (the messages name it as the CLI would)."""
    name = re.sub(r"[^\w .()\-]", "_", Path((raw or "").replace("\\", "/")).name).strip(" .")[:100]
    return name or "upload.csv"


def _results(results: list[FaqResult], problems: list[str], token: str) -> str:
    warnings = "".join(f"<li>warning: {esc(p)}</li>" for p in problems)
    rows = "".join(
        f'<tr><td class="{"ok" if r.passed else "bad"}">{"PASS" if r.passed else "FAIL"}</td><td>{esc(r.row.id)}</td>'
        f"<td>{esc(r.row.question)}</td><td>{'' if r.passed else esc(r.verdict) + ': '}{esc(r.why)}</td>"
        f'<td><details><summary>answer</summary><div class="answer">{answer_html(r.answer.answer)}</div>'
        f"</details></td></tr>" for r in results)
    passed = sum(r.passed for r in results)
    return ((f'<div class="error"><ul>{warnings}</ul></div>' if warnings else "")
            + f"<p><strong>{passed} of {len(results)} passed.</strong> "
            f'<a href="/staff/faq/report/{esc(token)}">Download the HTML report</a></p>'
            "<table><tr><th>result</th><th>id</th><th>question</th><th>verdict</th><th>answer</th></tr>"
            f"{rows}</table>")


class Reports:
    """The last few HTML reports, each readable only by the member of staff who ran it (memory only)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self._reports: OrderedDict[str, tuple[str, str, str]] = OrderedDict()

    def add(self, user: str, name: str, html: str) -> str:
        token = secrets.token_urlsafe(16)
        self._reports[token] = (user, name, html)
        while len(self._reports) > self.keep:
            self._reports.popitem(last=False)
        return token

    def get(self, token: str, user: str) -> tuple[str, str] | None:
        found = self._reports.get(token)
        return (found[1], found[2]) if found and found[0] == user else None


def add_routes(router: APIRouter, settings: ReportSettings) -> None:
    reports = Reports(settings.faq_reports_kept)

    def problem(request: Request, message: str):
        return render_page(request, TITLE, f'<p class="error">{esc(message)}</p>{_form(request, settings)}',
                           status_code=400)

    @router.get("/staff/faq")
    async def faq_page(request: Request, user: StaffUser = Depends(page_user)):
        return render_page(request, TITLE, _form(request, settings))

    @router.post("/staff/faq")
    async def faq_check(request: Request, user: StaffUser = Depends(action_user)):
        upload = (await request.form()).get("csv")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return problem(request, "Choose a CSV file to check.")
        name = file_name(upload.filename)
        data = await upload.read(settings.faq_max_bytes + 1)
        if len(data) > settings.faq_max_bytes:
            return problem(request, f"{name} is over {settings.faq_max_bytes // 1000:,} KB: split it into smaller "
                                    "files, or run `careers-assistant faq-check` on it.")
        with tempfile.TemporaryDirectory(prefix="faq-") as folder:
            path = Path(folder) / name
            path.write_bytes(data)
            try:
                faq = read_faq(path)
            except AssistantError as err:  # the CLI prints exactly this after "careers-assistant: "
                return problem(request, str(err))
        if len(faq.rows) > settings.faq_max_rows:
            return problem(request, f"{name} has {len(faq.rows):,} questions; this page checks at most "
                                    f"{settings.faq_max_rows:,}: split it, or run `careers-assistant faq-check` on it.")
        service = state().service
        results = [await service.exclusive(lambda assistant, row=row: check(assistant, row)) for row in faq.rows]
        token = reports.add(user.name, name, report(results, faq.problems, name))
        body = _results(results, faq.problems, token) + f"<h2>Check another file</h2>{_form(request, settings)}"
        return render_page(request, f"{TITLE}: {name}", body)

    @router.get("/staff/faq/report/{token}")
    async def faq_report(token: str, request: Request, user: StaffUser = Depends(page_user)):
        found = reports.get(token, user.name)
        if found is None:
            return render_page(request, TITLE, '<p class="error">That report is no longer kept (only the last '
                               f'{settings.faq_reports_kept} are): check the file again.</p>', status_code=404)
        name, html = found
        # ASCII only: a header cannot carry other characters (the page itself shows the name as given).
        download = re.sub(r"[^A-Za-z0-9._()-]", "_", re.sub(r"\.csv$", "", name, flags=re.IGNORECASE)) + "-report.html"
        return HTMLResponse(html, headers={"Content-Disposition": f'attachment; filename="{download}"',
                                           "Cache-Control": "no-store"})
