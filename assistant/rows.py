"""JSONL files read one row at a time, by byte offset, instead of parsed whole at load.

The build writes each `NAME.jsonl` with `NAME.offsets.npy` beside it: int64, one entry per line plus one
(the start of line i is offsets[i], its end offsets[i + 1]; the last entry is the file's size). Reading
row i is one pread of that span and one pydantic parse, kept in a small cache: a question touches a few
dozen of the 100,000 passages of a large index, so parsing all of them at start (seconds, and hundreds of
MiB) bought nothing. The offsets are checked against the file when it is opened (count, order, size) and
every row read is checked to be one whole line; a mismatch raises IndexCorruptError saying to rebuild.

The file stays open: after a rebuild swaps a new index folder in, a process still serving the old one
keeps reading the rows of the file it opened (the same inode), never half of a new one.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from threading import Lock
from typing import Generic, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from .errors import IndexCorruptError

M = TypeVar("M", bound=BaseModel)
_HINT = "run `careers-assistant build`"


def offsets_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".jsonl") + ".offsets.npy")


def write_rows(path: Path, rows: Iterable[BaseModel]) -> int:
    """Write one JSON object a line, and the byte offset of each line beside it; returns the row count."""
    offsets = [0]
    with path.open("wb") as fh:
        for row in rows:
            line = row.model_dump_json().encode("utf-8") + b"\n"
            fh.write(line)
            offsets.append(offsets[-1] + len(line))
    np.save(offsets_path(path), np.array(offsets, dtype=np.int64))
    return len(offsets) - 1


class RowFile(Sequence, Generic[M]):
    """Rows of a JSONL file as a read-only sequence of `model`, parsed when first read."""

    def __init__(self, path: Path, model: type[M], count: int, cache_rows: int = 4096,
                 check: Callable[[int, M], bool] | None = None) -> None:
        # check(i, row): is this what row i must be (a chunk's own `row` field is i)?
        self.path, self.model, self.cache_rows, self.check = path, model, cache_rows, check
        where = offsets_path(path)
        try:
            offsets = np.load(where, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise IndexCorruptError(f"{where} is unreadable ({err.__class__.__name__}): {_HINT}.") from err
        self._file = path.open("rb")
        size = os.fstat(self._file.fileno()).st_size
        if (offsets.dtype != np.int64 or offsets.ndim != 1 or len(offsets) != count + 1 or int(offsets[0]) != 0
                or int(offsets[-1]) != size or (count and not bool(np.all(np.diff(offsets) > 0)))):
            self._file.close()
            raise IndexCorruptError(f"{where.name} does not agree with {path.name} ({count:,} rows and "
                                    f"{size:,} bytes expected): {_HINT}.")
        self._offsets = offsets
        self._cache: OrderedDict[int, M] = OrderedDict()
        self._lock = Lock()  # the cache is shared by the threads of one server

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def raw(self, i: int) -> bytes:
        """Row i's JSON text, checked to be exactly one line."""
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        data = os.pread(self._file.fileno(), end - start, start)
        if len(data) != end - start or not data.endswith(b"\n") or b"\n" in data[:-1]:
            raise IndexCorruptError(f"Row {i} of {self.path} is not where {offsets_path(self.path).name} "
                                    f"says: {_HINT}.")
        return data

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        with self._lock:
            row = self._cache.get(i)
            if row is not None:
                self._cache.move_to_end(i)
                return row
        try:
            row = self.model.model_validate_json(self.raw(i))
        except ValidationError as err:
            raise IndexCorruptError(f"Row {i} of {self.path} is unreadable ({str(err)[:200]}): {_HINT}.") from err
        if self.check is not None and not self.check(i, row):
            raise IndexCorruptError(f"Row {i} of {self.path} is out of row order: {_HINT}.")
        with self._lock:
            self._cache[i] = row
            if len(self._cache) > self.cache_rows:
                self._cache.popitem(last=False)
        return row

    def __iter__(self) -> Iterator[M]:
        for i in range(len(self)):
            yield self[i]

    def close(self) -> None:
        self._file.close()


class Subset(Sequence, Generic[M]):
    """Some rows of a sequence, in the order given: a view, parsed only where read."""

    def __init__(self, rows: Sequence[M], positions: Sequence[int]) -> None:
        self.rows, self.positions = rows, positions

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self.rows[p] for p in self.positions[i]]
        return self.rows[self.positions[i]]

    def __iter__(self) -> Iterator[M]:
        return (self.rows[p] for p in self.positions)
