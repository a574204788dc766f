"""Read the corpus folder: one file per document, metadata in a front-matter header.

A file is `---` + YAML metadata + `---` + the page as received (markdown, plain text or HTML).
Metadata keys: id, title, publisher, publisher_aliases, url, last_updated, retrieved, date_note,
licence, occupation, occupation_id, aliases, mentions (see models.DocumentMeta), passages ("chunks", the default for pages, or "records": every paragraph or bullet is a passage
of its own, for imported structured data such as occupation task lists). A file
without a header still loads: its id comes from the file name and its title from its first line.
A file that is empty, binary or undecodable is reported by name and skipped; the rest still load.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import yaml

from .cleaning import clean
from .corpusfiles import SUFFIXES, corpus_files, corpus_hash, corpus_stamps  # noqa: F401 - used from here
from .errors import CorpusError, DocumentError
from .htmltext import html_to_text
from .models import Document, DocumentMeta, SkippedFile

# A careers page is tens of kilobytes; a file of megabytes is an export or the wrong file, and would
# take minutes to embed. It is skipped with a message rather than silently slowing every build.
MAX_FILE_BYTES = 2_000_000
_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)
_LAST_UPDATED = re.compile(r"last updated:?\s*(\d{1,2} [A-Z][a-z]+ \d{4})", re.IGNORECASE)


def decode(data: bytes, name: str) -> str:
    if not data.strip():
        raise DocumentError(f"{name}: the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise DocumentError(f"{name}: the file is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,}. "
                            "Split it into pages, or check it is the file you meant")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise DocumentError(f"{name}: not valid UTF-16 ({err.reason}); save it as UTF-8") from err
    sample = data[:8192]
    controls = sum(b < 9 or 13 < b < 32 for b in sample)
    if b"\0" in sample or controls > len(sample) // 20:
        raise DocumentError(f"{name}: looks like a binary file, not text; save the page as .md, .txt or .html")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DocumentError(
            f"{name}: not valid UTF-8 (byte {err.start}: {err.reason}); re-save the file as UTF-8"
        ) from err


def _as_date(value: object, name: str, key: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as err:
        raise DocumentError(f"{name}: {key} must be a date like 2018-09-10, not {value!r}") from err


def _as_list(value: object) -> list:
    return [] if value in (None, "") else value if isinstance(value, list) else [value]


def occupation_names(value: object) -> list[dict[str, str]]:
    """`aliases:` as a list of names (from the page itself), or a mapping from where the names came from
    to names (what the importers write: {"ESCO alternative label": [...], ...})."""
    if isinstance(value, dict):
        return [{"name": str(n), "source": str(source)} for source, names in value.items()
                for n in _as_list(names) if str(n).strip()]
    return [{"name": str(n), "source": "aliases"} for n in _as_list(value) if str(n).strip()]


def parse(text: str, path: Path) -> Document:
    """Split header from body, clean the body, and fill metadata the header leaves out."""
    meta: dict = {}
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    match = _FRONT.match(text)
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as err:
            raise DocumentError(f"{path.name}: the metadata header is not valid YAML ({err})") from err
        if not isinstance(meta, dict):
            raise DocumentError(f"{path.name}: the metadata header must be `key: value` lines")
        text = text[match.end() :]
    html_title = None
    if path.suffix.lower() in (".html", ".htm"):
        text, html_title = html_to_text(text)
    cleaned, blocks = clean(text)
    if not blocks or not re.search(r"\w{2,}", cleaned):
        raise DocumentError(f"{path.name}: no text left after cleaning (nothing but markup or page furniture)")
    first_line = cleaned[blocks[0].start : blocks[0].end]
    last_updated = _as_date(meta.get("last_updated"), path.name, "last_updated")
    if last_updated is None and (found := _LAST_UPDATED.search(cleaned)):
        try:
            from datetime import datetime

            last_updated = datetime.strptime(found.group(1), "%d %B %Y").date()
        except ValueError:
            pass
    def text_of(key: str) -> str | None:  # YAML reads "2024-10-29" as a date and "1" as a number
        value = meta.get(key)
        return str(value) if value not in (None, "") else None

    aliases = meta.get("publisher_aliases") or []
    try:
        names = occupation_names(meta.get("aliases"))
        mentions = [{"occupation": str(m)} if not isinstance(m, dict) else m for m in _as_list(meta.get("mentions"))]
        doc_meta = DocumentMeta(
            doc_id=text_of("id") or re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-"),
            title=text_of("title") or html_title or first_line[:120],
            publisher=text_of("publisher") or "Unknown publisher",
            url=text_of("url"),
            last_updated=last_updated,
            retrieved=_as_date(meta.get("retrieved"), path.name, "retrieved"),
            date_note=text_of("date_note"),
            licence=text_of("licence"),
            publisher_aliases=[str(a) for a in (aliases if isinstance(aliases, list) else [aliases])],
            source_file=path.name,
            passages=text_of("passages") or "chunks",
            occupation=text_of("occupation"),
            occupation_id=text_of("occupation_id"),
            aliases=names,
            mentions=mentions,
        )
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        raise DocumentError(f"{path.name}: the metadata header has a bad value ({err})") from err
    return Document(meta=doc_meta, text=cleaned, blocks=blocks)


def load_corpus(corpus_dir: Path) -> tuple[list[Document], list[SkippedFile]]:
    """Every readable document, plus the files skipped and why. Duplicate ids and texts are skipped."""
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    seen_ids: dict[str, str] = {}
    seen_texts: dict[str, str] = {}
    for path in corpus_files(corpus_dir):
        try:
            doc = parse(decode(path.read_bytes(), path.name), path)
        except DocumentError as err:
            skipped.append(SkippedFile(path=path.name, reason=str(err)))
            continue
        except OSError as err:
            skipped.append(SkippedFile(path=path.name, reason=f"{path.name}: cannot be read ({err})"))
            continue
        text_key = hashlib.sha256(doc.text.encode()).hexdigest()
        if doc.meta.doc_id in seen_ids:
            reason = f"{path.name}: id {doc.meta.doc_id!r} is already used by {seen_ids[doc.meta.doc_id]}"
            skipped.append(SkippedFile(path=path.name, reason=reason))
            continue
        if text_key in seen_texts:
            reason = f"{path.name}: same text as {seen_texts[text_key]}, skipped as a duplicate"
            skipped.append(SkippedFile(path=path.name, reason=reason))
            continue
        seen_ids[doc.meta.doc_id] = path.name
        seen_texts[text_key] = path.name
        documents.append(doc)
    if not documents:
        detail = "; ".join(s.reason for s in skipped) or "the folder has no .md, .txt or .html file"
        raise CorpusError(f"No usable document in {corpus_dir}: {detail}")
    return documents, skipped
