"""Does the server answer on every core? One answer worker vs two, real servers, side by side.

    python benchmarks/bench_workers.py [--rounds 2] [--workers 1,2]

For each round and each worker count (alternating, so both see the same machine), a real
`python -m assistant serve` starts on 127.0.0.1 (benchmarks/load_test.py's OwnServer: scratch folder
and database, rate limits off) with CAREERS_ANSWER_WORKERS set, on the same seed-corpus MiniLM index,
and load_test.py's own clients measure, after its warm-up:
- throughput: 8 concurrent chat sessions (socket.io, as the browser) and 8 concurrent /api/ask clients,
  `--throughput-questions` questions each, back to back: answers/s;
- latency: 20 concurrent sessions of each kind, 10 questions each: p50/p95 (question sent -> answer);
- errors of every kind (apologies, timeouts, HTTP errors, rate limits);
- memory of the server and its workers (VmRSS and PSS, which splits shared pages such as the
  memory-mapped model among the processes that map them), after the warm-up and after the load;
- how busy the machine was: the load average, and the CPU time used by processes other than the
  server, its workers and this script (the cores are shared with other people's jobs).
1 worker answers in the server process, one question at a time, as every server did before the pool.
Writes benchmarks/results/workers.{json,md}; figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import load_test  # noqa: E402

OUT = REPO / "benchmarks" / "results"


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (the workers, multiprocessing's resource tracker)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(c) for c in children.read_text().split()]
            except OSError:
                pass
    return found


def memory(pid: int) -> dict:
    """VmRSS of the server alone, and RSS and PSS summed over the server and its descendants (MiB)."""
    rss = pss = 0
    for p in descendants(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                key, _, value = line.partition(":")
                if key == "Rss":
                    rss += int(value.split()[0])
                elif key == "Pss":
                    pss += int(value.split()[0])
        except OSError:
            pass
    server = load_test.read_memory_kib(pid)["rss_kib"] or 0
    return {"server_rss_mib": round(server / 1024, 1), "total_rss_mib": round(rss / 1024, 1),
            "total_pss_mib": round(pss / 1024, 1), "processes": len(descendants(pid))}


def cpu_seconds(pids: list[int]) -> float:
    return sum(load_test.read_cpu_seconds(p) or 0.0 for p in pids)


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(base: str, mode: str, concurrency: int, questions: int) -> dict:
    level = asyncio.run(load_test.run_level(base, mode, concurrency, questions, 120.0, time.monotonic() + 300,
                                            abandon=False, think=0.0))
    row = level.row()
    return {k: row[k] for k in ("answered", "errors", "error_kinds", "wall_s", "throughput_qps", "p50_ms",
                                "p95_ms", "p99_ms", "max_ms")}


def run_server(index: Path, corpus: Path, workers: int, throughput_questions: int) -> dict:
    server = load_test.OwnServer(index, corpus, "minilm", session_timeout=30,
                                 extra_env={"CAREERS_ANSWER_WORKERS": str(workers)})
    started = time.monotonic()
    try:
        server.wait_ready()
        ready_s = time.monotonic() - started
        load_test.warm_up(server.base)
        pids = descendants(server.pid)
        memory_warm = memory(server.pid)
        loadavg_before = Path("/proc/loadavg").read_text().split()[:3]
        busy0, ours0, me0 = machine_busy_seconds(), cpu_seconds(pids), time.process_time()
        main0 = cpu_seconds([server.pid])
        result = {"workers": workers, "ready_s": round(ready_s, 1), "loadavg_before": " ".join(loadavg_before)}
        for mode in ("chat", "api"):
            result[f"{mode}_c8"] = measure(server.base, mode, 8, throughput_questions)
            result[f"{mode}_c20"] = measure(server.base, mode, 20, 10)
        wall = sum(result[f"{m}_c{c}"]["wall_s"] for m in ("chat", "api") for c in (8, 20))
        pids = descendants(server.pid)  # a replaced worker would be counted from here on
        busy, ours, me = machine_busy_seconds() - busy0, cpu_seconds(pids) - ours0, time.process_time() - me0
        main = cpu_seconds([server.pid]) - main0
        answered = sum(result[f"{m}_c{c}"]["answered"] for m in ("chat", "api") for c in (8, 20))
        result.update(
            # Where an answer's CPU goes: the server process (web, sockets, database, and with one worker
            # the answer itself) and the worker processes; this script's clients run on the same cores.
            cpu_ms_per_answer={"server_process": round(main * 1000 / answered, 1),
                               "workers": round((ours - main) * 1000 / answered, 1),
                               "load_clients": round(me * 1000 / answered, 1)},
            loadavg_after=" ".join(Path("/proc/loadavg").read_text().split()[:3]),
            answered=answered, server_cpu_s=round(ours, 1), client_cpu_s=round(me, 1),
            # What else ran on the machine meanwhile, as a share of the 2 cores' time: the disturbance.
            others_cpu_share=round(max(0.0, busy - ours - me) / (wall * (os.cpu_count() or 1)), 2),
            memory_warm=memory_warm, memory_after=memory(server.pid),
            server_problems=server.problems())
        return result
    finally:
        server.stop()
        server.cleanup()


def median_of(runs: list[dict], key: str, field: str) -> float | None:
    values = [r[key][field] for r in runs if r[key][field] is not None]
    return round(statistics.median(values), 1) if values else None


def summary(runs: list[dict], workers: list[int]) -> dict:
    out = {}
    for w in workers:
        mine = [r for r in runs if r["workers"] == w]
        out[str(w)] = {
            **{f"{m}_c8_qps": median_of(mine, f"{m}_c8", "throughput_qps") for m in ("chat", "api")},
            **{f"{m}_c20_{p}": median_of(mine, f"{m}_c20", f"{p}_ms") for m in ("chat", "api") for p in ("p50", "p95")},
            "errors": sum(r[k]["errors"] for r in mine for k in ("chat_c8", "chat_c20", "api_c8", "api_c20")),
            "server_problems": sum(len(r["server_problems"]) for r in mine),
            "total_rss_mib": round(statistics.median(r["memory_after"]["total_rss_mib"] for r in mine), 1),
            "total_pss_mib": round(statistics.median(r["memory_after"]["total_pss_mib"] for r in mine), 1),
            "server_rss_mib": round(statistics.median(r["memory_after"]["server_rss_mib"] for r in mine), 1),
            "others_cpu_share": [r["others_cpu_share"] for r in mine],
        }
    if "1" in out and "2" in out:
        one, two = out["1"], out["2"]
        out["ratios_2_to_1"] = {f"{m}_c8_qps": round(two[f"{m}_c8_qps"] / one[f"{m}_c8_qps"], 2) for m in ("chat", "api")}
        # Each round's 2-worker server ran right after its 1-worker server: the pair saw the same machine.
        pairs = [(a, b) for a in runs for b in runs if a["round"] == b["round"] and a["workers"] == 1
                 and b["workers"] == 2]
        out["ratios_2_to_1_each_round"] = {
            f"{m}_c8_qps": [round(b[f"{m}_c8"]["throughput_qps"] / a[f"{m}_c8"]["throughput_qps"], 2) for a, b in pairs]
            for m in ("chat", "api")}
    return out


def markdown(report: dict) -> str:
    s, cfg = report["summary"], report["config"]
    workers = [str(w) for w in cfg["workers"]]
    lines = ["# One answer worker vs two", "",
             f"`{cfg['command']}`, {report['started']}, {cfg['cpus']} CPUs shared with other jobs; seed corpus "
             f"({cfg['documents']} documents, {cfg['chunks']} chunks, all-MiniLM-L6-v2); {cfg['rounds']} rounds, "
             "servers alternating; medians over the rounds. Throughput: 8 concurrent sessions of "
             f"{cfg['throughput_questions']} questions each, back to back; latency: 20 concurrent sessions of "
             "10 questions (question sent -> answer received). 1 worker answers in the server process.", "",
             "| measure | " + " | ".join(f"{w} worker{'s' if w != '1' else ''}" for w in workers) + " |",
             "|---|" + "---|" * len(workers)]
    rows = [("chat answers/s, 8 sessions", "chat_c8_qps"), ("API answers/s, 8 clients", "api_c8_qps"),
            ("chat p50 / p95 ms, 20 sessions", ("chat_c20_p50", "chat_c20_p95")),
            ("API p50 / p95 ms, 20 clients", ("api_c20_p50", "api_c20_p95")),
            ("errors (all levels, all rounds)", "errors"), ("server log warnings/errors", "server_problems"),
            ("RSS, server + workers (MiB, after the load)", "total_rss_mib"),
            ("PSS, server + workers (MiB; shared pages split)", "total_pss_mib"),
            ("RSS, server process alone (MiB)", "server_rss_mib"),
            ("CPU share other jobs used meanwhile (each round)", "others_cpu_share")]
    for label, key in rows:
        cells = []
        for w in workers:
            if isinstance(key, tuple):
                cells.append(f"{s[w][key[0]]} / {s[w][key[1]]}")
            else:
                value = s[w][key]
                cells.append(", ".join(map(str, value)) if isinstance(value, list) else str(value))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if "ratios_2_to_1" in s:
        r = s["ratios_2_to_1"]
        each = s["ratios_2_to_1_each_round"]
        lines += ["", f"2 workers ÷ 1 worker, answers/s at concurrency 8 (medians): chat **{r['chat_c8_qps']}**, "
                  f"API **{r['api_c8_qps']}**; each round's pair: chat {', '.join(map(str, each['chat_c8_qps']))}; "
                  f"API {', '.join(map(str, each['api_c8_qps']))}."]
    lines += ["", "Each round:", "",
              "| round | workers | ready s | chat c8 q/s | API c8 q/s | chat c20 p95 | API c20 p95 | errors | "
              "load avg before → after | others' CPU share | CPU ms / answer: server process, workers, clients |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["runs"]:
        errors = sum(r[k]["errors"] for k in ("chat_c8", "chat_c20", "api_c8", "api_c20"))
        cpu = r["cpu_ms_per_answer"]
        lines.append(f"| {r['round']} | {r['workers']} | {r['ready_s']} | {r['chat_c8']['throughput_qps']} | "
                     f"{r['api_c8']['throughput_qps']} | {r['chat_c20']['p95_ms']} | {r['api_c20']['p95_ms']} | "
                     f"{errors} | {r['loadavg_before']} → {r['loadavg_after']} | {r['others_cpu_share']} | "
                     f"{cpu['server_process']}, {cpu['workers']}, {cpu['load_clients']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    parser.add_argument("--throughput-questions", type=int, default=20, help="questions per session at concurrency 8")
    parser.add_argument("--index", help="a built MiniLM index of --corpus (default: build one in a temp folder)")
    parser.add_argument("--corpus", default=str(REPO / "corpus"))
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    corpus = Path(args.corpus)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        index = Path(args.index) if args.index else Path(tmp) / "index"
        if not args.index:
            from assistant.embedding import MiniLMEmbedder
            from assistant.index import build_index
            from assistant.settings import Settings

            build_index(Settings(corpus_dir=corpus, index_dir=index, embedder="minilm"), MiniLMEmbedder())
        manifest = json.loads((index / "manifest.json").read_text())
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        runs = []
        for round_ in range(1, args.rounds + 1):
            for w in workers:
                run = {"round": round_, **run_server(index, corpus, w, args.throughput_questions)}
                runs.append(run)
                print(f"round {round_}, {w} worker(s): chat c8 {run['chat_c8']['throughput_qps']} q/s, API c8 "
                      f"{run['api_c8']['throughput_qps']} q/s, chat c20 p95 {run['chat_c20']['p95_ms']} ms, API c20 "
                      f"p95 {run['api_c20']['p95_ms']} ms, others' CPU {run['others_cpu_share']}, "
                      f"RSS {run['memory_after']['total_rss_mib']} MiB", flush=True)
    report = {"started": started,
              "config": {"command": "python benchmarks/bench_workers.py " + " ".join(sys.argv[1:]),
                         "cpus": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)), "rounds": args.rounds,
                         "workers": workers, "throughput_questions": args.throughput_questions,
                         "documents": manifest["document_count"], "chunks": manifest["chunk_count"]},
              "summary": summary(runs, workers), "runs": runs}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "workers.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "workers.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))
    errors = sum(report["summary"][str(w)]["errors"] for w in workers)
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
