"""Add, replace and delete corpus pages from the staff console, without ever losing what is stored.

A page is accepted only if the corpus reader the build uses (corpus.decode + corpus.parse) reads it,
so an upload the build would skip is refused now, with the reader's own message. It is written to a
temporary file in the corpus folder and renamed over its name, so the folder never holds half a
page; the version it replaces, and a deleted page, are moved to `.previous/` inside the corpus folder
(the reader only reads files at the top level), so a mistake can be undone by hand.

File names are a plain name the corpus reader accepts (letters, digits, `-`, `_`, `.`, ending in
.md, .markdown, .txt, .html or .htm): anything with a folder in it is refused, never tidied up, so
no name reaches outside the corpus folder.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel

from ..corpus import SUFFIXES, decode, parse
from ..errors import DocumentError
from ..models import Document

# A careers page is tens of kilobytes. The limit stays under the server's request body limit
# (web/limits.py, 256 KiB) so an adviser sees this message rather than the server's generic refusal.
UPLOAD_MAX_BYTES = 200 * 1024
PREVIOUS_DIR = ".previous"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_ALLOWED = ", ".join(sorted(SUFFIXES))


class UploadRefused(ValueError):
    """Why a page was not stored; the message says how to fix it and is shown to the adviser."""


class Saved(BaseModel):
    file: str
    doc_id: str
    title: str
    replaced: bool
    kept_as: str | None = None  # where the replaced version went, relative to the corpus folder


class Deleted(BaseModel):
    file: str
    kept_as: str


def suggested_name(name: str) -> str:
    """A name the pattern accepts, made from `name`'s last part, to suggest (never used silently)."""
    base = re.split(r"[\\/]", name)[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, "md"
    stem = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "page"
    suffix = suffix.lower() if f".{suffix.lower()}" in SUFFIXES else "md"
    return f"{stem[:90]}.{suffix}"


def check_name(name: str, corpus_dir: Path) -> Path:
    """The path in the corpus folder for file name `name`, or UploadRefused saying what to use."""
    name = name.strip()
    if not name:
        raise UploadRefused("Choose a file to upload (or give it a name ending in .md, .txt or .html).")
    if "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
        raise UploadRefused(f"The file name {name!r} points outside the pages folder. Use a plain file name "
                            f"such as {suggested_name(name)!r}.")
    if Path(name).suffix.lower() not in SUFFIXES:
        raise UploadRefused(f"The file name {name!r} must end in one of {_ALLOWED}: pages are markdown, "
                            f"plain text or HTML. For example {suggested_name(name)!r}.")
    if not _NAME.fullmatch(name):
        raise UploadRefused(f"The file name {name!r} may only use letters, digits, '-', '_' and '.' (at most "
                            f"100 characters). For example {suggested_name(name)!r}.")
    root = corpus_dir.resolve()
    path = root / name
    if path.parent != root:  # cannot happen with the pattern above; kept as the rule itself
        raise UploadRefused(f"The file name {name!r} points outside the pages folder.")
    return path


def read_page(data: bytes, path: Path) -> Document:
    """The page as the build will read it, or UploadRefused with the corpus reader's message."""
    if len(data) > UPLOAD_MAX_BYTES:
        raise UploadRefused(f"{path.name}: the file is {len(data):,} bytes; pages uploaded here may be at most "
                            f"{UPLOAD_MAX_BYTES:,} bytes. Split it into smaller pages, or check it is the file "
                            "you meant.")
    try:
        return parse(decode(data, path.name), path)
    except DocumentError as err:
        raise UploadRefused(str(err)) from err


def check_clashes(doc: Document, path: Path, indexed: Mapping[str, Document]) -> None:
    """Refuse a page the build would skip as a duplicate of another page it already indexes."""
    for other in indexed.values():
        if other.meta.source_file == path.name:
            continue
        if other.meta.doc_id == doc.meta.doc_id:
            raise UploadRefused(f"{path.name}: id {doc.meta.doc_id!r} is already used by {other.meta.source_file}. "
                                f"Give this page another `id:` in its header, or replace {other.meta.source_file} "
                                "instead.")
        if other.text == doc.text:
            raise UploadRefused(f"{path.name}: the same text as {other.meta.source_file}, which is already a "
                                "source; replace that page instead.")


def save_page(corpus_dir: Path, name: str, data: bytes, *, replace: bool,
              indexed: Mapping[str, Document]) -> Saved:
    """Validate `data` as page `name` and store it atomically. Raises UploadRefused."""
    path = check_name(name, corpus_dir)
    if not corpus_dir.is_dir():
        raise UploadRefused(f"The pages folder {corpus_dir} does not exist; create it (CAREERS_CORPUS_DIR).")
    doc = read_page(data, path)
    check_clashes(doc, path, indexed)
    exists = path.exists()
    if exists and not path.is_file():
        raise UploadRefused(f"{path.name} is a folder in the pages folder; choose another file name.")
    if exists and not replace:
        raise UploadRefused(f"A page named {path.name} already exists. Tick “Replace the page of the same name” "
                            "to replace it (the current version is kept in .previous/).")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        kept = _keep_previous(path) if exists else None
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Saved(file=path.name, doc_id=doc.meta.doc_id, title=doc.meta.title, replaced=exists, kept_as=kept)


def delete_page(corpus_dir: Path, name: str) -> Deleted:
    """Move page `name` out of the corpus (into .previous/). Raises UploadRefused."""
    path = check_name(name, corpus_dir)
    if not path.is_file():
        raise UploadRefused(f"There is no page named {path.name} (it may have been deleted already).")
    return Deleted(file=path.name, kept_as=_keep_previous(path, move=True))


def _keep_previous(path: Path, move: bool = False) -> str:
    """Keep the current version of `path` in .previous/ (a hard link when it is about to be replaced,
    so the page is never missing from the corpus in between); returns where, relative to the corpus."""
    folder = path.parent / PREVIOUS_DIR
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    kept = folder / f"{stamp}-{path.name}"
    if move:
        os.replace(path, kept)
    else:
        try:
            os.link(path, kept)
        except OSError:  # a filesystem without hard links: copy
            kept.write_bytes(path.read_bytes())
    return f"{PREVIOUS_DIR}/{kept.name}"
