"""Evaluation metrics as pure functions, each tested on inputs worked out by hand.

Retrieval metrics take a ranked list of document ids (duplicates already removed) and a gold set,
with binary relevance.
"""

from __future__ import annotations

import math



def recall_at_k(ranked: list[str], gold: set[str], k: int) -> float:
    """Share of gold documents in the top k (1.0 when there is no gold: nothing to miss)."""
    if not gold:
        return 1.0
    return len(set(ranked[:k]) & gold) / len(gold)


def reciprocal_rank(ranked: list[str], gold: set[str]) -> float:
    for i, doc in enumerate(ranked, start=1):
        if doc in gold:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: list[str], gold: set[str], k: int) -> float:
    """Binary-relevance nDCG: DCG = sum 1/log2(rank + 1) over relevant ranks <= k, over the ideal DCG."""
    if not gold:
        return 1.0
    dcg = sum(1.0 / math.log2(i + 1) for i, doc in enumerate(ranked[:k], start=1) if doc in gold)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), k) + 1))
    return dcg / ideal


def _fold(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").replace("–", "-").split())


def missing_phrases(answer: str, required: list[str]) -> list[str]:
    """Required phrases absent from the answer (case, apostrophe style and spacing ignored)."""
    folded = _fold(answer)
    return [p for p in required if _fold(p) not in folded]


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), q in [0, 100]."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def dedupe(ids: list[str]) -> list[str]:
    seen: set[str] = set()
    return [i for i in ids if not (i in seen or seen.add(i))]


def safe_ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


