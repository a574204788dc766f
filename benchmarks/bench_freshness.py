"""What checking an index costs at load: stat stamps against hashing every byte, side by side.

    python benchmarks/bench_freshness.py [--repeat 5]

For the seed index (index/) and the ESCO + O*NET one (benchmarks/work/scale/, see bench_lazy_index.py),
in one process, the median of `repeat` runs of:
- the index files: integrity.problems() as a load runs it (only files whose stat stamp changed are
  hashed), and the same with every stamp removed (every file hashed, as before stamps);
- the corpus: corpusfiles.corpus_stamps() against corpusfiles.corpus_hash() (every page read and hashed).
Writes benchmarks/results/freshness.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.corpusfiles import corpus_hash, corpus_stamps  # noqa: E402
from assistant.indexstore import read_manifest  # noqa: E402
from assistant.integrity import problems  # noqa: E402

SETUPS = {"seed": (REPO / "corpus", REPO / "index"),
          "scale": (REPO / "benchmarks" / "work" / "scale" / "corpus", REPO / "benchmarks" / "work" / "scale" / "index")}


def ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    result = {}
    for name, (corpus, index) in SETUPS.items():
        if not (index / "manifest.json").exists():
            print(f"{name}: no index at {index}, skipped")
            continue
        manifest = read_manifest(index)
        unstamped = manifest.model_copy(update={"files": {k: v.model_copy(update={"stamp": None})
                                                          for k, v in manifest.files.items()}})
        assert problems(index, manifest) == [] and problems(index, unstamped) == []
        result[name] = {"index_mb": round(sum(f.size for f in manifest.files.values()) / 1e6, 1),
                        "corpus_files": len(corpus_stamps(corpus)),
                        "index_stamped_ms": ms(lambda: problems(index, manifest), args.repeat),
                        "index_hashed_ms": ms(lambda: problems(index, unstamped), args.repeat),
                        "corpus_stamped_ms": ms(lambda: corpus_stamps(corpus), args.repeat),
                        "corpus_hashed_ms": ms(lambda: corpus_hash(corpus), args.repeat)}
        print(name, result[name], flush=True)
    out = REPO / "benchmarks" / "results"
    (out / "freshness.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = ["# Checking an index at load: stat stamps against hashing", "",
          f"`python benchmarks/bench_freshness.py --repeat {args.repeat}` (medians, one process, 2 shared CPUs)", "",
          "| corpus | index files: stamps / hash all | corpus pages: stamps / hash all |", "|---|---|---|"]
    for name, r in result.items():
        md.append(f"| {name} ({r['index_mb']} MB index, {r['corpus_files']:,} pages) | {r['index_stamped_ms']} / "
                  f"{r['index_hashed_ms']} ms | {r['corpus_stamped_ms']} / {r['corpus_hashed_ms']} ms |")
    (out / "freshness.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
