"""Hybrid retrieval: dense (FAISS inner product on unit vectors = cosine) and BM25, fused.

Two fusions are kept because the eval set decides between them (see `careers-assistant eval`):
- "minmax": each list's scores scaled to [0, 1] over its own candidates, then a weighted sum;
- "rrf": reciprocal rank fusion, sum of 1 / (k + rank).
A chunk missing from one list contributes 0 from it.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from .embedding import Embedder
from .filtered import dense_among
from .indexstore import Index
from .models import Hit
from .occupations.names import names_phrase
from .query import QueryPlan, Reader
from .settings import Settings
from .spelling import Speller
from .text import common_words, terms


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a list whose scores are all equal maps to 1 (every candidate tied best)."""
    if scores.size == 0:
        return scores.astype(np.float32)
    lo, hi = float(scores.min()), float(scores.max())
    if hi - lo < 1e-9:
        return np.ones_like(scores, dtype=np.float32)
    return ((scores - lo) / (hi - lo)).astype(np.float32)


def fuse_minmax(dense: dict[int, float], lexical: dict[int, float], dense_weight: float) -> dict[int, float]:
    d_rows, l_rows = list(dense), list(lexical)
    d_norm = dict(zip(d_rows, minmax(np.array([dense[r] for r in d_rows], dtype=np.float32))))
    l_norm = dict(zip(l_rows, minmax(np.array([lexical[r] for r in l_rows], dtype=np.float32))))
    return {r: dense_weight * float(d_norm.get(r, 0.0)) + (1 - dense_weight) * float(l_norm.get(r, 0.0))
            for r in set(d_rows) | set(l_rows)}


def fuse_rrf(dense: dict[int, float], lexical: dict[int, float], k: int) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in (dense, lexical):
        for rank, row in enumerate(sorted(ranking, key=lambda r: (-ranking[r], r)), start=1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (k + rank)
    return fused


def vocabulary(index: Index) -> dict[str, int]:
    """Words a question may use without being "about something the sources don't cover": the corpus's
    words, its pages' titles and publishers and every occupation name's words (index.name_words, counted
    at build time) and everyday question words."""
    counts = dict(index.word_counts)
    for w, n in index.name_words.items():
        counts[w] = counts.get(w, 0) + n
    for w in common_words():
        counts[w] = counts.get(w, 0) + 1
    return counts


class Retrieved(BaseModel):
    """The ranked chunks, and the question's vector (reused to rank the sentences inside them)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    hits: list[Hit]
    query_vector: np.ndarray  # of the whole question, as searched
    topic_vector: np.ndarray  # of the topic (the question less the role's names), or the whole question


class Retriever:
    def __init__(self, index: Index, embedder: Embedder, settings: Settings) -> None:
        self.index, self.embedder, self.settings = index, embedder, settings
        self.speller = Speller(vocabulary(index))
        self.publishers = index.publishers

    def reader(self) -> Reader:
        """What query.plan needs to read a question against this index."""
        index = self.index

        def encode(text: str) -> np.ndarray:
            return self.embedder.encode([text])[0]

        return Reader(registry=index.registry, speller=self.speller, publishers=self.publishers,
                      common_words=common_words(), encode=encode, name_vectors=index.occupation_vectors,
                      threshold=self.settings.occupation_match_threshold, pages_naming=self.pages_naming)

    def pages_naming(self, phrase: str, limit: int = 50) -> list[str]:
        """Pages whose text names the phrase ("emergency care assistants"): BM25's postings give the
        chunks holding every word of it, and the words must stand together there."""
        wanted = terms(phrase)
        if not wanted:
            return []
        rows = None
        for term in wanted:
            found = set(self.index.bm25.rows_with(term))
            rows = found if rows is None else rows & found
            if not rows:
                return []
        docs = [self.index.chunks[r].doc_id for r in sorted(rows) if names_phrase(self.index.chunks[r].text, phrase)]
        return list(dict.fromkeys(docs))[:limit]

    def dense(self, vector: np.ndarray, k: int, rows: np.ndarray | None = None) -> dict[int, float]:
        """Top-k chunks by cosine; only among `rows` when given (see filtered.py)."""
        if rows is not None:
            return dense_among(self.index.vectors, vector, rows, k)
        k = min(k, self.index.vectors.ntotal)
        scores, found = self.index.vectors.search(vector.reshape(1, -1), k)
        return {int(r): float(s) for r, s in zip(found[0], scores[0]) if r >= 0}

    def lexical(self, text: str, k: int, rows: np.ndarray | None = None) -> dict[int, float]:
        found, scores = self.index.bm25.search(terms(text), k, rows)
        return {int(r): float(s) for r, s in zip(found, scores)}

    def rows_for(self, plan: QueryPlan) -> np.ndarray | None:
        """The chunks a question may be answered from: its occupation's pages (or, for one only mentioned
        in passing, the pages that mention it), and of those only the publishers it names, if any."""
        occ = plan.occupation
        if occ is None:
            return None
        # One only mentioned in passing: the pages that declare the mention, and any page whose text names it.
        docs = occ.pages or list(dict.fromkeys(occ.mentioned_in + [d for n in occ.names[:5]
                                                                   for d in self.pages_naming(n.name)]))
        if plan.sources:
            docs = [d for d in docs if d in plan.sources] or docs
        return np.array(sorted(r for d in docs for r in self.index.chunk_rows.get(d, ())), dtype=np.int64)

    def fused(self, dense: dict[int, float], lexical: dict[int, float]) -> dict[int, float]:
        if self.settings.fusion == "rrf":
            return fuse_rrf(dense, lexical, self.settings.rrf_k)
        return fuse_minmax(dense, lexical, self.settings.dense_weight)

    def search_text(self, text: str, k: int) -> list[Hit]:
        """Plain hybrid search for any text, with no careers-specific reading of the question
        (benchmarks use it on other collections)."""
        vector = self.embedder.encode([text])[0]
        n = max(self.settings.candidates, k)
        dense, lexical = self.dense(vector, n), self.lexical(text, n)
        fused = self.fused(dense, lexical)
        best = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        return [Hit(chunk=self.index.chunks[r], score=fused[r], dense=dense.get(r), lexical=lexical.get(r))
                for r in best]

    def search(self, plan: QueryPlan, k: int | None = None) -> Retrieved:
        k = k or self.settings.top_k
        n = self.settings.candidates
        texts = [plan.dense_text] + ([plan.topic_text] if plan.topic_text else [])
        vectors = self.embedder.encode(texts)
        vector = vectors[0]
        rows = self.rows_for(plan)
        dense, lexical = self.dense(vector, n, rows), self.lexical(plan.lexical_text, n, rows)
        fused = self.fused(dense, lexical)
        best = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        hits = [Hit(chunk=self.index.chunks[r], score=fused[r], dense=dense.get(r), lexical=lexical.get(r))
                for r in best]
        # Sentences are ranked by the topic alone: nearly every sentence names the role, so the role's
        # name would otherwise outweigh what is asked about it.
        return Retrieved(hits=hits, query_vector=vector, topic_vector=vectors[-1])
