"""BEIR SciFact with the product's own retrieval: BM25 alone, dense alone and hybrid, beside the published numbers.

    python benchmarks/bench_scifact.py            # build once (cached), tune on train, report on test
    python benchmarks/bench_scifact.py --rebuild  # rebuild the index from scratch

Every document (`title` + `text`) is written as one corpus file with a front-matter header and goes
through the product's path: corpus.py (cleaning), chunking.py (passages within the model's window, the
title embedded with each), embedding.py (all-MiniLM-L6-v2), bm25.py + text.py, index.py (FAISS), and
retrieval.py's Retriever (dense, lexical, fused). A document's score is its best passage's score.
Sentence vectors are left out of this build (nothing here quotes sentences).

Measures are computed by pytrec_eval (`pip install -e '.[bench]'`): nDCG@10 and Recall@100 over the 300
test claims. Fusion parameters are tuned on the train claims (qrels/train.tsv) and only reported on test.
Writes benchmarks/results/scifact.{json,md}; the index and query vectors are cached in benchmarks/work/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.bm25 import BM25Index  # noqa: E402
from assistant.index import build_index, load_index  # noqa: E402
from assistant.retrieval import Retriever, fuse_minmax, fuse_rrf  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.text import terms  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "scifact"
WORK = REPO / "benchmarks" / "work" / "scifact"
OUT = REPO / "benchmarks" / "results"
DEPTH = 1000
LUCENE_STOP = frozenset("""a an and are as at be but by for if in into is it no not of on or such that the their then
there these they this to was will with""".split())  # passages taken from each list before fusing and grouping into documents

PUBLISHED = [
    ("BM25 (Anserini, multifield)", 0.665, 0.908, "pyserini 2cr/beir.yaml"),
    ("BM25 (Anserini, flat)", 0.679, 0.925, "pyserini 2cr/beir.yaml"),
    ("all-MiniLM-L6-v2 (dense, cosine)", 0.645, 0.925, "MTEB paper results"),
    ("bge-small-en-v1.5 (dense)", 0.713, 0.942, "model card"),
    ("BM25 + bge-base, reciprocal rank fusion", 0.742, 0.977, "pyserini BEIR fusion experiments"),
]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        qid, did, score = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(score)
    return qrels


def write_corpus(folder: Path, docs: list[dict]) -> None:
    """One markdown file per abstract: the title in the header (the product embeds it with every
    passage, as `title` newline `text`), the abstract as the page."""
    folder.mkdir(parents=True, exist_ok=True)
    for d in docs:
        header = yaml.safe_dump({"id": f"d{d['_id']}", "title": d["title"] or d["_id"], "publisher": "SciFact",
                                 "licence": "ODC-By 1.0 (abstracts), evaluation only"},
                                allow_unicode=True, sort_keys=False, width=10_000)
        body = d["text"].strip() or d["title"]
        (folder / f"{d['_id']}.md").write_text(f"---\n{header}---\n{body}\n", encoding="utf-8")


def measures(run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    import pytrec_eval

    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"})
    per_query = evaluator.evaluate({q: run.get(q, {}) for q in qrels})
    # Queries with nothing retrieved still count (as 0), as in BEIR.
    return {"ndcg@10": float(np.mean([per_query.get(q, {}).get("ndcg_cut_10", 0.0) for q in qrels])),
            "recall@100": float(np.mean([per_query.get(q, {}).get("recall_100", 0.0) for q in qrels]))}


def to_documents(scores: dict[int, float], chunk_doc: list[str], k: int = 100) -> dict[str, float]:
    """Passage scores -> document scores (best passage), top k documents."""
    best: dict[str, float] = {}
    for row, score in scores.items():
        doc = chunk_doc[row]
        if score > best.get(doc, -np.inf):
            best[doc] = score
    top = sorted(best, key=lambda d: (-best[d], d))[:k]
    # pytrec_eval sorts by score; make ties deterministic and distinct without reordering.
    return {d: float(best[d]) - i * 1e-9 for i, d in enumerate(top)}


class Runner:
    def __init__(self, retriever: Retriever, queries: dict[str, str], vectors: dict[str, np.ndarray]) -> None:
        self.retriever = retriever
        self.chunk_doc = [c.doc_id[1:] for c in retriever.index.chunks]  # "d123" -> "123"
        self.dense_lists = {q: retriever.dense(vectors[q], DEPTH) for q in queries}
        self.lexical_lists = {q: retriever.lexical(t, DEPTH) for q, t in queries.items()}

    @staticmethod
    def _top(scores: dict[int, float], n: int) -> dict[int, float]:
        return dict(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n])

    def run(self, qids, method: str, *, weight: float = 0.5, k: int = 60, depth: int = DEPTH):
        out = {}
        for q in qids:
            dense, lexical = self._top(self.dense_lists[q], depth), self._top(self.lexical_lists[q], depth)
            if method == "bm25":
                scores = lexical
            elif method == "dense":
                scores = dense
            elif method == "minmax":
                scores = fuse_minmax(dense, lexical, weight)
            else:
                scores = fuse_rrf(dense, lexical, k)
            out[q] = to_documents(scores, self.chunk_doc)
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    from assistant.embedding import MiniLMEmbedder

    docs = read_jsonl(DATA / "corpus.jsonl")
    corpus_dir, index_dir = WORK / "corpus", WORK / "index"
    if args.rebuild or not corpus_dir.is_dir():
        write_corpus(corpus_dir, docs)
    settings = Settings(corpus_dir=corpus_dir, index_dir=index_dir, embedder="minilm", sentence_vectors="never")
    embedder = MiniLMEmbedder()
    build_s = None
    if args.rebuild or not (index_dir / "manifest.json").exists():
        t = time.perf_counter()
        manifest = build_index(settings, embedder, progress=True)
        build_s = time.perf_counter() - t
        print(f"built {manifest.chunk_count} passages from {manifest.document_count} documents in {build_s:.0f} s",
              flush=True)
    if args.build_only:
        return
    index = load_index(settings, embedder.name)
    retriever = Retriever(index, embedder, settings)

    all_queries = {q["_id"]: q["text"] for q in read_jsonl(DATA / "queries.jsonl")}
    test_q = {q["_id"]: q["text"] for q in read_jsonl(DATA / "queries_test.jsonl")}
    qrels_test, qrels_train = read_qrels(DATA / "qrels" / "test.tsv"), read_qrels(DATA / "qrels" / "train.tsv")
    train_q = {q: all_queries[q] for q in qrels_train if q in all_queries}
    queries = {**train_q, **test_q}
    cache = WORK / "query_vectors.npz"
    key = hashlib.sha256(json.dumps(sorted(queries.items())).encode()).hexdigest()[:16]
    if cache.exists() and str(np.load(cache)["key"]) == key:
        matrix = np.load(cache)["vectors"]
    else:
        matrix = embedder.encode([queries[q] for q in sorted(queries)], batch_size=64)
        np.savez(cache, key=key, vectors=matrix)
    vectors = dict(zip(sorted(queries), matrix))
    runner = Runner(retriever, queries, vectors)

    # Tune on train: method, dense weight or RRF k, and how many passages each list contributes.
    grid = []
    for depth in (50, 100, 200, 500, 1000):
        for w in np.round(np.arange(0.0, 1.0001, 0.05), 2):
            m = measures(runner.run(train_q, "minmax", weight=float(w), depth=depth), qrels_train)
            grid.append({"fusion": "minmax", "depth": depth, "dense_weight": float(w), **m})
        for k in (5, 10, 20, 40, 60, 100):
            m = measures(runner.run(train_q, "rrf", k=k, depth=depth), qrels_train)
            grid.append({"fusion": "rrf", "depth": depth, "rrf_k": k, **m})
    best = max(grid, key=lambda r: (r["ndcg@10"], r["recall@100"]))
    best_rrf = max((r for r in grid if r["fusion"] == "rrf"), key=lambda r: r["ndcg@10"])
    print("best on train:", best, "\nbest RRF on train:", best_rrf, flush=True)

    rows = []
    product = settings  # the product's defaults: min-max, dense weight 0.5, 50 candidates per list

    def add(name, note, run_test, run_train):
        rows.append({"system": name, "note": note, "test": measures(run_test, qrels_test),
                     "train": measures(run_train, qrels_train)})

    add("BM25 (project)", "bm25.py + text.py on passages, best passage per document",
        runner.run(test_q, "bm25"), runner.run(train_q, "bm25"))
    add("dense all-MiniLM-L6-v2 (project)", "FAISS inner product on passages, best passage per document",
        runner.run(test_q, "dense"), runner.run(train_q, "dense"))
    d = product.candidates
    add("hybrid, product defaults", f"min-max, dense weight {product.dense_weight}, {d} passages per list",
        runner.run(test_q, "minmax", weight=product.dense_weight, depth=d),
        runner.run(train_q, "minmax", weight=product.dense_weight, depth=d))
    add("hybrid, product defaults, deeper lists", f"min-max, dense weight {product.dense_weight}, {DEPTH} passages",
        runner.run(test_q, "minmax", weight=product.dense_weight), runner.run(train_q, "minmax",
                                                                             weight=product.dense_weight))
    add("hybrid RRF (k=60)", f"reciprocal rank fusion, {DEPTH} passages per list",
        runner.run(test_q, "rrf", k=60), runner.run(train_q, "rrf", k=60))
    add("hybrid RRF, tuned on train", f"k={best_rrf['rrf_k']}, {best_rrf['depth']} passages per list",
        runner.run(test_q, "rrf", k=best_rrf["rrf_k"], depth=best_rrf["depth"]),
        runner.run(train_q, "rrf", k=best_rrf["rrf_k"], depth=best_rrf["depth"]))
    if best["fusion"] == "minmax":
        params = dict(weight=best["dense_weight"], depth=best["depth"])
        note = f"min-max, dense weight {best['dense_weight']}, {best['depth']} passages per list"
        add("hybrid, tuned on train", note, runner.run(test_q, "minmax", **params),
            runner.run(train_q, "minmax", **params))

    # Diagnostic: the same BM25 code on whole documents (no passages), to separate chunking from scoring.
    whole = BM25Index.build([terms(f"{d['title']} {d['text']}") for d in docs])
    ids = [d["_id"] for d in docs]
    whole_run = {}
    for q, text in test_q.items():
        rows_, scores = whole.search(terms(text), 100)
        whole_run[q] = {ids[r]: float(s) - i * 1e-9 for i, (r, s) in enumerate(zip(rows_, scores))}
    whole_train = {}
    for q, text in train_q.items():
        rows_, scores = whole.search(terms(text), 100)
        whole_train[q] = {ids[r]: float(s) - i * 1e-9 for i, (r, s) in enumerate(zip(rows_, scores))}
    rows.append({"system": "diagnostic: BM25 (project) on whole documents", "note": "same bm25.py, no chunking",
                 "test": measures(whole_run, qrels_test), "train": measures(whole_train, qrels_train)})

    # Diagnostic: the same BM25 code with an analyzer close to Lucene's EnglishAnalyzer (Anserini's):
    # letters and digits kept in one token as StandardTokenizer does ("p53", "h2o"; text.py splits them),
    # possessives dropped, its 33 stop words and the original Porter stemmer.
    import re

    import Stemmer

    porter = Stemmer.Stemmer("porter")
    token = re.compile(r"[^\W_]+(?:[.,'][^\W_]+)*")

    def lucene_terms(text: str) -> list[str]:
        toks = [w[:-2] if w.endswith("'s") else w for w in token.findall(text.lower())]
        return porter.stemWords([w for w in toks if w not in LUCENE_STOP])

    lucene = BM25Index.build([lucene_terms(f"{d['title']} {d['text']}") for d in docs])
    runs = []
    for qs in (test_q, train_q):
        run_ = {}
        for q, text in qs.items():
            rows_, scores = lucene.search(lucene_terms(text), 100)
            run_[q] = {ids[r]: float(s) - i * 1e-9 for i, (r, s) in enumerate(zip(rows_, scores))}
        runs.append(run_)
    rows.append({"system": "diagnostic: BM25 on whole documents, Lucene-like analyzer",
                 "note": "bm25.py; letter+digit tokens kept whole, Lucene's 33 stop words, Porter stemmer",
                 "test": measures(runs[0], qrels_test), "train": measures(runs[1], qrels_train)})

    # Diagnostic: dense with only each document's first passage (title + its first ~200 word pieces),
    # close to MTEB's setting where a document is truncated at the model's 256-token window.
    first = {}
    for row, c in enumerate(index.chunks):
        first.setdefault(c.doc_id, row)
    first_rows = set(first.values())
    runs = []
    for qs in (test_q, train_q):
        runs.append({q: to_documents({r: s for r, s in runner.dense_lists[q].items() if r in first_rows},
                                     runner.chunk_doc) for q in qs})
    rows.append({"system": "diagnostic: dense, first passage of each document only",
                 "note": "about what MTEB's truncation at the model window sees",
                 "test": measures(runs[0], qrels_test), "train": measures(runs[1], qrels_train)})

    manifest = index.manifest
    result = {"corpus": {"documents": manifest.document_count, "passages": manifest.chunk_count,
                         "skipped": len(manifest.skipped), "source_documents": len(docs)},
              "queries": {"test": len(qrels_test), "train": len(train_q)},
              "build_seconds": build_s or manifest.build_seconds, "rows": rows, "best_on_train": best,
              "best_rrf_on_train": best_rrf, "grid": grid,
              "published": [dict(zip(("system", "ndcg@10", "recall@100", "source"), p)) for p in PUBLISHED]}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "scifact.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = ["# BEIR SciFact (test, 300 claims)", "",
          "`python benchmarks/bench_scifact.py` — the product's retrieval code; tuned on train, reported on test.",
          f"Corpus: {len(docs)} abstracts -> {manifest.document_count} documents indexed "
          f"({len(manifest.skipped)} skipped by cleaning), {manifest.chunk_count} passages.", "",
          "| system | nDCG@10 | Recall@100 | train nDCG@10 | notes |", "|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['system']} | {r['test']['ndcg@10']:.3f} | {r['test']['recall@100']:.3f} | "
                  f"{r['train']['ndcg@10']:.3f} | {r['note']} |")
    for name, ndcg, rec, src in PUBLISHED:
        md.append(f"| published: {name} | {ndcg:.3f} | {rec:.3f} | | {src} |")
    (OUT / "scifact.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
