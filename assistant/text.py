"""Tokens, stems and sentence spans: the text primitives every stage shares."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

# Numbers keep their separators ("37.5", "20,329"); words keep inner apostrophes ("you'll").
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves s t don i'm i’m you'll you’ll they're
    what's what’s whats""".split()
)

# A sentence ends at . ! or ? (and any closing quote or bracket) before a space and a capital,
# digit, quote or £. Abbreviations like "e.g." and "etc." do not end one.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[A-Z0-9£\"“‘(])")
_ABBREVIATIONS = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|approx|dr|mr|mrs|ms|st)\.)$", re.IGNORECASE)


def words(text: str) -> list[str]:
    """Lower-cased surface tokens, curly apostrophes made straight."""
    return [t.replace("’", "'") for t in _TOKEN.findall(text.lower())]


@lru_cache(maxsize=1)
def _stemmer():  # PyStemmer is a small C extension; built once on first use
    import Stemmer

    return Stemmer.Stemmer("english")


def stem(word: str) -> str:
    return _stemmer().stemWord(word)


def terms(text: str) -> list[str]:
    """What BM25 indexes and matches: stems of the non-stopword tokens."""
    toks = [w for w in words(text) if w not in STOPWORDS]
    return _stemmer().stemWords(toks) if toks else []


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (absolute offsets) of text[start:end]; lines are never joined across."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        base = start + line.start()
        piece = line.group(0)
        cursor = 0
        for m in _SENTENCE_END.finditer(piece):
            candidate = piece[cursor : m.start() + 1]
            if _ABBREVIATIONS.search(candidate):
                continue
            stop = m.end() - len(m.group(0)) + len(m.group(0).rstrip())
            spans.append((base + cursor, base + stop))
            cursor = m.end()
        tail = piece[cursor:].rstrip()
        if tail.strip():
            lead = len(tail) - len(tail.lstrip())
            spans.append((base + cursor + lead, base + cursor + len(tail)))
    return spans


def _inflections(verb: str) -> list[str]:
    """Regular forms: work -> works, worked, working; stay -> stays; care -> cares, cared, caring."""
    stem = verb[:-1] if verb.endswith("e") else verb
    s = verb + "es" if verb.endswith(("s", "sh", "ch", "x", "o")) else verb + "s"
    return [s, stem + "ed", stem + "ing"]


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Everyday English a question may use (package data: no occupation in it)."""
    text = resources.files("assistant").joinpath("data/common_words.txt").read_text("utf-8")
    common: set[str] = set()
    in_verbs = False
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        in_verbs = in_verbs or line.startswith("@verbs:")
        for w in words(line.replace("@verbs:", "")):
            common.add(w)
            if in_verbs:
                common.update(_inflections(w))
    return frozenset(common)
