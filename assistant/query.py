"""Read a question: fix typos, find who it is about and what it asks, and what to search for.

Flows one way: question (+ the conversation so far) -> QueryPlan. Nothing here searches.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel

from . import facets
from .errors import QuestionError
from .models import Facet, Turn
from .spelling import Speller
from .text import STOPWORDS, words

SubjectKind = Literal["target", "related", "other", "none"]


class Role(BaseModel):
    name: str
    aliases: list[str]


class Lexicon(BaseModel):
    subject: Role
    subject_plural: str
    subject_canonical: str
    related: list[Role]
    other_roles: list[str]
    common_words: frozenset[str]


class QueryPlan(BaseModel):
    question: str
    corrected: str
    facets: list[Facet]
    subject_kind: SubjectKind
    subject: str | None  # the role's name as answers use it
    alias: str | None = None  # the other name the user used for the subject, if any
    unknown_terms: list[str] = []
    dense_text: str
    topic_text: str  # the question without the role's or publishers' names: what is asked about it
    lexical_text: str
    inherited: bool = False  # the subject or facet came from earlier in the conversation
    sources: list[str] = []  # doc ids of the publishers the question names ("what does the BBC say")


def _inflections(verb: str) -> list[str]:
    """Regular forms: work -> works, worked, working; stay -> stays; care -> cares, cared, caring."""
    stem = verb[:-1] if verb.endswith("e") else verb
    s = verb + "es" if verb.endswith(("s", "sh", "ch", "x", "o")) else verb + "s"
    return [s, stem + "ed", stem + "ing"]


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    data = yaml.safe_load(resources.files("assistant").joinpath("data/roles.yaml").read_text("utf-8"))
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
    s = data["subject"]
    return Lexicon(
        subject=Role(name=s["name"], aliases=s["aliases"]), subject_plural=s["plural"],
        subject_canonical=s["canonical"], related=[Role(**r) for r in data["related"]],
        other_roles=data["other_roles"], common_words=frozenset(common),
    )


def _role_pattern(alias: str) -> str:
    # Plurals and possessives: "OT assistants", "nurses", "rehab assistant's".
    return r"(?<![\w-])" + re.escape(alias.lower()).replace(r"\ ", r"[\s-]+") + r"(?:e?s|['’]s?)?(?![\w-])"


@lru_cache(maxsize=1)
def _role_patterns() -> list[tuple[re.Pattern[str], SubjectKind, str]]:
    """Every role name as a compiled pattern, longest first (compiled once: this runs per sentence)."""
    lex = lexicon()
    names: list[tuple[str, SubjectKind, str]] = [(a, "target", lex.subject.name) for a in lex.subject.aliases]
    names += [(a, "related", r.name) for r in lex.related for a in r.aliases]
    names += [(o, "other", o) for o in lex.other_roles]
    return [(re.compile(_role_pattern(alias)), kind, name) for alias, kind, name in
            sorted(names, key=lambda n: -len(n[0]))]


def find_roles(text: str) -> list[tuple[int, int, str, SubjectKind, str]]:
    """Non-overlapping role mentions, longest first: (start, end, matched text, kind, role name)."""
    lowered = text.lower()
    found: list[tuple[int, int, str, SubjectKind, str]] = []
    for pattern, kind, name in _role_patterns():
        for m in pattern.finditer(lowered):
            if all(m.end() <= s or m.start() >= e for s, e, *_ in found):
                found.append((m.start(), m.end(), text[m.start():m.end()], kind, name))
    return sorted(found)


def validate(question: str, max_chars: int) -> str:
    """The question, trimmed; QuestionError for empty, too long or binary junk."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    q = question.strip()
    if not q:
        raise QuestionError("The question is empty. Ask something like: What band do OT support workers start on?")
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
        if low in STOPWORDS or low in known or singular in known or speller.known(low) or not low.isalpha():
            return word
        better = speller.correct(low)
        if better is None:
            if len(low) >= 3:
                unknown.append(word)
            return word
        return better

    return re.sub(r"[^\W\d_]+(?:['’][^\W\d_]+)*", fix, question), unknown


