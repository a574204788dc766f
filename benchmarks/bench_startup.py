"""One-shot `careers-assistant ask` on a fresh process: wall time, and where it goes.

    python benchmarks/bench_startup.py [--runs 5]

For each query encoder — "torch" (sentence-transformers, as before) and "numpy" (assistant/fastencode.py,
the default now) — it runs:
- the real command `careers-assistant ask QUESTION` in a fresh process, `runs` times: wall-clock median;
- a fresh child process that times each stage the command goes through: interpreter start-up, imports,
  index load, model load, retriever set-up (speller), answering the question, rendering.
Then warm answers: `ask` p50 against the bare query encode p50 in one process, for both encoders.
Uses the small corpus's index (`careers-assistant build` first). Writes benchmarks/results/startup.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUESTION = "What band do OT support workers start on?"

STAGES = r"""
import json, os, sys, time
t0 = time.perf_counter()
marks = {}
def mark(name):
    global t0
    now = time.perf_counter(); marks[name] = round((now - t0) * 1000, 1); t0 = now
from assistant.cli import main  # what the console script imports
from assistant.pipeline import Assistant
from assistant.render import as_text
from assistant.settings import Settings
mark("imports")
from assistant.embedding import embedder_name, make_embedder
from assistant.index import load_index
from assistant.retrieval import Retriever
settings = Settings()
index = load_index(settings, embedder_name(settings.embedder))
mark("index load")
embedder = make_embedder(settings.embedder, query_encoder=settings.query_encoder)
mark("model load")
assistant = Assistant(settings, embedder=embedder, index=index)
mark("retriever set-up (speller, publishers)")
answer = assistant.ask(sys.argv[1])
mark("answer (plan, encode, search, compose)")
text = as_text(answer)
mark("render")
warm = []
for _ in range(5):
    t = time.perf_counter(); assistant.ask(sys.argv[1]); warm.append((time.perf_counter() - t) * 1000)
marks["second answer, warm (ms, median of 5)"] = round(sorted(warm)[2], 1)
print(json.dumps(marks))
"""

WARM = r"""
import json, sys, time
from assistant.embedding import make_embedder
from assistant.evaluate import load_cases
from assistant.metrics import percentile
from assistant.pipeline import Assistant
from assistant.settings import Settings
settings = Settings()
embedder = make_embedder(settings.embedder, query_encoder=settings.query_encoder)
assistant = Assistant(settings, embedder=embedder)
questions = [c.turns[-1] for c in load_cases(__import__("pathlib").Path("evals/cases.yaml"))]
for q in questions[:5]:
    assistant.ask(q); embedder.encode([q])
ask, enc, retr = [], [], []
for _ in range(int(sys.argv[1])):
    for q in questions:
        t = time.perf_counter(); embedder.encode([q]); enc.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter(); assistant.ask(q); ask.append((time.perf_counter() - t) * 1000)
print(json.dumps({"asks": len(ask), "ask_p50": percentile(ask, 50), "ask_p95": percentile(ask, 95),
                  "encode_p50": percentile(enc, 50), "encode_p95": percentile(enc, 95)}))
"""


def child(code: str, *args: str, encoder: str) -> dict:
    env = {**os.environ, "CAREERS_QUERY_ENCODER": encoder}
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def wall(cmd: list[str], encoder: str) -> float:
    env = {**os.environ, "CAREERS_QUERY_ENCODER": encoder}
    t = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, check=True)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm-repeat", type=int, default=2)
    args = parser.parse_args()
    if not (REPO / "index" / "manifest.json").exists():
        subprocess.run([sys.executable, "-m", "assistant", "build", "--quiet"], cwd=REPO, check=True)
    result: dict = {"question": QUESTION, "cpus": os.cpu_count(), "encoders": {}}
    interpreter = statistics.median(wall([sys.executable, "-c", "pass"], "numpy") for _ in range(args.runs))
    result["interpreter_s"] = round(interpreter, 3)
    for encoder in ("torch", "numpy"):
        one_shot = [wall(["careers-assistant", "ask", QUESTION], encoder) for _ in range(args.runs)]
        stages = [child(STAGES, QUESTION, encoder=encoder) for _ in range(3)]
        median_stages = {k: round(statistics.median(s[k] for s in stages), 1) for k in stages[0]}
        warm = child(WARM, str(args.warm_repeat), encoder=encoder)
        result["encoders"][encoder] = {"one_shot_s": {"median": round(statistics.median(one_shot), 3),
                                                      "runs": [round(x, 3) for x in one_shot]},
                                       "stages_ms": median_stages, "warm": warm}
        print(encoder, result["encoders"][encoder], flush=True)
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "startup.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    t, n = result["encoders"]["torch"], result["encoders"]["numpy"]
    md = ["# Start-up and per-question cost", "",
          f"`python benchmarks/bench_startup.py --runs {args.runs}` on {result['cpus']} CPUs; question: *{QUESTION}*", "",
          "| | before: torch query encoder | after: numpy query encoder (default) |", "|---|---|---|",
          f"| one-shot `careers-assistant ask` wall time, median of {args.runs} | {t['one_shot_s']['median']} s | "
          f"{n['one_shot_s']['median']} s |",
          f"| of which: Python interpreter start-up | {result['interpreter_s']} s | {result['interpreter_s']} s |"]
    for stage in t["stages_ms"]:
        md.append(f"| {stage} | {t['stages_ms'][stage]} ms | {n['stages_ms'][stage]} ms |")
    md += [f"| warm `ask` p50 / p95 (eval questions, {n['warm']['asks']} asks) | {t['warm']['ask_p50']:.1f} / "
           f"{t['warm']['ask_p95']:.1f} ms | {n['warm']['ask_p50']:.1f} / {n['warm']['ask_p95']:.1f} ms |",
           f"| bare query encode p50 (same encoder) | {t['warm']['encode_p50']:.1f} ms | {n['warm']['encode_p50']:.1f} ms |",
           f"| warm ask p50 ÷ bare encode p50 (same encoder) | {t['warm']['ask_p50'] / t['warm']['encode_p50']:.2f} | "
           f"{n['warm']['ask_p50'] / n['warm']['encode_p50']:.2f} |",
           f"| warm ask p50 (numpy) ÷ sentence-transformers encode p50 | | "
           f"{n['warm']['ask_p50'] / t['warm']['encode_p50']:.2f} |"]
    (out / "startup.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
