"""Read a question: fix typos, find who it is about and what it asks, and what to search for.

Flows one way: question (+ the conversation so far) -> QueryPlan. Nothing here searches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel

from . import facets
from .errors import QuestionError
from .models import Facet, Occupation, OccupationName, Turn
from .occupations.names import plural_of, singular
from .occupations.registry import Registry, slug
from .occupations.resolve import Resolution, resolve
from .spelling import Speller
from .text import STOPWORDS, words

# Who a question is about, as the answer needs to know it:
#   "target"   an occupation with pages of its own (answered from them)
#   "related"  one the pages only mention (answered from the sentences that name it)
#   "other"    one the corpus does not cover (declined by name, with the nearest covered ones)
#   "clarify"  the name fits several, or none is named in a corpus of several: ask which
#   "none"     nothing to go on (an empty registry)
SubjectKind = Literal["target", "related", "other", "clarify", "none"]


class QueryPlan(BaseModel):
    question: str
    corrected: str
    facets: list[Facet]
    subject_kind: SubjectKind
    subject: str | None  # the occupation's id
    occupation: Occupation | None = None
    alias: str | None = None  # the name the user used for the occupation, if any
    candidates: list[str] = []  # occupation ids: the choices to ask about, or the nearest covered ones
    asked: str | None = None  # an occupation the corpus does not cover, as the user named it
    resolved_by: str = "none"  # name, partial, dense, conversation, only (the corpus has one), none
    unknown_terms: list[str] = []
    dense_text: str
    topic_text: str  # the question without the occupation's or publishers' names: what is asked about it
    lexical_text: str
    inherited: bool = False  # the occupation or facet came from earlier in the conversation
    sources: list[str] = []  # doc ids of the publishers the question names ("what does the BBC say")
    pending: str | None = None  # the earlier question this one chose an occupation for


@dataclass(frozen=True)
class Reader:
    """What reading a question needs from the index, made once per loaded index."""

    registry: Registry
    speller: Speller
    publishers: dict[str, list[str]]
    common_words: frozenset[str]
    encode: Callable[[str], np.ndarray] | None = None  # the query encoder, for the dense name match
    name_vectors: np.ndarray | None = None
    threshold: float = 1.0  # cosine a dense name match needs (settings.occupation_match_threshold)
    pages_naming: Callable[[str], list[str]] | None = None  # pages whose text names a phrase

    def ordinary(self, word: str) -> bool:
        """An everyday or question word: no occupation's name is made of these alone."""
        return word in STOPWORDS or word in self.common_words or word in _FACET_WORDS


_FACET_WORDS = facets.TOPIC_WORDS


