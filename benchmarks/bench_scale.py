"""A careers corpus at scale: ESCO + O*NET imported, built and queried with the product's own commands.

    python benchmarks/bench_scale.py                 # import, build, measure (about 20 min on 2 CPUs)
    python benchmarks/bench_scale.py --skip-build    # re-measure an existing build in benchmarks/work/

1. `careers-assistant import esco|onet` into benchmarks/work/careers/corpus (one page per occupation:
   description, tasks, alternative titles; every task and title a passage of its own).
2. `careers-assistant build` in a child process: wall time, peak memory (max RSS), index size on disk.
3. The bare model encode (sentence-transformers, same batch size) of the very same passage texts, in a
   fresh child process: passages per second, and the ratio build throughput / encode throughput.
4. FAISS index types on the built vectors: recall@10 against exact search and single-query latency for
   IndexFlatIP, IndexHNSWFlat (M, efSearch) and IndexIVFFlat (nlist, nprobe), with real title queries.
5. `ask` latency on the big index, warm (retrieval alone and end to end), and one-shot in a fresh process.
Writes benchmarks/results/scale.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.metrics import percentile  # noqa: E402

DATA = REPO.parent / "shared" / "data"
WORK = REPO / "benchmarks" / "work" / "careers"
OUT = REPO / "benchmarks" / "results"
CLI = [sys.executable, "-m", "assistant"]
SEED = 20261123


LAST_PEAK_MIB = 0.0


def run(cmd: list[str], **env) -> tuple[float, str]:
    """Wall time and standard output of a child process; its own peak RSS goes to LAST_PEAK_MIB."""
    global LAST_PEAK_MIB
    import tempfile

    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out_f, tempfile.TemporaryFile("w+") as err_f:
        child = subprocess.Popen(cmd, cwd=REPO, stdout=out_f, stderr=err_f, text=True, env={**os.environ, **env})
        _, status, usage = os.wait4(child.pid, 0)  # reaped here, so its own rusage is ours to read
        child.returncode = os.waitstatus_to_exitcode(status)
        out_f.seek(0), err_f.seek(0)
        out, err = out_f.read(), err_f.read()
    elapsed = time.perf_counter() - t
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    LAST_PEAK_MIB = usage.ru_maxrss / 1024
    return elapsed, out


def folder_size(folder: Path) -> dict[str, int]:
    sizes = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            sizes[str(p.relative_to(folder))] = p.stat().st_size
    return sizes


ENCODE_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from assistant.embedding import MiniLMEmbedder
texts = [json.loads(l)["embed_text"] for l in open(sys.argv[2], encoding="utf-8")]
e = MiniLMEmbedder()
t = time.perf_counter()
e.encode(texts, batch_size=int(sys.argv[3]))
print(json.dumps({"texts": len(texts), "seconds": time.perf_counter() - t}))
"""


