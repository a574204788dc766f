"""The rows of the Sources page: every page in the corpus folder and in the served index, side by side.

A page can be in one and not the other between builds (uploaded, changed or deleted since), or be in
the folder and skipped by the build (the manifest says why): each row says which, so an adviser sees
what the chat answers from now and what the next build will change.
"""

from __future__ import annotations

from datetime import timezone
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel

from ..corpus import corpus_files
from ..errors import CorpusError
from ..web.safety import safe_url
from .base import esc

Status = Literal["served", "changed", "new", "skipped", "deleted"]
STATUS_TEXT: dict[Status, str] = {
    "served": "served",
    "changed": "changed since the last build",
    "new": "not built yet",
    "skipped": "skipped by the build",
    "deleted": "deleted; served until the next build",
}


class SourceRow(BaseModel):
    file: str
    status: Status
    doc_id: str | None = None
    title: str | None = None
    publisher: str | None = None
    date: str = ""
    url: str | None = None
    occupation: str | None = None
    chunks: int | None = None
    note: str | None = None  # why the build skipped it


def page_date(meta) -> str:
    if meta.last_updated:
        return f"updated {meta.last_updated.isoformat()}"
    if meta.retrieved:
        return f"retrieved {meta.retrieved.isoformat()}"
    return meta.date_note or "undated"


def occupation_of(index, doc) -> str | None:
    if doc.meta.occupation:
        return doc.meta.occupation
    occupation_id = index.registry.about(doc.meta.doc_id)
    return index.registry[occupation_id].name if occupation_id in index.registry else None


def source_rows(corpus_dir: Path, index) -> tuple[list[SourceRow], str | None]:
    """Every page, sorted by file name, and a problem with the folder itself (or None)."""
    by_file = {d.meta.source_file: d for d in index.documents.values()}
    skipped = {s.path: s.reason for s in index.manifest.skipped}
    built = index.manifest.build_time.timestamp()
    try:
        files, problem = corpus_files(corpus_dir), None
    except CorpusError as err:
        files, problem = [], str(err)
    rows: list[SourceRow] = []
    on_disk = set()
    for path in files:
        on_disk.add(path.name)
        doc = by_file.get(path.name)
        try:
            changed = path.stat().st_mtime > built
        except OSError:
            changed = False
        if doc is None:
            status: Status = "new" if changed or path.name not in skipped else "skipped"
            rows.append(SourceRow(file=path.name, status=status, note=skipped.get(path.name)))
            continue
        rows.append(_row(index, doc, "changed" if changed else "served"))
    rows += [_row(index, doc, "deleted") for name, doc in by_file.items() if name not in on_disk]
    return sorted(rows, key=lambda r: r.file.lower()), problem


def _row(index, doc, status: Status) -> SourceRow:
    meta = doc.meta
    return SourceRow(file=meta.source_file, status=status, doc_id=meta.doc_id, title=meta.title,
                     publisher=meta.publisher, date=page_date(meta), url=meta.url,
                     occupation=occupation_of(index, doc), chunks=len(index.chunk_rows.get(meta.doc_id, ())))


def matches(row: SourceRow, query: str) -> bool:
    query = query.strip().lower()
    fields = (row.file, row.title, row.publisher, row.occupation, row.url, row.doc_id)
    return not query or any(query in (f or "").lower() for f in fields)


def page_link(file: str) -> str:
    return f"/staff/sources/page?file={quote(file, safe='')}"


def url_cell(url: str | None) -> str:
    """A link only for an http(s) URL (a `javascript:` URL in an uploaded header stays text)."""
    if not url:
        return '<span class="muted">none</span>'
    safe = safe_url(url)
    return f'<a href="{esc(safe)}" rel="noopener noreferrer">{esc(url)}</a>' if safe else esc(url)


def table(rows: list[SourceRow]) -> str:
    head = ("<tr><th>File</th><th>Title</th><th>Publisher</th><th>Date</th><th>URL</th><th>Occupation</th>"
            "<th>Chunks</th><th>Status</th></tr>")
    body = []
    for r in rows:
        css = {"skipped": ' class="empty"', "new": ' class="warn"', "changed": ' class="warn"',
               "deleted": ' class="warn"'}.get(r.status, "")
        status = esc(STATUS_TEXT[r.status]) + (f'<br><span class="bad">{esc(r.note)}</span>' if r.note else "")
        body.append(
            f'<tr{css}><td><a href="{esc(page_link(r.file))}">{esc(r.file)}</a></td><td>{esc(r.title or "")}</td>'
            f'<td>{esc(r.publisher or "")}</td><td>{esc(r.date)}</td><td>{url_cell(r.url)}</td>'
            f'<td>{esc(r.occupation or "")}</td><td>{"" if r.chunks is None else r.chunks}</td><td>{status}</td></tr>')
    return f"<table>{head}{''.join(body)}</table>"


def built_at(manifest) -> str:
    when = manifest.build_time.astimezone(timezone.utc)
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"
