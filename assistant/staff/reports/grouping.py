"""Unanswered questions grouped by meaning, with the model the assistant already has loaded.

The same words (any case, spacing, end punctuation) are one question. Distinct questions are then
taken most-asked first: each joins the first group whose leading question is at least
`threshold` close (cosine of the MiniLM vectors, which are unit length) or starts a group of its own.
Comparing with the leader only keeps a group from drifting one near neighbour at a time.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

import numpy as np
from pydantic import BaseModel

from .queries import UnansweredRow


class Group(BaseModel):
    ids: list[int]
    questions: list[str]  # distinct wordings, most asked first
    count: int
    first_seen: str
    last_seen: str
    occupations: list[tuple[str, int]]  # what the assistant read, most often first ("" = none)
    topics: list[tuple[str, int]]
    reasons: list[tuple[str, int]]


def normalise(question: str) -> str:
    return " ".join(question.casefold().split()).strip(" ?!.")


def group_rows(rows: list[UnansweredRow], vectors: dict[str, np.ndarray], threshold: float) -> list[Group]:
    """`vectors` maps a row's normalise(question) to its unit vector; a wording without one (not read
    by the model yet) is a group of its own."""
    by_key: dict[str, list[UnansweredRow]] = {}
    for row in rows:
        by_key.setdefault(normalise(row.question), []).append(row)
    # Most asked first; among equals the most recently asked (stable sorts, the last one decides first).
    newest = {k: max(_order(r) for r in group) for k, group in by_key.items()}
    keys = sorted(sorted(sorted(by_key), key=newest.__getitem__, reverse=True), key=lambda k: -len(by_key[k]))
    dimension = len(next(iter(vectors.values()))) if vectors else 0
    leaders = np.zeros((len(keys), dimension), dtype=np.float32)  # row i: the leading vector of group i
    members: list[list[str]] = []
    alone: list[list[str]] = []
    for key in keys:
        vector = vectors.get(key)
        if vector is None:
            alone.append([key])
            continue
        if members:
            sims = leaders[:len(members)] @ vector
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                members[best].append(key)
                continue
        leaders[len(members)] = vector
        members.append([key])
    groups = [_group([r for k in keys_ for r in by_key[k]], [by_key[k] for k in keys_]) for keys_ in members + alone]
    newest_first = sorted(groups, key=lambda g: g.last_seen, reverse=True)
    return sorted(newest_first, key=lambda g: -g.count)  # stable: newest first among equal counts


def _order(row: UnansweredRow) -> tuple[str, int]:
    return (row.asked_at, row.id)


def _group(rows: list[UnansweredRow], wordings: list[list[UnansweredRow]]) -> Group:
    def common(values) -> list[tuple[str, int]]:
        return Counter(v or "" for v in values).most_common()

    times = sorted(r.asked_at for r in rows)
    # Each wording as it was most often typed, the most asked first.
    shown = [Counter(r.question for r in w).most_common(1)[0][0] for w in wordings]
    return Group(ids=sorted(r.id for r in rows), questions=shown, count=len(rows), first_seen=times[0],
                 last_seen=times[-1], occupations=common(r.occupation for r in rows),
                 topics=common(r.facet for r in rows), reasons=common(r.reason for r in rows))


class VectorCache:
    """Vectors of questions already encoded, by model and wording: a page view encodes only new ones."""

    def __init__(self, size: int = 50_000, batch: int = 64) -> None:
        self.size, self.batch = size, batch
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    async def vectors(self, service, keys: list[str], budget: int | None = None) -> dict[str, np.ndarray]:
        """Vectors of `keys`: those already known, and at most `budget` new ones encoded now (the rest
        wait for the next view, so one view of a large backlog does not hold the page for minutes)."""
        model = service.assistant.embedder.name
        out: dict[str, np.ndarray] = {}
        for key in dict.fromkeys(keys):
            if (model, key) in self._vectors:
                self._vectors.move_to_end((model, key))
                out[key] = self._vectors[(model, key)]
        missing = [k for k in dict.fromkeys(keys) if k not in out][:budget]
        # A batch at a time, each under the answer lock on its own: chat answers go on between batches.
        for start in range(0, len(missing), self.batch):
            batch = missing[start:start + self.batch]
            for key, vector in zip(batch, await service.encode(batch)):
                out[key] = self._vectors[(model, key)] = np.asarray(vector, dtype=np.float32)
        while len(self._vectors) > self.size:
            self._vectors.popitem(last=False)
        return out