def validate(question: str, max_chars: int) -> str:
    """The question, trimmed; QuestionError for empty, too long or binary junk."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    q = question.strip()
    if not q:
        raise QuestionError("The question is empty. Please type a question about a job, such as how much it pays.")
    if len(q) > max_chars:
        raise QuestionError(f"The question is {len(q):,} characters long; please keep it under {max_chars:,}.")
    printable = sum(c.isprintable() or c in "\n\t" for c in q)
    letters = sum(c.isalpha() for c in q)
    if "\x00" in q or printable < 0.9 * len(q) or "\ufffd" in q or letters == 0:
        raise QuestionError("That doesn't look like a question (it has no words). Please type your question.")
    return " ".join(q.split())


def _corrected(question: str, speller: Speller, known: frozenset[str]) -> tuple[str, list[str]]:
    """The question with typos fixed, and the words that are neither known nor fixable."""
    unknown: list[str] = []

    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        low = word.lower().replace("’", "'")
        singular = re.sub(r"(?<=\w)e?s$", "", low)
        if (low in STOPWORDS or low in known or singular in known or speller.known(low) or speller.known(singular)
                or not low.isalpha()):
            return word
        better = speller.correct(low)
        if better is None:
            if len(low) >= 3:
                unknown.append(word)
            return word
        return better

    return re.sub(r"[^\W\d_]+(?:['’][^\W\d_]+)*", fix, question), unknown


def find_publishers(text: str, publishers: dict[str, list[str]]) -> tuple[str, list[str]]:
    """Remove publisher names from the text (so "Royal College of Xs" is not a
    question about Xs) and return the doc ids they name."""
    ids: list[str] = []
    for name in sorted(publishers, key=len, reverse=True):
        pattern = re.compile(r"(?<!\w)(?:the\s+)?" + re.escape(name) + r"(?:['’]s)?(?!\w)", re.IGNORECASE)
        if pattern.search(text):
            ids += publishers[name]
            text = pattern.sub(" ", text)
    return text, sorted(set(ids))


_MARKUP = re.compile(r"<[^>]{0,200}>|\]\([^)]{0,200}\)|[\[\]]")


def _without(text: str, spans: list[tuple[int, int]], put: str = "") -> str:
    for s, e in sorted(spans, reverse=True):
        text = text[:s] + put + text[e:]
    return " ".join(text.split())


_NEXT_STEP = re.compile(r"\b(?:become|becoming|train(?:ing)?\s+(?:as|to)|route|move\s+(?:on|up)|step|progress\w*|"
                        r"go\s+on)\b", re.IGNORECASE)


def _names_a_next_step(text: str, registry: Registry) -> bool:
    """"Can a X train as a Y?", "Is this a route from X to Y?": two occupations, the second after words of
    moving on, ask about progression from the first to the second."""
    hits = [h for h in registry.matcher.find(text) if h.exact]
    if len({h.exact for h in hits}) < 2:
        return False
    return any(_NEXT_STEP.search(text[hits[0].end:h.start]) for h in hits[1:])


def _facets_from(history: list[Turn], corrected: str) -> list[Facet]:
    """A short question that asks nothing itself ("and for Xs?") asks what the last one did."""
    last = next((t.facet for t in reversed(history)
                 if t.facet and t.facet != Facet.other and (not t.abstained or t.pending)), None)
    return [last] if last and len(words(corrected)) <= 8 else []


def _occupation(res: Resolution, history: list[Turn],
                reader: Reader) -> tuple[SubjectKind, Occupation | None, str, list[str]]:
    """(kind, occupation, how it was found, candidates) from the resolution and the conversation."""
    registry = reader.registry
    if res.kind == "named" and res.occupation:
        occ = registry[res.occupation]
        return ("target" if occ.covered else "related"), occ, res.method, []
    if res.kind == "mentioned" and res.asked:
        # Not in the registry: an occupation the pages name in passing without declaring it.
        words_ = res.asked.split()
        name = " ".join(words_[:-1] + [singular(words_[-1])]) if words_ else res.asked
        occ = Occupation(id=f"mention:{slug(name)}", name=name, plural=plural_of(name),
                         names=[OccupationName(name=name, source="question")], mentioned_in=res.pages)
        return "related", occ, res.method, []
    if res.kind == "clarify":
        return "clarify", None, res.method, res.candidates
    if res.kind == "uncovered":
        return "other", None, res.method, res.candidates
    # The conversation's occupation: the last one asked about, whether or not the pages answered.
    last = next((t for t in reversed(history) if t.subject in registry), None)
    if last and last.subject:
        occ = registry[last.subject]
        return ("target" if occ.covered else "related"), occ, "conversation", []
    covered = registry.covered
    if len(covered) == 1:  # a corpus about one occupation: every question is about it
        return "target", covered[0], "only", []
    if not covered:
        return "none", None, "none", []
    return "clarify", None, "none", [o.id for o in registry.examples(6)]


def plan(question: str, history: list[Turn], reader: Reader, *, force: str | None = None) -> QueryPlan:
    registry = reader.registry
    # Markup says nothing about careers: "<img src=x onerror=...> what band?" asks "what band?".
    asked_text = " ".join(_MARKUP.sub(" ", question).split()) or question
    corrected, unknown = _corrected(asked_text, reader.speller, reader.common_words)
    without_publishers, sources = find_publishers(corrected, reader.publishers)
    res = resolve(without_publishers, registry, ordinary=reader.ordinary, encode=reader.encode,
                  vectors=reader.name_vectors, threshold=reader.threshold, pages_naming=reader.pages_naming)
    asked = facets.detect(corrected)
    if _names_a_next_step(without_publishers, registry) and Facet.progression not in asked:
        asked = [Facet.progression]
    # An occupation's name answering "which occupation do you mean?": the waiting question is asked again.
    waiting = history[-1].pending if history and not force else None
    if waiting and res.kind == "named" and res.occupation and not asked and len(words(corrected)) <= 8:
        chosen = plan(waiting, history[:-1], reader, force=res.occupation)
        return chosen.model_copy(update={"question": question, "pending": waiting, "inherited": True})
    if force:
        res = Resolution(kind="named", occupation=force, method="name", spans=res.spans, alias=res.alias)
    kind, occ, how, candidates = _occupation(res, history, reader)
    subject = occ.id if occ else None
    inherited = how == "conversation"
    carried = ""
    if not asked and history:
        asked = _facets_from(history, corrected)
        inherited = inherited or bool(asked)
        # "what about Xs?" after a question about hours asks about hours: say so to the search.
        carried = " ".join(facets.RULE[f].expansion for f in asked)
    # Search for the occupation by the name its pages use most, whatever the user called it.
    search_name = (occ.search_name or occ.name) if occ else ""
    dense = _without(without_publishers, res.spans, f" {search_name} ") if occ and res.spans else without_publishers
    if occ and not res.spans:
        dense = f"{dense} ({search_name})"
    dense = f"{dense} {carried}".strip()
    expansion = " ".join(facets.RULE[f].expansion for f in asked)
    # A word in neither the sources nor everyday English, and no typo of either, names something the
    # sources don't cover ("overtime", "France"). It declines the question only when it is a good part
    # of what is asked: one odd word ("Which professional body ...") does not veto the rest. Words of
    # three letters or fewer are mostly typos and text-speak ("wot", "hw"); only an acronym ("DBS") counts.
    name_words = {w for s, e in res.spans for w in words(without_publishers[s:e])}
    blocking = [w for w in unknown if (len(w) > 3 or (w.isupper() and len(w) > 1)) and w.lower() not in name_words]
    content = [w for w in words(_without(without_publishers, res.spans)) if w not in STOPWORDS]
    if content and len(blocking) / len(content) < 0.25:
        blocking = []
    return QueryPlan(
        question=question, corrected=corrected, facets=asked, subject_kind=kind, subject=subject, occupation=occ,
        alias=res.alias if res.kind in ("named", "clarify") else None, candidates=candidates, asked=res.asked,
        resolved_by=how, unknown_terms=blocking, dense_text=" ".join(dense.split()), sources=sources,
        # Sentences are ranked by the topic: on the pages about an occupation nearly every sentence names it,
        # so its name is left out; one only mentioned in passing is answered by sentences naming it, so it stays.
        topic_text=f"{_topic(without_publishers, res.spans if kind == 'target' else [])} {carried}".strip(),
        lexical_text=" ".join(f"{dense} {'' if search_name.lower() in dense.lower() else search_name} "
                              f"{expansion}".split()),
        inherited=inherited,
    )


def _topic(text: str, spans: list[tuple[int, int]]) -> str:
    topic = _without(text, spans)
    return topic if any(w not in STOPWORDS for w in words(topic)) else ""
