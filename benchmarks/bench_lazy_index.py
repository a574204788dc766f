"""The lazily read index beside the index it replaced: one-shot `ask`, `serve` ready, warm `ask`.

    python benchmarks/bench_lazy_index.py [--runs 5] [--skip-scale]

"before" is the code at BEFORE_COMMIT (the last commit before the lazily read index, unpacked with
`git archive` into benchmarks/work/base/) reading an index it built itself; "after" is this checkout
reading the index it built. Every figure is measured for both in the same run, before and after
interleaved run by run, so the machine's load (2 cores shared with other jobs) falls on both alike:
- one-shot: `python -m assistant ask QUESTION` in a fresh process: wall time and the child's own peak
  RSS (os.wait4), median of `runs`;
- serve ready: `python -m assistant serve` until GET /health answers 200, median of 3;
- warm: one process answers every question (the eval questions twice on the seed corpus; 100 questions
  about covered occupations, seed 20261202, on ESCO + O*NET), timing each answer and, in the same
  loop, the bare query encode of the same question.
Corpora: the seed corpus (corpus/) and ESCO + O*NET (benchmarks/work/scale/corpus, imported here if
missing). Writes benchmarks/results/lazy_index.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "benchmarks" / "work"
BEFORE_CODE = WORK / "base"
BEFORE_COMMIT = "e990795"
# shared/ is beside the repository (or beside the folder of worktrees a worktree is in).
DATA = next((p for p in (REPO.parent / "shared", REPO.parent.parent / "shared") if p.exists()), REPO.parent / "shared") / "data"
OUT = REPO / "benchmarks" / "results"
QUESTIONS = {"seed": "What band do OT support workers start on?", "scale": "What does a web developer do?"}

WARM = r"""
import json, random, sys, time
from pathlib import Path
from assistant.metrics import percentile
from assistant.pipeline import Assistant
from assistant.settings import Settings
corpus, index, which, repo = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
t = time.perf_counter()
assistant = Assistant(Settings(corpus_dir=corpus, index_dir=index))
load_s = time.perf_counter() - t
if which == "seed":
    from assistant.evaluate import load_cases
    questions = [c.turns[-1] for c in load_cases(repo / "evals" / "cases.yaml")] * 2
else:  # as benchmarks/bench_ask_scale.py makes them
    covered = sorted(o.name for o in assistant.index.registry.covered)
    templates = ["What does a {t} do?", "What are the main tasks of a {t}?", "What other job titles does a {t} have?",
                 "{t}", "How do I become a {t}?"]
    rng = random.Random(20261202)
    questions = [rng.choice(templates).format(t=name) for name in rng.sample(covered, 100)]
encode = assistant.embedder.encode
for q in questions[:5]:
    assistant.ask(q); encode([q])
ask, enc, answers = [], [], []
for q in questions:
    t = time.perf_counter(); encode([q]); enc.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter(); a = assistant.ask(q); ask.append((time.perf_counter() - t) * 1000)
    answers.append(a.model_dump_json())
import hashlib
print(json.dumps({"asks": len(ask), "load_s": round(load_s, 2), "ask_p50_ms": round(percentile(ask, 50), 1),
                  "ask_p95_ms": round(percentile(ask, 95), 1), "encode_p50_ms": round(percentile(enc, 50), 1),
                  "answers_sha256": hashlib.sha256("\n".join(answers).encode()).hexdigest()}))
"""

# Where a one-shot ask's time goes: the calls `careers-assistant ask` makes, timed one by one in a fresh process.
STAGES = r"""
import json, resource, sys, time
t0 = time.perf_counter()
marks = {}
def mark(name):
    global t0
    now = time.perf_counter(); marks[name] = round((now - t0) * 1000, 1); t0 = now
