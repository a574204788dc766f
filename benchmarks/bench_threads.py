"""Would answering in two threads use the second core? Throughput of 1 vs 2 threads, side by side.

    python benchmarks/bench_threads.py [--rounds 3]

The server answers one question at a time behind one lock (web/service.py). This measures what
lifting the lock could give on the seed corpus, before anyone relies on it: the eval questions are
answered by 1 thread and by 2 threads on one warm Assistant (the numpy query encoder, as `serve`
uses), alternating, `rounds` times each; and every answer is compared with the first (warm-up, one-thread)
run's answer to the same question (the answer path has not been shown thread-safe: differences in the
2-thread runs only would mean it is not). Writes benchmarks/results/threads.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.embedding import MiniLMEmbedder  # noqa: E402
from assistant.evaluate import load_cases  # noqa: E402
from assistant.index import build_index  # noqa: E402
from assistant.pipeline import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402


def answer_all(assistant: Assistant, questions: list[str], threads: int) -> tuple[float, dict[int, str]]:
    """Answers/s with `threads` threads sharing the questions, and each question's answer JSON."""
    got: dict[int, str] = {}

    def work(rows: list[int]) -> None:
        for i in rows:
            got[i] = assistant.ask(questions[i]).model_dump_json()

    shares = [list(range(len(questions)))[k::threads] for k in range(threads)]
    workers = [threading.Thread(target=work, args=(s,)) for s in shares]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(questions) / (time.perf_counter() - started), got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus_dir=REPO / "corpus", index_dir=Path(tmp) / "index", embedder="minilm")
        build_index(settings, MiniLMEmbedder())
        assistant = Assistant(settings.model_copy(update={"query_encoder": "numpy"}))
        questions = [c.turns[-1] for c in load_cases(REPO / "evals" / "cases.yaml")]
        _, reference = answer_all(assistant, questions, 1)  # warm-up, and the answers to compare with
        rates: dict[int, list[float]] = {1: [], 2: []}
        differing = {1: 0, 2: 0}
        for _ in range(args.rounds):
            for threads in (1, 2):
                rate, got = answer_all(assistant, questions, threads)
                rates[threads].append(rate)
                differing[threads] += sum(got[i] != reference[i] for i in got)
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    result = {"cpus": os.cpu_count(), "questions": len(questions), "rounds": args.rounds,
              "answers_per_s": {"1 thread": [round(r, 1) for r in rates[1]],
                                "2 threads": [round(r, 1) for r in rates[2]]},
              "median_ratio_2_to_1": round(two / one, 2),
              "answers_differing_from_first_run": {"1 thread": differing[1], "2 threads": differing[2]}}
    out = REPO / "benchmarks" / "results"
    (out / "threads.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = ["# One thread vs two", "", f"`python benchmarks/bench_threads.py --rounds {args.rounds}` on "
          f"{result['cpus']} CPUs, seed corpus, {len(questions)} eval questions per run, runs alternating.", "",
          "| measure | value |", "|---|---|",
          f"| answers/s, 1 thread (each run) | {', '.join(map(str, result['answers_per_s']['1 thread']))} |",
          f"| answers/s, 2 threads (each run) | {', '.join(map(str, result['answers_per_s']['2 threads']))} |",
          f"| 2 threads ÷ 1 thread (medians) | {result['median_ratio_2_to_1']} |",
          f"| answers differing from the first run's, 1 thread / 2 threads | {differing[1]} / {differing[2]} |"]
    (out / "threads.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
