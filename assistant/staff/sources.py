"""/staff/sources: every page the chat answers from; upload, replace or delete one; rebuild the index.

Each change to the pages starts a background rebuild (rebuild.py) that the page shows as it runs; the
chat picks up the finished index by its live reload. Uploads, deletions, builds started and stopped
are written to the audit log with who did them. Everything that came from a page is escaped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict
from starlette.datastructures import UploadFile

from ..corpus import decode, parse
from ..errors import DocumentError
from ..settings import Settings
from .base import StaffUser, action_user, csrf_field, esc, page_user, render_page
from .buildpanel import build_panel, disk_build_time
from .rebuild import Rebuilder
from .sourcelist import built_at, matches, occupation_of, page_date, source_rows, table, url_cell
from .uploads import UPLOAD_MAX_BYTES, UploadRefused, check_name, delete_page, save_page

log = logging.getLogger(__name__)
PER_PAGE = 100
PREVIEW_CHARS = 3000
Audit = Callable[[Any, str, str, str], Awaitable[None]]


class Served(BaseModel):
    """What this page reads from the running server."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings
    index: Any  # the served Assistant's index.Index
    engine: Any = None  # the database the audit log is written to
    live_reload: bool = True


def served_now() -> Served:
    from ..web.state import current

    state = current()
    store = state.service.store
    return Served(settings=state.settings, index=state.service.assistant.index,
                  engine=store.engine if store is not None else None, live_reload=state.watcher is not None)


def _audit_log() -> Audit:
    from .audit import audit

    return audit


def build_sources_router(served: Callable[[], Served] = served_now, audit: Audit | None = None,
                         builders: dict[tuple, Rebuilder] | None = None) -> APIRouter:
    """`served`, `audit` and `builders` (the running builds, by folder) are the server's own unless given."""
    router = APIRouter(include_in_schema=False)
    builders = {} if builders is None else builders
    notices: dict[str, str] = {}  # the message for a user's next view of the page (post/redirect/get)
    # Routes run both on the event loop and in the thread pool: one tracker per folder, made once.
    builders_lock = threading.Lock()
    # Saving and deleting run in worker threads (reading the indexed pages to check for clashes takes
    # seconds at taxonomy size, which must not stall the chat); one at a time, so two uploads of the
    # same name cannot both see it as new and one silently overwrite the other.
    writes = threading.Lock()

    def rebuilder(settings: Settings) -> Rebuilder:
        key = (settings.corpus_dir, settings.index_dir, settings.embedder)
        with builders_lock:
            if key not in builders:
                builders[key] = Rebuilder(settings)
            return builders[key]

    def one_at_a_time(write: Callable, *args, **kwargs):
        with writes:
            return write(*args, **kwargs)

    async def record(state: Served, user: StaffUser, action: str, detail: str) -> str:
        """Write the audit line; '' or a warning to show (the action itself already happened)."""
        try:
            await (audit or _audit_log())(state.engine, user.name, action, detail)
            return ""
        except Exception:
            log.exception("Could not write the audit log for %s by %s", action, user.name)
            return " Warning: this was not written to the audit log (see the server log)."

    async def rebuild_after(state: Served, user: StaffUser, why: str) -> str:
        started = rebuilder(state.settings).start(user.name)
        warning = await record(state, user, "rebuild", f"{started}: {why}")
        if started == "queued":
            return " A build is already running; another starts when it ends." + warning
        if started == "failed":
            return " The index could not be rebuilt: see below." + warning
        return " The index is being rebuilt: its progress shows below." + warning

    def done(user: StaffUser, message: str) -> RedirectResponse:
        notices[user.name] = message
        return RedirectResponse("/staff/sources", status_code=303)

    @router.get("/staff/sources")
    def sources_page(request: Request, q: str = "", page: str = "1", user: StaffUser = Depends(page_user)):
        return _list_page(request, served(), rebuilder, notice=notices.pop(user.name, ""), query=q,
                          page=_page_number(page))

    @router.get("/staff/sources/page")
    def source_page(request: Request, file: str = "", user: StaffUser = Depends(page_user)):
        return _detail_page(request, served(), file)

    @router.post("/staff/sources/upload")
    async def upload(request: Request, user: StaffUser = Depends(action_user)):
        state = served()
        form = await request.form()
        page, save_as = form.get("page"), form.get("save_as")
        try:
            if not isinstance(page, UploadFile) or not (page.filename or save_as):
                raise UploadRefused("Choose a file to upload: a page saved as .md, .txt or .html.")
            name = (save_as if isinstance(save_as, str) and save_as.strip() else page.filename) or ""
            data = await page.read(UPLOAD_MAX_BYTES + 1)
            saved = await asyncio.to_thread(one_at_a_time, save_page, state.settings.corpus_dir, name, data,
                                            replace=form.get("replace") == "yes", indexed=state.index.documents)
        except UploadRefused as err:
            return await asyncio.to_thread(_list_page, request, state, rebuilder, error=str(err), status_code=400)
        verb = "Replaced" if saved.replaced else "Added"
        message = (f"{verb} {saved.file} (“{saved.title}”)."
                   + (f" The previous version is kept as {saved.kept_as} in the pages folder." if saved.kept_as else ""))
        message += await record(state, user, "upload", f"{saved.file} ({'replaced' if saved.replaced else 'new'}, "
                                                       f"id {saved.doc_id})")
        return done(user, message + await rebuild_after(state, user, f"{verb.lower()} {saved.file}"))

    @router.post("/staff/sources/delete")
    async def delete(request: Request, user: StaffUser = Depends(action_user)):
        state = served()
        name = (await request.form()).get("file")
        try:
            deleted = await asyncio.to_thread(one_at_a_time, delete_page, state.settings.corpus_dir,
                                              name if isinstance(name, str) else "")
        except UploadRefused as err:
            return await asyncio.to_thread(_list_page, request, state, rebuilder, error=str(err), status_code=400)
        message = f"Deleted {deleted.file} (kept as {deleted.kept_as} in the pages folder)."
        message += await record(state, user, "delete", deleted.file)
        return done(user, message + await rebuild_after(state, user, f"deleted {deleted.file}"))

    @router.post("/staff/sources/rebuild")
    async def rebuild(request: Request, user: StaffUser = Depends(action_user)):
        return done(user, (await rebuild_after(served(), user, "asked for")).strip())

    @router.post("/staff/sources/rebuild/stop")
    async def stop(request: Request, user: StaffUser = Depends(action_user)):
        state = served()
        if not rebuilder(state.settings).stop():
            return done(user, "No build was running.")
        return done(user, "Stopping the build." + await record(state, user, "rebuild-stop", "stopped"))

    return router


