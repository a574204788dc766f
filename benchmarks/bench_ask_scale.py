"""Warm `ask` on the ESCO + O*NET corpus with the occupation registry, beside the figures before it.

    python benchmarks/bench_ask_scale.py            # import (if needed), build (if needed), measure
    python benchmarks/bench_ask_scale.py --skip-build

The corpus is the one benchmarks/bench_registry.py imports (benchmarks/work/registry/corpus: both
taxonomies, descriptions, tasks and titles, every name in the front matter). The build runs as a child
process (`careers-assistant build`), timed. Then one warm Assistant answers 100 questions made with the
templates bench_scale.py used before the registry, for occupations drawn with a fixed seed, timing the
whole answer and, apart, the occupation resolution of each question. Writes
benchmarks/results/ask_scale.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from assistant.metrics import percentile  # noqa: E402

WORK = REPO / "benchmarks" / "work" / "registry"
OUT = REPO / "benchmarks" / "results"
SEED = 20261202
BEFORE = {"ask_p50_ms": 140.9, "ask_p95_ms": 233.9, "build_seconds": 1507.0,
          "source": "benchmarks/results/scale.md, before the registry"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--questions", type=int, default=100)
    args = parser.parse_args()
    corpus, index = WORK / "corpus", WORK / "index"
    if not any(corpus.glob("*.md")):
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_registry.py")], check=True)
    build_seconds = None
    if not args.skip_build or not (index / "manifest.json").exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "assistant", "build", "--quiet", "--corpus", str(corpus),
                        "--index", str(index)], cwd=REPO, check=True)
        build_seconds = round(time.perf_counter() - started, 1)

    from assistant.pipeline import Assistant
    from assistant.query import plan, validate
    from assistant.settings import Settings

    started = time.perf_counter()
    assistant = Assistant(Settings(corpus_dir=corpus, index_dir=index))
    load_seconds = round(time.perf_counter() - started, 2)
    covered = sorted(o.name for o in assistant.index.registry.covered)
    rng = random.Random(SEED)
    # The same question templates as the measurement before the registry (bench_scale.py), so the two
    # figures compare like with like.
    from bench_scale import QUESTION_TEMPLATES

    questions = [rng.choice(QUESTION_TEMPLATES).format(t=name) for name in rng.sample(covered, args.questions)]
    for q in questions[:5]:  # warm caches (the speller's delete index is built on first use)
        assistant.ask(q)
    ask_ms, read_ms, outcomes = [], [], {}
    for q in questions:
        t0 = time.perf_counter()
        answer = assistant.ask(q)
        ask_ms.append((time.perf_counter() - t0) * 1000)
        outcomes[answer.outcome] = outcomes.get(answer.outcome, 0) + 1
        t0 = time.perf_counter()
        plan(validate(q, 1000), [], assistant.reader)
        read_ms.append((time.perf_counter() - t0) * 1000)
    m = assistant.index.manifest
    result = {"seed": SEED, "documents": m.document_count, "passages": m.chunk_count,
              "occupations": m.occupation_count, "names": m.occupation_name_count,
              "build_seconds": build_seconds or m.build_seconds, "load_seconds": load_seconds,
              "ask_p50_ms": round(percentile(ask_ms, 50), 1), "ask_p95_ms": round(percentile(ask_ms, 95), 1),
              "read_p50_ms": round(percentile(read_ms, 50), 2), "read_p95_ms": round(percentile(read_ms, 95), 2),
              "outcomes": outcomes, "before": BEFORE, "examples": questions[:5]}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ask_scale.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = ["# Warm ask on ESCO + O*NET with the occupation registry", "",
          f"`python benchmarks/bench_ask_scale.py`: {m.document_count:,} pages, {m.chunk_count:,} passages, "
          f"{m.occupation_count:,} occupations, {m.occupation_name_count:,} names; {args.questions} questions "
          f"(seed {SEED}) about covered occupations, with the question templates of bench_scale.py (the figures 'before'), one "
          "warm process.", "",
          "| measure | with the registry | before |", "|---|---|---|",
          f"| ask p50 / p95 ms | {result['ask_p50_ms']} / {result['ask_p95_ms']} | "
          f"{BEFORE['ask_p50_ms']} / {BEFORE['ask_p95_ms']} |",
          f"| reading the question (typos, occupation, facet) p50 / p95 ms | {result['read_p50_ms']} / "
          f"{result['read_p95_ms']} | |",
          f"| build s | {result['build_seconds']} | {BEFORE['build_seconds']} |",
          f"| load s (model + index) | {load_seconds} | |", "",
          f"Outcomes: {', '.join(f'{k} {v}' for k, v in sorted(outcomes.items()))}."]
    (OUT / "ask_scale.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
