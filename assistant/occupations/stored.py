"""The registry as the index folder stores it, read without parsing every occupation at start.

occupations.jsonl (+ occupations.offsets.npy): one occupation a line, read by row (rows.py).
occupations.tables: registry_tables() in marshal's format (dicts, lists, sets of str and int only; it
    cannot hold code, unlike pickle): ids, covered flags, name counts, which page is about which occupation,
    the examples' order and the name matcher's dictionaries. Building the matcher from the 86,500 names of
    ESCO + O*NET takes about a second; loading its dictionaries takes a small part of that.
"""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from pathlib import Path

from ..errors import IndexCorruptError
from ..models import Occupation
from ..rows import RowFile, write_rows
from .registry import Registry, registry_tables

ROWS, TABLES = "occupations.jsonl", "occupations.tables"
_KEYS = {"ids", "covered", "name_counts", "pages", "mentioned_in", "examples", "exact", "preferred", "partial",
         "max_words"}


def save_registry(folder: Path, occupations: Sequence[Occupation]) -> None:
    write_rows(folder / ROWS, occupations)
    (folder / TABLES).write_bytes(marshal.dumps(registry_tables(occupations)))


def load_registry(folder: Path, count: int, names: int, doc_ids: set[str]) -> Registry:
    """The stored registry; IndexCorruptError (saying to rebuild) when its files disagree."""
    rows = RowFile(folder / ROWS, Occupation, count)
    try:
        tables = marshal.loads((folder / TABLES).read_bytes())
    except (ValueError, EOFError, TypeError) as err:
        raise IndexCorruptError(f"{folder / TABLES} is unreadable ({err}): run `careers-assistant build`.") from err
    if (not isinstance(tables, dict) or set(tables) != _KEYS or len(tables["ids"]) != count
            or len(tables["covered"]) != count or sum(tables["name_counts"]) != names
            or not doc_ids.issuperset(tables["pages"]) or not doc_ids.issuperset(tables["mentioned_in"])):
        raise IndexCorruptError(f"{folder / TABLES} does not agree with {ROWS} or the pages: run `careers-assistant build`.")
    return Registry(rows, tables)
