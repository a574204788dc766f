"""Who a question is about: an occupation of the registry, a choice to ask back, or one not covered.

In order:
1. Names the registry knows (exact, by key: plurals, possessives, hyphen and space variants; typos are
   fixed before this, against a vocabulary that holds every name's words).
2. The end of several names ("technician" at the end of several names): ask which is meant, unless exactly one
   covered occupation fits.
3. Otherwise, a phrase in the place a question puts an occupation ("how much does a X earn", "what
   about Xs", "become a X") is matched densely against every name; below the calibrated threshold it
   names an occupation the corpus does not cover, and the nearest covered ones are offered instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

import numpy as np
from pydantic import BaseModel

from ..text import STOPWORDS
from .names import tokens
from .registry import NameHit, Registry

Kind = Literal["named", "mentioned", "clarify", "uncovered", "none"]
MAX_CHOICES = 6  # a clarifying question lists at most this many occupations


class Resolution(BaseModel):
    kind: Kind
    occupation: str | None = None  # the occupation's id, when named
    alias: str | None = None  # the words of the question that named it
    spans: list[tuple[int, int]] = []  # where the question names occupations (left out of its topic)
    candidates: list[str] = []  # ids: the choices (clarify), or the nearest covered occupations (uncovered)
    asked: str | None = None  # the phrase that named an occupation the corpus does not cover
    method: Literal["name", "partial", "dense", "text", "none"] = "none"
    score: float | None = None  # cosine of the dense match
    pages: list[str] = []  # mentioned: pages whose text names it (no page declares it)


# Where English questions put the occupation. Question syntax only: no occupation is named here.
_DET = r"(?:(?:an?|the|some|any)\s+)?"
_PHRASE = r"(?P<x>[^\W\d_][\w'’ -]{1,60}?)"
_SLOTS = [re.compile(p, re.IGNORECASE) for p in (
    rf"\b(?:what|how\s+much|how\s+many\s+hours)\s+(?:does|do|did|would|will|can|could)\s+{_DET}{_PHRASE}\s+"
    rf"(?:do|earn|make|get|need|study|work|take\s+home|start)\b",
    rf"\bwhat\s+(?:is|are)\s+{_DET}{_PHRASE}(?:'s|s'|’s)?\s+(?:pay|salary|salaries|hours|wage|wages|band|duties|job)\b",
    rf"\b(?:become|becoming|work(?:ing)?\s+as|job\s+as|career\s+as|train(?:ing)?\s+as|qualify\s+as)\s+{_DET}{_PHRASE}"
    rf"(?=\s*(?:[?.!,]|$|\s+(?:in|with|through|without|if|after|at|for)\b))",
    rf"^\W*(?:and\s+|so\s+)?(?:what|how)\s+about\s+{_DET}{_PHRASE}\s*[?.!]*$",
    rf"\b(?:do|does|are|is|can)\s+{_DET}{_PHRASE}\s+(?:need|earn|get|work|have|start|on|paid)\b",
)]


def occupation_phrase(text: str, ordinary: Callable[[str], bool]) -> str | None:
    """The words in an occupation's place in the question, if any is there and is not an ordinary word
    ("what does the job involve", "what do they do" name nobody)."""
    for pattern in _SLOTS:
        m = pattern.search(text)
        if not m:
            continue
        phrase = " ".join(m.group("x").split())
        words = [t for _, _, t in tokens(phrase)]
        if words and not all(ordinary(w) for w in words):
            return phrase
    return None


def _covered_first(registry: Registry, positions: tuple[int, ...] | set[int]) -> list[str]:
    occs = [registry.occupations[i] for i in positions]
    return [o.id for o in sorted(occs, key=lambda o: (not o.covered, len(o.name), o.name.lower()))]


def _from_hit(hit: NameHit, registry: Registry) -> Resolution:
    spans = [(hit.start, hit.end)]
    # A display name is not ambiguous ("X" is the X), unless it is only mentioned in
    # passing and covered occupations end with it ("Y": "senior Y", "trainee Y").
    if len(hit.preferred) == 1 and (registry.occupations[hit.preferred[0]].covered or not hit.partial):
        only = registry.occupations[hit.preferred[0]].id
        return Resolution(kind="named", occupation=only, alias=hit.text, spans=spans, method="name")
    choices = _covered_first(registry, hit.exact) + [i for i in _covered_first(registry, hit.partial)]
    choices = list(dict.fromkeys(choices))
    if len(choices) == 1:
        return Resolution(kind="named", occupation=choices[0], alias=hit.text, spans=spans,
                          method="name" if hit.exact else "partial")
    return Resolution(kind="clarify", alias=hit.text, spans=spans, candidates=choices[:MAX_CHOICES],
                      method="name" if hit.exact else "partial")


def by_name(text: str, registry: Registry, ordinary: Callable[[str], bool] = lambda w: True,
            partial: bool = True) -> Resolution | None:
    """The first exact name in the question (covered occupations before ones only mentioned), else the
    first partial one: one that follows only ordinary words ("a technician", not "emergency care
    technicians", where the words before say which assistants)."""
    hits = registry.matcher.find(text)
    exact = [h for h in hits if h.exact]
    if exact:
        best = min(exact, key=lambda h: (not any(registry.occupations[i].covered for i in h.exact), h.start))
        res = _from_hit(best, registry)
        if res.occupation:  # every place the question names the chosen occupation, under any of its names
            chosen = registry.position[res.occupation]
            res = res.model_copy(update={"spans": [(h.start, h.end) for h in exact if chosen in h.exact]})
        return res
    if not partial:
        return None
    words = tokens(text)

    def qualified(hit: NameHit) -> bool:  # "emergency care assistants": the word before says which
        before = [t for s, _, t in words if s < hit.start]
        return bool(before) and before[-1] not in STOPWORDS and not before[-1].endswith("'s")

    partial_hits = [h for h in hits if h.partial and not qualified(h)]
    return _from_hit(partial_hits[0], registry) if partial_hits else None


def nearest(vector: np.ndarray, registry: Registry, vectors: np.ndarray, covered_only: bool,
            limit: int) -> list[tuple[str, float]]:
    """Occupations by their best name's cosine to the vector, best first."""
    sims = vectors @ vector
    best: dict[int, float] = {}
    for row in np.argsort(-sims)[: max(limit * 20, 50)]:
        occ, _ = registry.name_rows[int(row)]
        if covered_only and not registry.occupations[occ].covered:
            continue
        if occ not in best:
            best[occ] = float(sims[row])
        if len(best) >= limit:
            break
    return [(registry.occupations[i].id, s) for i, s in sorted(best.items(), key=lambda kv: -kv[1])]


def _qualified(text: str, phrase: str | None, found: Resolution) -> bool:
    """Does the occupation's phrase say more than the name found in it ("wine steward", "steward")?"""
    if not phrase or not found.spans:
        return False
    start = text.lower().find(phrase.lower())
    if start < 0:
        return False
    s, e = found.spans[0]
    extra = text[start:s] + " " + text[e:start + len(phrase)]
    return any(t not in STOPWORDS for _, _, t in tokens(extra))


def resolve(text: str, registry: Registry, *, ordinary: Callable[[str], bool],
            encode: Callable[[str], np.ndarray] | None = None, vectors: np.ndarray | None = None,
            threshold: float = 1.0, suggest: int = 3,
            pages_naming: Callable[[str], list[str]] | None = None) -> Resolution:
    found = by_name(text, registry, ordinary, partial=False)
    phrase = occupation_phrase(text, ordinary)
    dense = encode is not None and vectors is not None and len(vectors) > 0
    if found and not (dense and found.kind == "named" and _qualified(text, phrase, found)):
        return found
    vector = encode(phrase) if phrase and dense else None
    if found:  # "wine steward" where only "steward" is a name: is that the occupation meant?
        near = nearest(vector, registry, vectors, covered_only=False, limit=5)
        if found.occupation in [o for o, _ in near]:
            return found
        if near and near[0][1] >= threshold:
            return found.model_copy(update={"occupation": near[0][0], "method": "dense", "score": round(near[0][1], 4)})
        choices = list(dict.fromkeys([found.occupation or ""] + [o for o, _ in near]))[:MAX_CHOICES]
        return found.model_copy(update={"kind": "clarify", "occupation": None, "candidates": choices,
                                        "alias": phrase})
    top = nearest(vector, registry, vectors, covered_only=False, limit=1) if vector is not None else []
    if phrase and top and top[0][1] >= threshold:  # a typo too far for the speller, a short form: close to one name
        occ, score = top[0]
        start = text.lower().find(phrase.lower())
        spans = [(start, start + len(phrase))] if start >= 0 else []
        return Resolution(kind="named", occupation=occ, alias=phrase, spans=spans, method="dense",
                          score=round(score, 4))
    found = by_name(text, registry, ordinary)
    if found:
        return found
    if phrase is None:
        return Resolution(kind="none")
    # Named on a page, though no page is about it ("emergency care assistants usually start on band 3"):
    # answered from the sentences that name it.
    mentioned = pages_naming(phrase) if pages_naming else []
    if mentioned:
        start = text.lower().find(phrase.lower())
        return Resolution(kind="mentioned", asked=phrase, alias=phrase, pages=mentioned, method="text",
                          spans=[(start, start + len(phrase))] if start >= 0 else [])
    start = text.lower().find(phrase.lower())
    spans = [(start, start + len(phrase))] if start >= 0 else []  # where to put a chosen occupation's name
    if vector is None:
        return Resolution(kind="uncovered", asked=phrase, candidates=[o.id for o in registry.examples(suggest)],
                          spans=spans)
    near = nearest(vector, registry, vectors, covered_only=True, limit=suggest)
    return Resolution(kind="uncovered", asked=phrase, candidates=[o for o, _ in near], spans=spans,
                      score=round(top[0][1], 4) if top else None, method="dense")
