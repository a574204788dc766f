"""Occupation resolution: from a job title someone types to the right occupation, ESCO and O*NET.

    python benchmarks/bench_occupations.py

Each taxonomy is imported with `careers-assistant import ... --fields description` (title and
description only: no alternative, alternate or reported titles, no tasks, so the answers are not in the
index) and built by the product's build into its own index in benchmarks/work/occupations/. Queries:
- O*NET: reported job titles (sample-of-reported-titles.txt) -> their O*NET-SOC occupation;
- ESCO: alternative labels (altLabels) -> the occupation that lists them.
A frozen random sample (seed 20261123, drawn from the sorted distinct titles before anything was run)
of 1,000 titles per taxonomy. A title listed under several occupations is ambiguous: any of them counts
as right (their number is reported); an ESCO label that is another occupation's preferred label makes
that occupation right too. Accuracy@1 and @5 over occupations (an occupation's score is its best
passage's), for BM25 alone, dense alone and the product's hybrid fusion.
Writes benchmarks/results/occupations.{json,md}.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.index import load_index  # noqa: E402
from assistant.retrieval import Retriever  # noqa: E402
from assistant.settings import Settings  # noqa: E402

DATA = REPO.parent / "shared" / "data"
WORK = REPO / "benchmarks" / "work" / "occupations"
OUT = REPO / "benchmarks" / "results"
SEED = 20261123
SAMPLE = 1000


def norm(title: str) -> str:
    return " ".join(title.lower().split())


def onet_queries() -> dict[str, set[str]]:
    gold: dict[str, set[str]] = {}
    with (DATA / "onet-27.0" / "sample-of-reported-titles.txt").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            gold.setdefault(norm(r["Reported Job Title"]), set()).add("onet-" + r["O*NET-SOC Code"].replace(".", "-"))
    return gold


def esco_queries() -> dict[str, set[str]]:
    gold: dict[str, set[str]] = {}
    preferred: dict[str, set[str]] = {}
    with (DATA / "esco-1.0" / "occupations_en.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if not (r["description"] or "").strip():
                continue
            doc = "esco-" + r["conceptUri"].rstrip("/").rsplit("/", 1)[-1]
            preferred.setdefault(norm(r["preferredLabel"]), set()).add(doc)
            for alt in (r["altLabels"] or "").split("\n"):
                if alt.strip() and norm(alt) != norm(r["preferredLabel"]):
                    gold.setdefault(norm(alt), set()).add(doc)
    for label, docs in gold.items():
        docs |= preferred.get(label, set())
    return gold


def sample(gold: dict[str, set[str]]) -> list[tuple[str, set[str]]]:
    titles = random.Random(SEED).sample(sorted(gold), SAMPLE)
    return [(t, gold[t]) for t in titles]


def ensure_index(name: str) -> Path:
    corpus, index = WORK / name / "corpus", WORK / name / "index"
    if not (index / "manifest.json").exists():
        source = DATA / ("esco-1.0" if name == "esco" else "onet-27.0")
        for cmd in (["import", name, str(source), "--fields", "description", "--corpus", str(corpus)],
                    ["build", "--quiet", "--corpus", str(corpus), "--index", str(index)]):
            subprocess.run([sys.executable, "-m", "assistant", *cmd], cwd=REPO, check=True)
    return index


def evaluate(name: str, queries: list[tuple[str, set[str]]], settings_overrides: dict) -> dict:
    from assistant.fastencode import NumpyMiniLM

    index_dir = ensure_index(name)
    settings = Settings(corpus_dir=WORK / name / "corpus", index_dir=index_dir, **settings_overrides)
    embedder = NumpyMiniLM()
    index = load_index(settings, embedder.name)
    retriever = Retriever(index, embedder, settings)
    vectors = embedder.encode([q for q, _ in queries], batch_size=64)
    depth = settings.candidates
    results = {"bm25": [], "dense": [], "hybrid": []}
    for (text, gold), vector in zip(queries, vectors):
        dense, lexical = retriever.dense(vector, depth), retriever.lexical(text, depth)
        for method, scores in (("bm25", lexical), ("dense", dense), ("hybrid", retriever.fused(dense, lexical))):
            best: dict[str, float] = {}
            for row, score in scores.items():
                doc = index.chunks[row].doc_id
                best[doc] = max(best.get(doc, -np.inf), score)
            ranked = sorted(best, key=lambda d: (-best[d], d))
            results[method].append((bool(ranked[:1] and ranked[0] in gold), bool(set(ranked[:5]) & gold)))
    return {"occupations": index.manifest.document_count, "passages": index.manifest.chunk_count,
            "queries": len(queries), "ambiguous": sum(len(g) > 1 for _, g in queries),
            "methods": {m: {"acc@1": round(float(np.mean([a for a, _ in r])), 3),
                            "acc@5": round(float(np.mean([b for _, b in r])), 3)} for m, r in results.items()},
            "settings": {"fusion": settings.fusion, "dense_weight": settings.dense_weight, "candidates": depth},
            "examples": [(q, sorted(g)) for q, g in queries[:5]]}


def main() -> None:
    overrides = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    result = {"seed": SEED, "sample": SAMPLE,
              "onet": evaluate("onet", sample(onet_queries()), overrides),
              "esco": evaluate("esco", sample(esco_queries()), overrides)}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "occupations.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = ["# Occupation resolution (title -> occupation)", "",
          "`python benchmarks/bench_occupations.py` — index: title + description only; "
          f"queries: a frozen sample of {SAMPLE} titles per taxonomy (seed {SEED}); ambiguous titles count any "
          "of their occupations as right.", "",
          "| queries -> index | occupations | ambiguous queries | method | accuracy@1 | accuracy@5 |",
          "|---|---|---|---|---|---|"]
    for key, label in (("onet", "O*NET reported titles -> O*NET 27.0"), ("esco", "ESCO alternative labels -> ESCO v1")):
        r = result[key]
        for method, m in r["methods"].items():
            md.append(f"| {label} | {r['occupations']:,} | {r['ambiguous']} | {method} | {m['acc@1']:.3f} | "
                      f"{m['acc@5']:.3f} |")
    s = result["onet"]["settings"]
    md += ["", f"Hybrid: {s['fusion']}, dense weight {s['dense_weight']}, {s['candidates']} passages per list "
           "(the product's settings)."]
    (OUT / "occupations.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