def faiss_comparison(index_dir: Path, queries: np.ndarray) -> list[dict]:
    import faiss

    from assistant.index import load_index  # noqa: F401  (same faiss build the product uses)

    stored = faiss.read_index(str(index_dir / "vectors.faiss"))
    xb = np.asarray(stored.reconstruct_n(0, stored.ntotal), dtype=np.float32)
    n, d = xb.shape
    k = 10
    exact = faiss.IndexFlatIP(d)
    exact.add(xb)
    _, truth = exact.search(queries, k)

    def measure(name: str, index, params: dict, build_s: float) -> dict:
        _, found = index.search(queries, k)  # batch, for recall
        recall = float(np.mean([len(set(found[i]) & set(truth[i])) / k for i in range(len(queries))]))
        times = []
        for q in queries[:300]:  # one question at a time, as `ask` searches
            t = time.perf_counter()
            index.search(q.reshape(1, -1), k)
            times.append((time.perf_counter() - t) * 1000)
        path = WORK / "faiss-probe.index"
        faiss.write_index(index, str(path))
        size = path.stat().st_size
        path.unlink()
        return {"index": name, **params, "recall@10": round(recall, 4), "p50_ms": round(percentile(times, 50), 3),
                "p95_ms": round(percentile(times, 95), 3), "build_s": round(build_s, 1), "size_mb": round(size / 2**20, 1)}

    rows = [measure("IndexFlatIP", exact, {}, 0.0)]
    for m in (16, 32):
        t = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(d, m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 80
        hnsw.add(xb)
        build_s = time.perf_counter() - t
        for ef in (16, 32, 64, 128, 256):
            hnsw.hnsw.efSearch = ef
            rows.append(measure("IndexHNSWFlat", hnsw, {"M": m, "efConstruction": 80, "efSearch": ef}, build_s))
    nlist = int(4 * np.sqrt(n))
    t = time.perf_counter()
    quantizer = faiss.IndexFlatIP(d)
    ivf = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(xb)
    ivf.add(xb)
    build_s = time.perf_counter() - t
    for nprobe in (1, 4, 16, 32, 64):
        ivf.nprobe = nprobe
        rows.append(measure("IndexIVFFlat", ivf, {"nlist": nlist, "nprobe": nprobe}, build_s))
    return rows


def title_queries(count: int) -> list[str]:
    """Real job titles people type: O*NET reported titles and ESCO alternative labels, sampled with a seed."""
    import csv

    titles = []
    with (DATA / "onet-27.0" / "sample-of-reported-titles.txt").open(encoding="utf-8") as fh:
        titles += [r["Reported Job Title"] for r in csv.DictReader(fh, delimiter="\t")]
    with (DATA / "esco-1.0" / "occupations_en.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            titles += [a for a in (r["altLabels"] or "").split("\n") if a.strip()]
    return random.Random(SEED).sample(sorted(set(titles)), count)


QUESTION_TEMPLATES = ["What does a {t} do?", "What are the main tasks of a {t}?", "What other job titles does a {t} have?",
                      "{t}", "How do I become a {t}?"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--questions", type=int, default=100)
    args = parser.parse_args()
    corpus, index_dir = WORK / "corpus", WORK / "index"
    result: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}

    # Each long stage's figures are kept in benchmarks/work/ as soon as measured, so a run that stops
    # later resumes without rebuilding; --skip-build reuses them.
    stages = WORK / "stages.json"
    done = json.loads(stages.read_text(encoding="utf-8")) if args.skip_build and stages.exists() else {}

    def keep(key: str, value) -> None:
        result[key] = done[key] = value
        stages.write_text(json.dumps(done, indent=2), encoding="utf-8")
        print(key, value, flush=True)

    if "build" not in done:
        import shutil

        shutil.rmtree(corpus, ignore_errors=True)
        s1, out1 = run(CLI + ["import", "esco", str(DATA / "esco-1.0"), "--corpus", str(corpus)])
        s2, out2 = run(CLI + ["import", "onet", str(DATA / "onet-27.0"), "--corpus", str(corpus)])
        keep("import", {"seconds": round(s1 + s2, 1), "esco": out1.strip(), "onet": out2.strip()})
        build_s, out = run(CLI + ["build", "--quiet", "--corpus", str(corpus), "--index", str(index_dir)])
        keep("build", {"seconds": round(build_s, 1), "peak_rss_mib": round(LAST_PEAK_MIB, 0),
                       "output": out.strip()})
    else:
        result.update({k: done[k] for k in ("import", "build", "earlier_builds") if k in done})
    if "bare_encode" not in done:
        _, enc_out = run([sys.executable, "-c", ENCODE_CHILD, str(REPO), str(index_dir / "chunks.jsonl"), "32"])
        keep("bare_encode", json.loads(enc_out.strip().splitlines()[-1]))
    else:
        result["bare_encode"] = done["bare_encode"]

    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    passages = manifest["chunk_count"]
    result["index"] = {"documents": manifest["document_count"], "passages": passages,
                       "sentences": manifest["sentence_count"], "faiss_index": manifest["faiss_index"],
                       "faiss_params": manifest.get("faiss_params", {}),
                       "sentence_vectors": manifest.get("sentence_vectors", True),
                       "build_seconds_in_manifest": manifest["build_seconds"]}
    sizes = folder_size(index_dir)
    result["disk"] = {"total_mb": round(sum(sizes.values()) / 2**20, 1),
                      "files_mb": {k: round(v / 2**20, 1) for k, v in sizes.items() if v > 2**20}}
    if "build" in result and "bare_encode" in result:
        build_rate = passages / result["build"]["seconds"]
        enc_rate = result["bare_encode"]["texts"] / result["bare_encode"]["seconds"]
        result["throughput"] = {"build_passages_per_s": round(build_rate, 1),
                                "bare_encode_passages_per_s": round(enc_rate, 1),
                                "ratio_build_to_encode": round(build_rate / enc_rate, 3)}

    # FAISS choice, with real title queries encoded by the product's query encoder.
    from assistant.fastencode import NumpyMiniLM

    encoder = NumpyMiniLM()
    queries = encoder.encode(title_queries(1000), batch_size=64)
    result["faiss"] = faiss_comparison(index_dir, queries)
    for row in result["faiss"]:
        print(row, flush=True)

    # ask on the big index: warm, retrieval alone and end to end.
    from assistant.pipeline import Assistant
    from assistant.query import plan
    from assistant.settings import Settings

    settings = Settings(corpus_dir=corpus, index_dir=index_dir)
    t = time.perf_counter()
    assistant = Assistant(settings)
    load_s = time.perf_counter() - t
    rng = random.Random(SEED + 1)
    titles = title_queries(args.questions)
    questions = [rng.choice(QUESTION_TEMPLATES).format(t=t) for t in titles]
    for q in questions[:5]:
        assistant.ask(q)
    retrieval_ms, ask_ms, encode_ms, abstained = [], [], [], 0
    for q in questions:
        t = time.perf_counter()
        encoder.encode([q])
        encode_ms.append((time.perf_counter() - t) * 1000)
        query = plan(q, [], assistant.retriever.speller, assistant.retriever.publishers)
        t = time.perf_counter()
        assistant.retriever.search(query, settings.evidence_chunks)
        retrieval_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        abstained += assistant.ask(q).abstained
        ask_ms.append((time.perf_counter() - t) * 1000)
    result["ask"] = {
        "questions": len(questions), "assistant_load_s": round(load_s, 2),
        "retrieval_ms": {"p50": round(percentile(retrieval_ms, 50), 1), "p95": round(percentile(retrieval_ms, 95), 1)},
        "end_to_end_ms": {"p50": round(percentile(ask_ms, 50), 1), "p95": round(percentile(ask_ms, 95), 1)},
        "query_encode_ms": {"p50": round(percentile(encode_ms, 50), 1), "p95": round(percentile(encode_ms, 95), 1)},
        "abstained": abstained, "examples": questions[:5],
    }
    print(result["ask"], flush=True)
    oneshot, peaks = [], []
    for q in questions[:3]:
        s, _ = run(CLI + ["ask", "--corpus", str(corpus), "--index", str(index_dir), q])
        oneshot.append(s)
        peaks.append(LAST_PEAK_MIB)
    result["ask"]["one_shot_s"] = {"median": round(statistics.median(oneshot), 2), "runs": [round(s, 2) for s in oneshot],
                                   "peak_rss_mib": round(max(peaks), 0)}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "scale.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    write_markdown(result)


def write_markdown(r: dict) -> None:
    a, i = r["ask"], r["index"]
    md = ["# Careers corpus at scale (ESCO + O*NET)", "",
          f"`python benchmarks/bench_scale.py` on {r['machine']['cpus']} CPUs, Python {r['machine']['python']}.", "",
          "| measure | value |", "|---|---|",
          f"| corpus | {i['documents']:,} occupation pages, {i['passages']:,} passages, {i['sentences']:,} sentences |"]
    if "import" in r:
        md.append(f"| import (both taxonomies) | {r['import']['seconds']} s |")
    if "build" in r:
        md += [f"| build (`careers-assistant build`, child process) | {r['build']['seconds']} s, "
               f"peak RSS {r['build']['peak_rss_mib']:.0f} MiB |"]
    for e in r.get("earlier_builds", []):
        md.append(f"| earlier build of the same texts ({e['note']}) | {e['seconds']} s, "
                  f"{round(i['passages'] / e['seconds'], 1)} passages/s, "
                  f"{round(i['passages'] / e['seconds'] / (r['bare_encode']['texts'] / r['bare_encode']['seconds']), 3)}"
                  " of bare encode |")
    if "throughput" in r:
        t = r["throughput"]
        md += [f"| build throughput | {t['build_passages_per_s']} passages/s |",
               f"| bare model encode of the same texts (sentence-transformers, batch 32) | "
               f"{t['bare_encode_passages_per_s']} passages/s |",
               f"| build ÷ bare encode throughput | {t['ratio_build_to_encode']} |"]
    md += [f"| FAISS index built | {i['faiss_index']} {i['faiss_params'] or ''} |",
           f"| sentence vectors | {'stored' if i['sentence_vectors'] else 'encoded on demand (too many to store)'} |",
           f"| index on disk | {r['disk']['total_mb']} MB ({', '.join(f'{k} {v}' for k, v in r['disk']['files_mb'].items())}) |",
           f"| assistant load (warm process) | {a['assistant_load_s']} s |",
           f"| retrieval p50 / p95 ({a['questions']} questions) | {a['retrieval_ms']['p50']} / {a['retrieval_ms']['p95']} ms |",
           f"| ask end to end p50 / p95 | {a['end_to_end_ms']['p50']} / {a['end_to_end_ms']['p95']} ms |",
           f"| bare query encode p50 (numpy MiniLM) | {a['query_encode_ms']['p50']} ms |",
           f"| one-shot `careers-assistant ask` (fresh process) | {a['one_shot_s']['median']} s median, "
           f"peak RSS {a['one_shot_s']['peak_rss_mib']:.0f} MiB |", "",
           "## FAISS index type: recall@10 against exact search, single-query latency", "",
           "1,000 real job titles (O*NET reported titles, ESCO alternative labels; seed "
           f"{SEED}) encoded by the query encoder, searched over all {i['passages']:,} passage vectors.", "",
           "| index | parameters | recall@10 vs exact | p50 ms | p95 ms | build s | size MB |", "|---|---|---|---|---|---|---|"]
    for row in r["faiss"]:
        params = ", ".join(f"{k}={v}" for k, v in row.items()
                           if k in ("M", "efConstruction", "efSearch", "nlist", "nprobe"))
        md.append(f"| {row['index']} | {params} | {row['recall@10']:.4f} | {row['p50_ms']} | {row['p95_ms']} | "
                  f"{row['build_s']} | {row['size_mb']} |")
    (OUT / "scale.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
