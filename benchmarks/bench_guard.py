"""Cost of guarding memory-mapped sentence vectors (assistant/integrity.py), on this machine.

    python benchmarks/bench_guard.py

Reads 40 random rows (a question's evidence sentences) of a 20,000 x 384 float32 array (29.3 MiB, the
largest the build writes by default) from memory, from a plain np.load memory map, and through
MappedVectors (fstat before each read); also times loading it each way and hashing it (sha256).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from assistant.integrity import MappedVectors, _sha256  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v20k.npy"
        np.save(path, np.random.default_rng(0).standard_normal((20000, 384)).astype(np.float32))
        rows = sorted(np.random.default_rng(1).choice(20000, 40, replace=False).tolist())
        started = time.perf_counter()
        in_memory = np.load(path)
        load_memory = time.perf_counter() - started
        started = time.perf_counter()
        plain = np.load(path, mmap_mode="r")
        load_map = time.perf_counter() - started
        guarded = MappedVectors(path)
        started = time.perf_counter()
        _sha256(path)
        sha = time.perf_counter() - started
        n = 20000
        for name, array in (("in memory", in_memory), ("np.load mmap", plain), ("MappedVectors", guarded)):
            print(f"{name:14s} read 40 rows: {timeit.timeit(lambda: array[rows], number=n) / n * 1e6:6.1f} us")
        fd = guarded._file.fileno()  # noqa: SLF001
        print(f"fstat alone: {timeit.timeit(lambda: os.fstat(fd), number=n) / n * 1e6:.2f} us")
        print(f"load: in memory {load_memory * 1e3:.1f} ms, memory map {load_map * 1e3:.2f} ms; "
              f"sha256 of {path.stat().st_size / 2**20:.1f} MiB {sha * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
