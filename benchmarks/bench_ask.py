"""Index build time, warm `ask` latency and the bare query-encode time, measured side by side.

    python benchmarks/bench_ask.py [--repeat 3]

Every question of evals/cases.yaml (the last turn of each) is asked `repeat` times on a warm
assistant; the bare model encode of the same texts is timed in the same process, interleaved, so
the ratio is not skewed by what else the machine is doing. Writes benchmarks/results/ask.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.embedding import MiniLMEmbedder  # noqa: E402
from assistant.evaluate import load_cases  # noqa: E402
from assistant.index import build_index  # noqa: E402
from assistant.metrics import percentile  # noqa: E402
from assistant.pipeline import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    embedder = MiniLMEmbedder()
    model_load = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus_dir=REPO / "corpus", index_dir=Path(tmp) / "index", embedder="minilm")
        t0 = time.perf_counter()
        manifest = build_index(settings, embedder)
        build = time.perf_counter() - t0
        assistant = Assistant(settings, embedder=embedder)
        questions = [c.turns[-1] for c in load_cases(REPO / "evals" / "cases.yaml")]
        for q in questions[:5]:  # warm-up: first calls pay for lazy allocations
            assistant.ask(q)
            embedder.encode([q])
        ask_ms, encode_ms = [], []
        for _ in range(args.repeat):
            for q in questions:
                t = time.perf_counter()
                embedder.encode([q])
                encode_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                assistant.ask(q)
                ask_ms.append((time.perf_counter() - t) * 1000)
    result = {
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                    "platform": platform.platform()},
        "corpus": {"documents": manifest.document_count, "chunks": manifest.chunk_count,
                   "sentences": manifest.sentence_count},
        "model_load_s": round(model_load, 3),
        "build_s": round(build, 3),
        "questions": len(questions), "repeat": args.repeat,
        "ask_ms": {"p50": round(percentile(ask_ms, 50), 2), "p95": round(percentile(ask_ms, 95), 2),
                   "mean": round(statistics.mean(ask_ms), 2)},
        "encode_ms": {"p50": round(percentile(encode_ms, 50), 2), "p95": round(percentile(encode_ms, 95), 2)},
    }
    result["ratio_ask_p50_to_encode_p50"] = round(result["ask_ms"]["p50"] / result["encode_ms"]["p50"], 2)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ask.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = [
        "# Ask benchmark", "", f"`python benchmarks/bench_ask.py --repeat {args.repeat}` on "
        f"{result['machine']['cpus']} CPUs, Python {result['machine']['python']}.", "",
        "| measure | value |", "|---|---|",
        f"| corpus | {manifest.document_count} documents, {manifest.chunk_count} chunks, "
        f"{manifest.sentence_count} sentences |",
        f"| model load | {result['model_load_s']} s |",
        f"| index build (clean, chunk, embed chunks and sentences, BM25, write) | {result['build_s']} s |",
        f"| warm ask p50 / p95 ({len(ask_ms)} asks) | {result['ask_ms']['p50']} / {result['ask_ms']['p95']} ms |",
        f"| bare query encode p50 / p95 | {result['encode_ms']['p50']} / {result['encode_ms']['p95']} ms |",
        f"| ask p50 ÷ encode p50 | {result['ratio_ask_p50_to_encode_p50']} |",
    ]
    (out / "ask.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
