"""Which files are the corpus, and whether they changed: what loading an index needs from the corpus
folder, without the cleaning code behind reading pages (corpus.py), which a question never needs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .errors import CorpusError

SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm"}


def corpus_files(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"No corpus folder at {corpus_dir}. Create it and add pages (.md, .txt or .html), "
            "or set CAREERS_CORPUS_DIR."
        )
    return sorted(p for p in corpus_dir.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def corpus_stamps(corpus_dir: Path) -> dict[str, tuple[int, int, int, int]]:
    """(inode, size, mtime_ns, ctime_ns) of each corpus file, by name: the same stamps mean the same
    files (integrity.py says why), so checking that an index is fresh need not read every page."""
    out: dict[str, tuple[int, int, int, int]] = {}
    with os.scandir(corpus_dir) as entries:
        for entry in entries:
            if entry.is_file() and os.path.splitext(entry.name)[1].lower() in SUFFIXES:
                st = entry.stat()
                out[entry.name] = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return out


def corpus_hash(corpus_dir: Path) -> str:
    """A digest of every file name and byte: the index is stale when this changes."""
    digest = hashlib.sha256()
    for path in corpus_files(corpus_dir):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