def _page_number(text: str) -> int:
    """?page=N as typed in the address bar: anything but a plain small number is page 1."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 1


def _list_page(request: Request, state: Served, rebuilder, *, notice: str = "", error: str = "", query: str = "",
               page: int = 1, status_code: int = 200):
    settings, index = state.settings, state.index
    panel, _ = build_panel(request, rebuilder(settings).status(), index.manifest,
                           disk_build_time(settings.index_dir), state.live_reload)
    rows, problem = source_rows(settings.corpus_dir, index)
    shown = [r for r in rows if matches(r, query)]
    pages = max(1, -(-len(shown) // PER_PAGE))
    page = min(max(page, 1), pages)
    flash = (f'<p class="flash">{esc(notice)}</p>' if notice else "") + \
            (f'<p class="error">{esc(error)}</p>' if error else "") + \
            (f'<p class="error">{esc(problem)}</p>' if problem else "")
    upload = (f'<section id="upload"><h2>Add or replace a page</h2><form method="post" action="/staff/sources/upload" '
              f'enctype="multipart/form-data">{csrf_field(request)}'
              '<p><label>Page (markdown, text or HTML, at most '
              f'{UPLOAD_MAX_BYTES // 1024} KB): <input type="file" name="page" required '
              'accept=".md,.markdown,.txt,.html,.htm"></label></p>'
              '<p><label>Save as (optional file name): <input type="text" name="save_as" maxlength="100" '
              'placeholder="nhs-dental-nurse.md"></label></p>'
              '<p><label><input type="checkbox" name="replace" value="yes"> Replace the page of the same name'
              '</label></p><p><button type="submit">Upload and rebuild</button></p>'
              '<p class="muted">A metadata header (--- id, title, publisher, url, last_updated, occupation ---) '
              'says where the page came from and which occupation it is about.</p></form></section>')
    search = (f'<form method="get" action="/staff/sources"><label>Find: <input type="search" name="q" '
              f'value="{esc(query)}"></label> <button type="submit">Filter</button></form>')
    counts = (f"<p>{len(rows):,} pages ({len(shown):,} shown); the chat answers from {index.manifest.document_count:,} "
              f"of them, built {built_at(index.manifest)}.</p>")
    start = (page - 1) * PER_PAGE
    nav = ""
    if pages > 1:
        from urllib.parse import urlencode

        links = [f'<a href="/staff/sources?{esc(urlencode({"q": query, "page": n}))}">{n}</a>' if n != page
                 else f"<strong>{n}</strong>" for n in range(1, pages + 1)]
        nav = f"<p>Page: {' '.join(links)}</p>"
    body = (flash + panel + upload + f'<section id="pages"><h2>Pages</h2>{search}{counts}{nav}'
            + table(shown[start:start + PER_PAGE]) + nav + "</section>")
    return render_page(request, "Sources", body, status_code=status_code)


def _detail_page(request: Request, state: Served, file: str):
    settings, index = state.settings, state.index
    try:
        path = check_name(file, settings.corpus_dir)
    except UploadRefused as err:
        return render_page(request, "Source", f'<p class="error">{esc(err)}</p>', status_code=404)
    doc = next((d for d in index.documents.values() if d.meta.source_file == path.name), None)
    reader = ""
    if path.is_file():
        try:  # what the next build will read, which may differ from what the chat serves now
            doc_now = parse(decode(path.read_bytes(), path.name), path)
            doc = doc or doc_now
        except DocumentError as err:
            reader = f'<p class="error">The corpus reader cannot use this file: {esc(err)}</p>'
        except OSError as err:
            reader = f'<p class="error">The file cannot be read: {esc(err)}</p>'
    elif doc is None:
        return render_page(request, "Source", f'<p class="error">There is no page named {esc(path.name)}.</p>',
                           status_code=404)
    served_here = doc is not None and doc.meta.doc_id in index.documents and \
        index.documents[doc.meta.doc_id].meta.source_file == path.name
    facts = ""
    if doc is not None:
        m = doc.meta
        chunks = len(index.chunk_rows.get(m.doc_id, ())) if served_here else "not built yet"
        facts = ("<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in (
            ("Title", esc(m.title)), ("Id", esc(m.doc_id)), ("Publisher", esc(m.publisher)),
            ("Date", esc(page_date(m))), ("URL", url_cell(m.url)), ("Occupation", esc(occupation_of(index, doc) or "")),
            ("Chunks", esc(chunks)), ("Licence", esc(m.licence or "")))) + "</table>"
                 + f"<h2>Text as the chat reads it</h2><pre>{esc(doc.text[:PREVIEW_CHARS])}"
                 + ("\n…" if len(doc.text) > PREVIEW_CHARS else "") + "</pre>")
    actions = ""
    if path.is_file():
        actions = (f'<h2>Replace or delete</h2><form method="post" action="/staff/sources/upload" '
                   f'enctype="multipart/form-data">{csrf_field(request)}<input type="hidden" name="save_as" '
                   f'value="{esc(path.name)}"><input type="hidden" name="replace" value="yes"><label>New version: '
                   '<input type="file" name="page" required accept=".md,.markdown,.txt,.html,.htm"></label> '
                   '<button type="submit">Replace and rebuild</button></form>'
                   f'<form method="post" action="/staff/sources/delete">{csrf_field(request)}<input type="hidden" '
                   f'name="file" value="{esc(path.name)}"><p><button type="submit">Delete {esc(path.name)} and '
                   'rebuild</button> (the file is kept in .previous/ in the pages folder)</p></form>')
    body = (f'<p><a href="/staff/sources">All sources</a></p><h2>{esc(path.name)}</h2>{reader}{facts}{actions}')
    return render_page(request, f"Source {path.name}", body)