def _topic(text: str, roles: list[tuple[int, int, str, SubjectKind, str]]) -> str:
    for s, e, _, kind, _ in reversed(roles):
        if kind == "target":
            text = text[:s] + text[e:]
    text = " ".join(text.split())
    return text if any(w not in STOPWORDS for w in words(text)) else ""


def find_publishers(text: str, publishers: dict[str, list[str]]) -> tuple[str, list[str]]:
    """Remove publisher names from the text (so "Royal College of Occupational Therapists" is not a
    question about occupational therapists) and return the doc ids they name."""
    ids: list[str] = []
    for name in sorted(publishers, key=len, reverse=True):
        pattern = re.compile(r"(?<!\w)(?:the\s+)?" + re.escape(name) + r"(?:['’]s)?(?!\w)", re.IGNORECASE)
        if pattern.search(text):
            ids += publishers[name]
            text = pattern.sub(" ", text)
    return text, sorted(set(ids))


_MARKUP = re.compile(r"<[^>]{0,200}>|\]\([^)]{0,200}\)|[\[\]]")


def plan(question: str, history: list[Turn], speller: Speller,
         publishers: dict[str, list[str]] | None = None) -> QueryPlan:
    lex = lexicon()
    # Markup says nothing about careers: "<img src=x onerror=...> what band?" asks "what band?".
    asked_text = " ".join(_MARKUP.sub(" ", question).split()) or question
    role_words = {w for r in [lex.subject, *lex.related] for a in r.aliases for w in words(a)}
    role_words |= {w for o in lex.other_roles for w in words(o)}
    corrected, unknown = _corrected(asked_text, speller, lex.common_words | role_words)
    without_publishers, sources = find_publishers(corrected, publishers or {})
    roles = find_roles(without_publishers)
    asked = facets.detect(corrected)
    kinds = {kind for *_, kind, _ in roles}
    # The role named in the question wins; a question that names none continues the conversation.
    alias: str | None = None
    inherited = False
    if "target" in kinds:
        kind: SubjectKind = "target"
        subject: str | None = lex.subject.name
        alias = next(t for _, _, t, k, _ in roles if k == "target")
    elif "related" in kinds or "other" in kinds:
        _, _, alias, kind, subject = next(r for r in roles if r[3] in ("related", "other"))
    else:
        last = next((t for t in reversed(history) if not t.abstained and t.subject), None)
        kind, subject = ("target", lex.subject.name)
        if last and last.subject and last.subject != lex.subject.name:
            kind, subject = "related", last.subject
        inherited = bool(last)
    if not asked and history:
        last_facet = next((t.facet for t in reversed(history)
                           if t.facet and t.facet != Facet.other and not t.abstained), None)
        if last_facet and len(words(corrected)) <= 8:
            asked, inherited = [last_facet], True
    # Search for the role by the name the pages use most, whatever the user called it.
    name_for_search = lex.subject_canonical if kind == "target" else (subject or "")
    dense = without_publishers
    for s, e, text, k, _ in reversed(roles):
        if k == "target":
            dense = dense[:s] + lex.subject_canonical + dense[e:]
    if inherited and kind == "target" and "target" not in kinds:
        dense = f"{dense} ({lex.subject_canonical})"
    elif inherited and kind == "related" and not kinds:
        dense = f"{dense} ({subject})"
    expansion = " ".join(facets.RULE[f].expansion for f in asked)
    # A word that is in neither the sources nor everyday English, and is no typo of either, names
    # something the sources don't cover ("overtime", "Australia", "paramedic"): the answer declines.
    # Words of three letters or fewer are mostly typos and text-speak ("wot", "wek", "hw"); only an
    # acronym among them ("DBS") names something.
    blocking = [w for w in unknown if len(w) > 3 or (w.isupper() and len(w) > 1)]
    return QueryPlan(
        question=question, corrected=corrected, facets=asked, subject_kind=kind, subject=subject,
        alias=alias, unknown_terms=blocking, dense_text=" ".join(dense.split()), sources=sources,
        topic_text=_topic(without_publishers, roles),
        lexical_text=" ".join(f"{dense} {'' if name_for_search.lower() in dense.lower() else name_for_search} "
                              f"{expansion}".split()),
        inherited=inherited,
    )
