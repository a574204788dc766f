"""Ways to make a real SQLite database fail for a while, as root (tests run as root, and chmod does
not stop root from writing). What was checked on this machine (ext4 under /tmp, root with
CAP_LINUX_IMMUTABLE and CAP_SYS_ADMIN):

- `chattr +i` on the database file, its -wal file and its folder: new connections get "attempt to
  write a readonly database", open ones "disk I/O error"; `chattr -i` restores both. NOT on the -shm
  file: SQLite memory-maps it, and writing to a mapped page of an immutable file is SIGBUS, which
  kills the process (measured: the test process died with signal 7).
- a small tmpfs mounted as the data folder and filled up: "database or disk is full".
Each helper says whether it works here; tests skip (with the reason) where it does not.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from contextlib import contextmanager
from pathlib import Path


def _run(*cmd: str) -> bool:
    return subprocess.run(cmd, capture_output=True).returncode == 0


def chattr_works(folder: Path) -> bool:
    probe = folder / f".chattr-{uuid.uuid4().hex}"
    probe.write_text("x")
    try:
        if not (shutil.which("chattr") and _run("chattr", "+i", str(probe))):
            return False
        try:
            with probe.open("a") as fh:
                fh.write("y")
            return False  # immutable, yet writable: not a fault here
        except OSError:
            return True
    finally:
        _run("chattr", "-i", str(probe))
        probe.unlink()


def sqlite_files(db: Path) -> list[Path]:
    """The database, its WAL and its folder: what `read_only` freezes (never the -shm, see above)."""
    return [p for p in (db, db.with_name(db.name + "-wal")) if p.exists()] + [db.parent]


@contextmanager
def read_only(db: Path):
    """The database truly read-only for root while inside, restored after."""
    files = [str(p) for p in sqlite_files(db)]
    subprocess.run(["chattr", "+i", *files], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)


@contextmanager
def small_tmpfs(folder: Path, size_kib: int = 512):
    """`folder` as a tmpfs of `size_kib`; yields False when mounting is not allowed here."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = _run("mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder))
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Fill the file system under `folder` to the last byte; returns the filler file to delete."""
    filler = folder / "filler"
    fh = filler.open("wb", buffering=0)
    try:
        while True:
            fh.write(b"\0" * 4096)
    except OSError:
        pass
    finally:
        try:
            fh.close()
        except OSError:
            pass
    return filler
