"""Adding one page to a big corpus: incremental rebuild time, against a full build of the same corpus.

    python benchmarks/bench_incremental.py [--corpus benchmarks/work/registry/corpus
                                            --index benchmarks/work/registry/index] [--full]

Copies an already built corpus and index (bench_registry.py / bench_scale.py make the ESCO + O*NET
ones) to benchmarks/work/incremental/, adds one page (evals/corpus-occupations/scg-paramedic.txt, an
occupation page written for the evals), and rebuilds incrementally. The reference is the full build of
the copied index (its manifest's build_seconds), or, with --full, a full build of the grown corpus
measured in this same run. Writes benchmarks/results/incremental.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.embedding import MiniLMEmbedder  # noqa: E402
from assistant.index import build_index, read_manifest  # noqa: E402
from assistant.settings import Settings  # noqa: E402

PAGE = REPO / "evals" / "corpus-occupations" / "scg-paramedic.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    work = REPO / "benchmarks" / "work"
    parser.add_argument("--corpus", type=Path, default=work / "registry" / "corpus")
    parser.add_argument("--index", type=Path, default=work / "registry" / "index")
    parser.add_argument("--full", action="store_true", help="also time a full build of the grown corpus")
    args = parser.parse_args()
    before = read_manifest(args.index)
    here = work / "incremental"
    shutil.rmtree(here, ignore_errors=True)
    shutil.copytree(args.corpus, here / "corpus")
    shutil.copytree(args.index, here / "index")
    shutil.copy(PAGE, here / "corpus" / PAGE.name)
    embedder = MiniLMEmbedder()
    settings = Settings(corpus_dir=here / "corpus", index_dir=here / "index", embedder="minilm")
    started = time.perf_counter()
    grown = build_index(settings, embedder)
    incremental_s = time.perf_counter() - started
    result = {"pages_before": before.document_count, "passages_before": before.chunk_count,
              "pages_after": grown.document_count, "passages_after": grown.chunk_count,
              "incremental_s": round(incremental_s, 1), "texts_encoded": grown.texts_encoded,
              "texts_reused": grown.texts_reused, "reference": "recorded full build of the copied index",
              "full_s": before.build_seconds}
    if args.full:
        started = time.perf_counter()
        build_index(settings.model_copy(update={"index_dir": here / "index-full"}), embedder, full=True)
        result.update(full_s=round(time.perf_counter() - started, 1), reference="full build in this run")
    result["incremental_over_full"] = round(result["incremental_s"] / result["full_s"], 3)
    out = REPO / "benchmarks" / "results"
    (out / "incremental.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = ["# Adding one page", "", f"`python benchmarks/bench_incremental.py{' --full' if args.full else ''}`", "",
          "| measure | value |", "|---|---|",
          f"| corpus | {result['pages_before']:,} pages, {result['passages_before']:,} passages, plus one page "
          f"({result['passages_after'] - result['passages_before']} passages) |",
          f"| incremental rebuild | {result['incremental_s']} s: encoded {result['texts_encoded']:,} texts, "
          f"reused {result['texts_reused']:,} |",
          f"| full build ({result['reference']}) | {result['full_s']} s |",
          f"| incremental ÷ full | {result['incremental_over_full']} |"]
    (out / "incremental.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
