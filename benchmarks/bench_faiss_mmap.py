"""Which FAISS read flags map the vectors instead of reading them, for the index types the build writes.

    python benchmarks/bench_faiss_mmap.py

On the ESCO + O*NET index (benchmarks/work/scale/index/vectors.faiss, IndexHNSWFlat over 105,925 passages;
see bench_lazy_index.py) and an IndexFlatIP of the same vectors (written to benchmarks/work/), each
`faiss.read_index(path, flag)` runs in a fresh child process: read time, resident memory added by the
read (VmRSS before and after), then one search (k=50) and the memory after it, and the search's results
compared with those of the index read without flags. Writes benchmarks/results/faiss_mmap.{json,md}.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HNSW = REPO / "benchmarks" / "work" / "scale" / "index" / "vectors.faiss"
FLAT = REPO / "benchmarks" / "work" / "faiss-flat-probe.faiss"
FLAGS = ["0", "IO_FLAG_MMAP", "IO_FLAG_MMAP_IFC", "IO_FLAG_READ_ONLY"]

CHILD = r"""
import json, sys, time
import faiss, numpy as np
def rss():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]) / 1024
path, flag = sys.argv[1], sys.argv[2]
query = np.random.default_rng(7).standard_normal((1, 384)).astype("float32")
query /= np.linalg.norm(query)
before = rss()
t = time.perf_counter()
index = faiss.read_index(path, 0 if flag == "0" else getattr(faiss, flag))
read_ms = (time.perf_counter() - t) * 1000
after_read = rss()
t = time.perf_counter()
scores, rows = index.search(query, 50)
search_ms = (time.perf_counter() - t) * 1000
print(json.dumps({"read_ms": round(read_ms, 1), "rss_read_mib": round(after_read - before, 1),
                  "search_ms": round(search_ms, 2), "rss_after_search_mib": round(rss() - before, 1),
                  "rows": rows[0].tolist()}))
"""


def main() -> None:
    import faiss

    if not HNSW.exists():
        raise SystemExit(f"{HNSW} is missing: run benchmarks/bench_lazy_index.py first")
    if not FLAT.exists():
        hnsw = faiss.read_index(str(HNSW))
        flat = faiss.IndexFlatIP(hnsw.d)
        flat.add(hnsw.reconstruct_n(0, hnsw.ntotal))
        faiss.write_index(flat, str(FLAT))
    result: dict = {"faiss": faiss.__version__}
    for name, path in (("IndexHNSWFlat", HNSW), ("IndexFlatIP", FLAT)):
        runs = {}
        for flag in FLAGS:
            out = subprocess.run([sys.executable, "-c", CHILD, str(path), flag], capture_output=True, text=True)
            runs[flag] = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr.strip()[-300:]}
        reference = runs["0"]["rows"]
        for r in runs.values():
            if "rows" in r:
                r["same_results"] = r.pop("rows") == reference
        result[name] = {"file_mb": round(path.stat().st_size / 1e6, 1), "flags": runs}
        print(name, json.dumps(result[name]), flush=True)
    out = REPO / "benchmarks" / "results"
    (out / "faiss_mmap.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = ["# FAISS read flags: mapped or read", "",
          f"`python benchmarks/bench_faiss_mmap.py`, faiss-cpu {result['faiss']}, 105,925 × 384 vectors, each read in a "
          "fresh process", "",
          "| index | flag | read ms | RSS after read MiB | one search ms | RSS after search MiB | same results |",
          "|---|---|---|---|---|---|---|"]
    for name in ("IndexHNSWFlat", "IndexFlatIP"):
        for flag, r in result[name]["flags"].items():
            if "error" in r:
                md.append(f"| {name} ({result[name]['file_mb']} MB) | {flag} | error: {r['error'][:80]} | | | | |")
            else:
                md.append(f"| {name} ({result[name]['file_mb']} MB) | {flag} | {r['read_ms']} | {r['rss_read_mib']} | "
                          f"{r['search_ms']} | {r['rss_after_search_mib']} | {r['same_results']} |")
    (out / "faiss_mmap.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
