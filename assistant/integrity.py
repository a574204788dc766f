"""Checksums of the index files, and a guard on the one file read while serving.

The build records the sha256 and size of every file it wrote in the index folder (whatever files the
folder holds, sub-folders included: a file added to the index later is covered without a change
here), and every load verifies them, so a file damaged in place, e.g. random bytes written into
vectors.faiss, is refused with IndexCorruptError before anything is parsed, and a server that is
reloading keeps its last good index (web/reload.py).

Most files are read whole into memory at load, so a change on disk afterwards cannot reach a question.
sentence_vectors.npy is the exception when large: it is memory-mapped, and a mapped file that shrinks
kills the process with SIGBUS on the next read of a page past its new end. Below
`Settings.sentence_vectors_in_memory_max_mb` it is therefore copied into memory (the build writes at most
20,000 x 384 float32 = 29 MiB by default); above, MappedVectors checks with fstat, before every read,
that the file it mapped still has its size and modification time, and once it has not, never reads
the mapping again and encodes the needed sentences with the model instead (the same vectors).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import IndexCorruptError, IndexStaleError
from .models import FileDigest, Manifest

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"  # holds the checksums, so it is the one file not in them
_HINT = "run `careers-assistant build`"


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()  # reads in blocks, without the GIL


def digest_folder(folder: Path) -> dict[str, FileDigest]:
    """sha256 and size of every file under `folder` but the manifest, by path relative to it."""
    out: dict[str, FileDigest] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name != MANIFEST:
            out[name] = FileDigest(sha256=_sha256(path), size=path.stat().st_size)
    return out


def problems(folder: Path, manifest: Manifest) -> list[str]:
    """What differs between the files in `folder` and the manifest's checksums (empty: all intact).

    Sizes are compared first for every file, so a truncated file is named without hashing the rest."""
    found: list[str] = []
    for name, want in manifest.files.items():
        try:
            size = (folder / name).stat().st_size
        except OSError:
            found.append(f"{name} is missing")
            continue
        if size != want.size:
            found.append(f"{name} has {size:,} bytes, not {want.size:,}")
    if found:
        return found
    for name, want in manifest.files.items():
        try:
            if _sha256(folder / name) != want.sha256:
                found.append(f"{name} does not match its checksum")
        except OSError as err:
            found.append(f"{name} is unreadable ({err.__class__.__name__})")
    return found


def verify(folder: Path, manifest: Manifest) -> None:
    """Raise unless every file the manifest lists is there with its recorded size and sha256."""
    if not manifest.files:
        raise IndexStaleError(f"The index in {folder}/ was built without file checksums: {_HINT}.")
    found = problems(folder, manifest)
    if found:
        raise IndexCorruptError(f"The index in {folder}/ is damaged ({'; '.join(found[:3])}"
                                f"{'; ...' if len(found) > 3 else ''}): {_HINT}.")


class MappedVectors:
    """A memory-mapped .npy array whose file is checked (fstat of the mapped inode) before each read.

    `fallback(rows)` supplies the rows once the file has changed; without one, reading raises
    IndexCorruptError, which the server answers with its apology instead of dying."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("rb")  # kept open: fstat sees the inode that is mapped, even if renamed
        fmt = np.lib.format
        version = fmt.read_magic(self._file)
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read_header(self._file)
        self.shape: tuple[int, ...] = shape
        mapped = np.memmap(self._file, dtype=dtype, mode="r", shape=shape, offset=self._file.tell(),
                           order="F" if fortran else "C")
        self._array = mapped.view(np.ndarray)  # a plain view: memmap's subclass hooks cost ~5x per read
        st = os.fstat(self._file.fileno())
        self._stat = (st.st_size, st.st_mtime_ns)
        self.changed = False
        self.fallback: Callable[[list[int]], np.ndarray] | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def intact(self) -> bool:
        if not self.changed:
            st = os.fstat(self._file.fileno())
            if (st.st_size, st.st_mtime_ns) != self._stat:
                self.changed = True
                log.error("%s changed on disk while being served (%d bytes, was %d); its rows are now encoded "
                          "with the model instead. Rebuild the index (careers-assistant build) to fix it.",
                          self.path, st.st_size, self._stat[0])
        return not self.changed

    def __getitem__(self, rows) -> np.ndarray:
        if self.intact():
            rows_read = self._array[rows]
            # Fancy indexing copies already; a slice or single row would be a view into the mapping.
            return rows_read if not np.may_share_memory(rows_read, self._array) else np.array(rows_read)
        if self.fallback is None:
            raise IndexCorruptError(f"{self.path} changed on disk while being served: {_HINT}.")
        return self.fallback([int(r) for r in np.atleast_1d(np.asarray(rows))])


def load_vectors(path: Path, in_memory_max_bytes: int) -> np.ndarray | MappedVectors:
    """The array in memory when the file is at most `in_memory_max_bytes`, else a guarded mapping."""
    if path.stat().st_size <= in_memory_max_bytes:
        return np.load(path)
    return MappedVectors(path)
