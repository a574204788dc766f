"""Finding occupation names in text: a dictionary lookup per word span, no regex per name, so it costs
the same for five names or the 100,000 of ESCO and O*NET. Its dictionaries can be saved with the index
and loaded as they are (tables / from_tables), instead of being rebuilt from every name at each start."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..models import Occupation
from .names import key_of, tokens


@dataclass(frozen=True)
class NameHit:
    """A span of text that is an occupation's name (exact), or the end of several names (partial:
    "technician" ends "X technician" and "Y technician")."""

    start: int
    end: int
    text: str
    exact: tuple[int, ...]  # occupations (registry positions) with this name
    preferred: tuple[int, ...]  # those whose display name it is
    partial: tuple[int, ...]  # covered occupations with a longer name ending in it


class NameMatcher:
    """Finds occupation names in text by looking each word span up in dictionaries of name keys."""

    MAX_WORDS = 8
    REMEMBERED = 20_000  # texts whose names are kept (a few MiB)

    def __init__(self, occupations: list[Occupation]) -> None:
        exact: dict[str, set[int]] = {}
        preferred: dict[str, set[int]] = {}
        partial: dict[str, set[int]] = {}
        longest = 1
        for i, occ in enumerate(occupations):
            for n, name in enumerate(occ.names):
                words = [t for _, _, t in tokens(name.name)]
                if not words:
                    continue
                longest = max(longest, len(words))
                key = key_of(words)
                exact.setdefault(key, set()).add(i)
                if n == 0:
                    preferred.setdefault(key, set()).add(i)
                if occ.covered:
                    for cut in range(1, len(words)):
                        partial.setdefault(key_of(words[cut:]), set()).add(i)
        # Sorted tuples, not sets: what a hit reports, and ~3x faster to load from the index (marshal).
        self.exact: dict[str, tuple[int, ...]] = {k: tuple(sorted(v)) for k, v in exact.items()}
        self.preferred: dict[str, tuple[int, ...]] = {k: tuple(sorted(v)) for k, v in preferred.items()}
        self.partial: dict[str, tuple[int, ...]] = {k: tuple(sorted(v)) for k, v in partial.items()}
        self.max_words = min(longest, self.MAX_WORDS)
        self._remember()

    def _remember(self) -> None:
        # A question's evidence asks about the same sentences several times (is it about the occupation,
        # is it only a name, does it open with one), and questions about one page ask about its sentences
        # again: the answer for a text never changes, so it is kept (thread-safe, bounded).
        self.find = lru_cache(maxsize=self.REMEMBERED)(self._find)  # type: ignore[method-assign]

    def tables(self) -> dict:
        return {"exact": self.exact, "preferred": self.preferred, "partial": self.partial,
                "max_words": self.max_words}

    @classmethod
    def from_tables(cls, tables: dict) -> "NameMatcher":
        matcher = cls.__new__(cls)
        matcher.exact, matcher.preferred = tables["exact"], tables["preferred"]
        matcher.partial, matcher.max_words = tables["partial"], tables["max_words"]
        matcher._remember()
        return matcher

    def find(self, text: str) -> tuple[NameHit, ...]:
        """Non-overlapping names, left to right, the longest at each position."""
        return self._find(text)

    def _find(self, text: str) -> tuple[NameHit, ...]:
        toks = tokens(text)
        keys = [_word_key(t) for _, _, t in toks]
        hits: list[NameHit] = []
        i = 0
        while i < len(toks):
            for j in range(min(len(toks), i + self.max_words), i, -1):
                key = "".join(keys[i:j])
                exact, partial = self.exact.get(key), self.partial.get(key)
                if exact or partial:
                    start, end = toks[i][0], toks[j - 1][1]
                    hits.append(NameHit(start, end, text[start:end], exact or (), self.preferred.get(key, ()),
                                        tuple(i for i in partial or () if i not in (exact or ()))))
                    i = j
                    break
            else:
                i += 1
        return tuple(hits)

    def occupations_named(self, text: str) -> set[int]:
        """Occupations a sentence names exactly (for "is this sentence about that occupation?")."""
        return {o for hit in self.find(text) for o in hit.exact}


@lru_cache(maxsize=100_000)
def _word_key(word: str) -> str:
    return key_of([word])
