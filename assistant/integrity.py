"""Checksums of the index files, and a guard on the files read while serving.

The build records the sha256 and size of every file it wrote in the index folder (whatever files the
folder holds, sub-folders included: a file added to the index later is covered without a change
here), and every load verifies them, so a file damaged in place, e.g. random bytes written into
vectors.faiss, is refused with IndexCorruptError before anything is parsed, and a server that is
reloading keeps its last good index (web/reload.py).

Hashing every byte at every load cost a third of a second on a 100,000-passage index (412 MB; 328 ms in
benchmarks/results/freshness.md), a third of a one-shot question's budget. So the build also records each file's stat stamp (inode, size, mtime
and ctime in ns) and a load hashes only the files whose stamp differs. Any write to a file, or a
utime() that puts its mtime back, sets its ctime to the current time, which the kernel alone sets; and
the build writes the manifest only after the clock has moved past every file's ctime (wait_past), so
a change made after the build cannot leave a file's stamp as recorded. A copied folder has new inodes:
every file is hashed, as before. What a stamp cannot see is a disk flipping bits without a write.

Most small files are read whole into memory at load, so a change on disk afterwards cannot reach a
question. Large vectors (sentence_vectors.npy, occupation_vectors.npy, vectors.faiss above
Settings.vectors_in_memory_max_mb) are memory-mapped, and a mapped file that shrinks kills the process
with SIGBUS on the next read of a page past its new end. MappedVectors therefore checks with fstat,
before every read, that the file it mapped still has its size and modification time, and once it has
not, never reads the mapping again and uses its fallback (for sentences: encoding them with the model,
the same vectors) or raises IndexCorruptError. FAISS reads its own mapping; a build never changes a file
in place (it swaps whole folders), so only a hand truncating a served vectors.faiss can hit it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
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
            out[name] = FileDigest(sha256=_sha256(path), size=path.stat().st_size, stamp=_stamp(path))
    return out


def _stamp(path: Path) -> tuple[int, int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def latest_change(digests: dict[str, FileDigest]) -> int:
    """The newest ctime (ns) among the recorded stamps."""
    return max((d.stamp[3] for d in digests.values() if d.stamp), default=0)


def wait_past(folder: Path, ctime_ns: int) -> bool:
    """Return True once a file written now gets a ctime later than `ctime_ns` (the kernel's clock ticks
    every few ms), so no change after this can leave a file with a stamp recorded before; False if the
    clock did not pass it within ~2 s (a file system with coarse times): then stamps must not be trusted."""
    probe = folder / ".clock"
    for _ in range(1000):
        probe.write_bytes(b"")
        now = probe.stat().st_ctime_ns
        probe.unlink()
        if now > ctime_ns:
            return True
        time.sleep(0.002)
    return False


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
            if want.stamp is not None and _stamp(folder / name) == tuple(want.stamp):
                continue  # not written since the build hashed it (see the module's docstring)
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

    def __matmul__(self, other: np.ndarray) -> np.ndarray:
        """Every row times `other` (occupation names against a question), or IndexCorruptError."""
        if not self.intact():
            raise IndexCorruptError(f"{self.path} changed on disk while being served: {_HINT}.")
        return self._array @ other

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