from pathlib import Path
from assistant.cli import main
from assistant.pipeline import Assistant
from assistant.render import as_text
from assistant.settings import Settings
mark("imports")
from assistant.embedding import embedder_name, make_embedder
from assistant.index import load_index
settings = Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]))
index = load_index(settings, embedder_name(settings.embedder))
mark("index load")
embedder = make_embedder(settings.embedder, query_encoder=settings.query_encoder)
mark("model load")
assistant = Assistant(settings, embedder=embedder, index=index)
mark("retriever set-up")
as_text(assistant.ask(sys.argv[3]))
mark("first answer")
marks["peak RSS MiB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(marks))
"""


def code_dir(version: str) -> Path:
    return BEFORE_CODE if version == "before" else REPO


def env_for(version: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(code_dir(version)), "HF_HUB_OFFLINE": "1"}


def timed_child(cmd: list[str], version: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS MiB of the child itself, and its standard output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=code_dir(version), env=env_for(version), stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - t
        out.seek(0), err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{' '.join(cmd)} ({version}) failed:\n{err.read()[-3000:]}")
        return elapsed, usage.ru_maxrss / 1024, out.read()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_ready(corpus: Path, index: Path, version: str) -> float:
    """Seconds from starting `serve` to the first 200 from /health; the server is then stopped by its PID."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**env_for(version), "CAREERS_DATABASE_URL": f"sqlite+aiosqlite:///{data}/db.sqlite3",
               "CAREERS_SPOOL_DIR": f"{data}/spool"}
        t = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port), "--corpus", str(corpus),
                                  "--index", str(index)], cwd=code_dir(version), env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while time.perf_counter() - t < 120:
                if child.poll() is not None:
                    raise SystemExit(f"serve ({version}) exited with {child.returncode}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                        if r.status == 200:
                            return time.perf_counter() - t
                except OSError:
                    pass
                time.sleep(0.05)
            raise SystemExit(f"serve ({version}) not ready in 120 s")
        finally:
            child.terminate()
            child.wait(timeout=30)


def prepare(skip_scale: bool) -> dict[str, dict[str, tuple[Path, Path]]]:
    """(corpus, index) for each corpus and version, building what is missing with that version's code."""
    if not BEFORE_CODE.exists():
        BEFORE_CODE.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", BEFORE_COMMIT], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(BEFORE_CODE)], input=archive, check=True)
    seed = REPO / "corpus"
    setups = {"seed": {"before": (seed, WORK / "lazy" / "seed-before"), "after": (seed, WORK / "lazy" / "seed-after")}}
    if not skip_scale:
        corpus = WORK / "scale" / "corpus"
        if not any(corpus.glob("*.md")):
            for name, folder in (("esco", "esco-1.0"), ("onet", "onet-27.0")):
                subprocess.run([sys.executable, "-m", "assistant", "import", name, str(DATA / folder), "--corpus",
                                str(corpus)], cwd=REPO, check=True)
        setups["scale"] = {"before": (corpus, WORK / "scale" / "index-before"), "after": (corpus, WORK / "scale" / "index")}
    for versions in setups.values():
        for version, (corpus, index) in versions.items():
            if version == "after" and not (index / "manifest.json").exists() and (versions["before"][1] / "manifest.json").exists():
                shutil.copytree(versions["before"][1], index)  # its vectors are the after-build's cache
            build = [sys.executable, "-m", "assistant", "build", "--quiet", "--corpus", str(corpus), "--index", str(index)]
            if version == "before" and (index / "manifest.json").exists():
                continue  # the old code's index never changes
            seconds, _, _ = timed_child(build, version)
            print(f"{version} build of {index.relative_to(REPO)}: {seconds:.1f} s", flush=True)
    return setups


def measure(name: str, versions: dict[str, tuple[Path, Path]], runs: int) -> dict:
    result: dict = {v: {"one_shot_s": [], "one_shot_rss_mib": [], "serve_ready_s": []} for v in versions}
    question = QUESTIONS[name]
    for _ in range(runs):
        for version, (corpus, index) in versions.items():
            seconds, rss, _ = timed_child([sys.executable, "-m", "assistant", "ask", question, "--corpus", str(corpus),
                                           "--index", str(index)], version)
            result[version]["one_shot_s"].append(round(seconds, 3))
            result[version]["one_shot_rss_mib"].append(round(rss, 1))
    for _ in range(3):
        for version, (corpus, index) in versions.items():
            result[version]["serve_ready_s"].append(round(serve_ready(corpus, index, version), 2))
    for version, (corpus, index) in versions.items():
        stages = [json.loads(timed_child([sys.executable, "-c", STAGES, str(corpus), str(index), question], version)[2]
                             .strip().splitlines()[-1]) for _ in range(3)]
        result[version]["stages_ms"] = {k: round(statistics.median(s[k] for s in stages), 1) for k in stages[0]}
    for version, (corpus, index) in versions.items():
        _, rss, out = timed_child([sys.executable, "-c", WARM, str(corpus), str(index), name, str(code_dir(version))],
                                  version)
        result[version]["warm"] = {**json.loads(out.strip().splitlines()[-1]), "peak_rss_mib": round(rss, 1)}
        for key in ("one_shot_s", "one_shot_rss_mib", "serve_ready_s"):
            result[version][key + "_median"] = round(statistics.median(result[version][key]), 3)
    print(name, json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    setups = prepare(args.skip_scale)
    result = {"before_commit": BEFORE_COMMIT, "cpus": os.cpu_count(), "runs": args.runs, "questions": QUESTIONS,
              "corpora": {name: measure(name, versions, args.runs) for name, versions in setups.items()}}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "lazy_index.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (OUT / "lazy_index.md").write_text(markdown(result, args) + "\n", encoding="utf-8")
    print(markdown(result, args))


def markdown(result: dict, args) -> str:
    md = ["# The lazily read index, before and after", "",
          f"`python benchmarks/bench_lazy_index.py --runs {args.runs}` on {result['cpus']} shared CPUs; before = commit "
          f"{result['before_commit']} with its own index, after = this code with its own; one-shot question: "
          + "; ".join(f"*{q}* ({n})" for n, q in result["questions"].items()), ""]
    for name, r in result["corpora"].items():
        b, a = r["before"], r["after"]
        same = "identical" if b["warm"]["answers_sha256"] == a["warm"]["answers_sha256"] else "DIFFERENT"
        md += [f"## {'seed corpus (corpus/)' if name == 'seed' else 'ESCO + O*NET (benchmarks/work/scale)'}", "",
               "| measure | before | after |", "|---|---|---|",
               f"| one-shot `ask` wall time, median of {args.runs} | {b['one_shot_s_median']} s | {a['one_shot_s_median']} s |",
               f"| one-shot `ask` peak RSS, median | {b['one_shot_rss_mib_median']} MiB | {a['one_shot_rss_mib_median']} MiB |",
               f"| `serve` until /health answers, median of 3 | {b['serve_ready_s_median']} s | {a['serve_ready_s_median']} s |",
               f"| warm `ask` p50 / p95 ({a['warm']['asks']} asks) | {b['warm']['ask_p50_ms']} / {b['warm']['ask_p95_ms']} ms | "
               f"{a['warm']['ask_p50_ms']} / {a['warm']['ask_p95_ms']} ms |",
               f"| bare query encode p50, same loop | {b['warm']['encode_p50_ms']} ms | {a['warm']['encode_p50_ms']} ms |",
               f"| warm ask p50 ÷ bare encode p50 | {b['warm']['ask_p50_ms'] / b['warm']['encode_p50_ms']:.2f} | "
               f"{a['warm']['ask_p50_ms'] / a['warm']['encode_p50_ms']:.2f} |",
               f"| load (index + model) in the warm process | {b['warm']['load_s']} s | {a['warm']['load_s']} s |",
               f"| warm process peak RSS | {b['warm']['peak_rss_mib']} MiB | {a['warm']['peak_rss_mib']} MiB |"]
        md += [f"| one-shot in stages (fresh process, median of 3): {k} | {b['stages_ms'][k]}{'' if 'MiB' in k else ' ms'} | "
               f"{a['stages_ms'][k]}{'' if 'MiB' in k else ' ms'} |" for k in a["stages_ms"]]
        md += ["",
               f"The warm answers of before and after (JSON of every answer, sha256): {same}.", ""]
    return "\n".join(md)


if __name__ == "__main__":
    main()
