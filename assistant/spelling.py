"""Typo tolerance: map a word the corpus never uses to the nearest word it does.

Symmetric-delete lookup (as SymSpell does) over the corpus's own words, then a true
Damerau-Levenshtein check. Short words are left alone: "ot" must not become "to".
"""

from __future__ import annotations

from collections import Counter


def _deletes(word: str, depth: int) -> set[str]:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def allowed_distance(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


class Speller:
    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = Counter(counts)
        self._index: dict[str, list[str]] | None = None

    @property
    def index(self) -> dict[str, list[str]]:
        """The delete index, built on the first word that needs correcting: most questions have none,
        and on a large corpus (100,000 passages) building it takes seconds."""
        if self._index is None:
            index: dict[str, list[str]] = {}
            for word in self.counts:
                if word.isalpha() and len(word) >= 3:
                    for d in _deletes(word, allowed_distance(word) or 1):
                        index.setdefault(d, []).append(word)
            self._index = index
        return self._index

    def known(self, word: str) -> bool:
        return word in self.counts

    def correct(self, word: str) -> str | None:
        """The closest, then most frequent, known word within the allowed distance; None if none."""
        if word in self.counts or not word.isalpha():
            return word if word in self.counts else None
        limit = allowed_distance(word)
        if not limit:
            return None
        candidates = {c for d in _deletes(word, limit) for c in self.index.get(d, ())}
        scored = sorted(
            (dist, -self.counts[c], c) for c in candidates if (dist := edit_distance(word, c)) <= limit
        )
        return scored[0][2] if scored else None
