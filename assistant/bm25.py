"""Okapi BM25 with Lucene's idf, scored eagerly: each term's postings hold final per-chunk weights.

Saved as plain files: vocab.json (term list; row t of indptr belongs to vocab[t]), and
indptr.npy, rows.npy, weights.npy (CSR by term: postings of term t are rows[indptr[t]:indptr[t+1]]).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
from pydantic import BaseModel


class BM25Params(BaseModel):
    k1: float = 0.9  # Anserini's defaults, which the published BEIR BM25 figures use
    b: float = 0.4
    documents: int = 0
    average_length: float = 0.0


class BM25Index:
    def __init__(self, vocab: list[str], indptr: np.ndarray, rows: np.ndarray, weights: np.ndarray,
                 params: BM25Params) -> None:
        self.vocab = vocab
        self.term_id = {t: i for i, t in enumerate(vocab)}
        self.indptr, self.rows, self.weights, self.params = indptr, rows, weights, params

    @classmethod
    def build(cls, docs: list[list[str]], k1: float = 0.9, b: float = 0.4) -> "BM25Index":
        n = len(docs)
        lengths = np.array([len(d) for d in docs], dtype=np.float64)
        avg = float(lengths.mean()) if n else 0.0
        postings: dict[str, list[tuple[int, int]]] = {}
        for row, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                postings.setdefault(term, []).append((row, tf))
        vocab = sorted(postings)
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        rows_out, weights_out = [], []
        for t, term in enumerate(vocab):
            plist = postings[term]
            idf = math.log(1 + (n - len(plist) + 0.5) / (len(plist) + 0.5))
            for row, tf in plist:
                norm = k1 * (1 - b + b * lengths[row] / avg) if avg else k1
                rows_out.append(row)
                weights_out.append(idf * tf / (tf + norm))
            indptr[t + 1] = len(rows_out)
        params = BM25Params(k1=k1, b=b, documents=n, average_length=avg)
        return cls(vocab, indptr, np.array(rows_out, dtype=np.int32), np.array(weights_out, dtype=np.float32), params)

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk; a term repeated in the query counts again, as in Lucene."""
        out = np.zeros(self.params.documents, dtype=np.float32)
        for term in query_terms:
            t = self.term_id.get(term)
            if t is not None:
                s, e = self.indptr[t], self.indptr[t + 1]
                out[self.rows[s:e]] += self.weights[s:e]
        return out

    def rows_with(self, term: str) -> np.ndarray:
        """The rows whose text holds this (stemmed) term."""
        t = self.term_id.get(term)
        return self.rows[self.indptr[t]:self.indptr[t + 1]] if t is not None else np.array([], dtype=np.int32)

    def search(self, query_terms: list[str], k: int,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows with a positive score, best first (ties broken by row); only among `rows` when
        given, so a filter never empties a list that has matches inside it."""
        scores = self.scores(query_terms)
        if rows is not None:
            keep = np.zeros(scores.shape, dtype=bool)
            keep[rows] = True
            scores = np.where(keep, scores, 0)
        positive = np.flatnonzero(scores > 0)
        if positive.size == 0:
            return np.array([], dtype=np.int64), np.array([], dtype=np.float32)
        order = np.lexsort((positive, -scores[positive]))[:k]
        top = positive[order]
        return top, scores[top]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.json").write_text(json.dumps(self.vocab), encoding="utf-8")
        (folder / "params.json").write_text(self.params.model_dump_json(indent=2), encoding="utf-8")
        np.save(folder / "indptr.npy", self.indptr)
        np.save(folder / "rows.npy", self.rows)
        np.save(folder / "weights.npy", self.weights)

    @classmethod
    def load(cls, folder: Path) -> "BM25Index":
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        params = BM25Params.model_validate_json((folder / "params.json").read_text(encoding="utf-8"))
        indptr = np.load(folder / "indptr.npy")
        rows, weights = np.load(folder / "rows.npy"), np.load(folder / "weights.npy")
        if len(indptr) != len(vocab) + 1 or len(rows) != len(weights) or int(indptr[-1]) != len(rows):
            raise ValueError("BM25 files do not agree with each other")
        return cls(vocab, indptr, rows, weights, params)
