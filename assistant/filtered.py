"""Dense search restricted to some rows (one occupation's pages), exact for any FAISS index type.

A filter applied after a global top-k can leave nothing (the occupation's chunks were not among the
best overall); so the filter goes into the search itself:
- IndexFlatIP: FAISS's own IDSelectorBatch in the search parameters (exact).
- graph indexes (HNSW): a filtered graph walk loses recall when the filter keeps few rows, and an
  occupation has tens of chunks among 100,000; its vectors are reconstructed and scored exactly,
  which for a few thousand rows costs less than the walk.
Checked against brute force in tests/test_filtered.py.
"""

from __future__ import annotations

import numpy as np

# Above this many rows, HNSW's filtered walk is cheaper than scoring every row.
EXACT_MAX_ROWS = 20_000


def dense_among(index, vector: np.ndarray, rows: np.ndarray, k: int) -> dict[int, float]:
    """Top-k rows of `rows` by inner product with `vector`: {row: score}."""
    import faiss  # deferred like every FAISS import: ~0.3 s

    rows = np.asarray(rows, dtype=np.int64)
    if rows.size == 0 or k <= 0:
        return {}
    k = min(k, int(rows.size))
    query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
    if isinstance(index, faiss.IndexFlat) or rows.size > EXACT_MAX_ROWS:
        selector = faiss.IDSelectorBatch(rows)
        params = (faiss.SearchParametersHNSW(sel=selector) if isinstance(index, faiss.IndexHNSW)
                  else faiss.SearchParameters(sel=selector))
        scores, found = index.search(query, k, params=params)
        return {int(r): float(s) for r, s in zip(found[0], scores[0]) if r >= 0}
    vectors = index.reconstruct_batch(rows)
    scores = vectors @ query[0]
    top = np.argsort(-scores, kind="stable")[:k]
    return {int(rows[i]): float(scores[i]) for i in top}
