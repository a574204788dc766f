"""What a question asks about, and which sentences of a page answer it.

Each facet (its rules are data: data/facets.yaml) has question triggers (scored, so "what qualifications do I need" is qualifications,
not entry), sentence evidence, section headings that mark whole sections as evidence, words to
add to the lexical query, and for pay, band and hours a pattern that pulls the figure out verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import yaml

from .models import Document, Facet, Sentence


@dataclass(frozen=True)
class FacetRule:
    facet: Facet
    label: str
    triggers: tuple[tuple[str, float], ...]
    evidence: str
    sections: str = r"(?!x)x"  # matches nothing unless given
    expansion: str = ""
    value: str | None = None

    def trigger_score(self, question: str) -> float:
        return sum(w for pattern, w in self.triggers if re.search(pattern, question))

    def is_evidence(self, sentence: str, section: str | None) -> bool:
        return bool(re.search(self.evidence, sentence, re.IGNORECASE)) or bool(
            section and re.search(self.sections, section, re.IGNORECASE)
        )

    def strength(self, sentence: str) -> float:
        """How much of this sentence is about the facet: distinct evidence matches, capped at 3, over 3."""
        hits = {m.group(0).lower() for m in re.finditer(self.evidence, sentence, re.IGNORECASE)}
        return min(len(hits), 3) / 3

    def values(self, sentence: str) -> list[str]:
        return re.findall(self.value, sentence) if self.value else []


def load_rules() -> tuple[FacetRule, ...]:
    """The facet rules from package data (data/facets.yaml): vocabulary, not code."""
    data = yaml.safe_load(resources.files("assistant").joinpath("data/facets.yaml").read_text("utf-8"))
    return tuple(FacetRule(facet=Facet(r["facet"]), label=r["label"],
                           triggers=tuple((t["pattern"], float(t["weight"])) for t in r["triggers"]),
                           evidence=r["evidence"], sections=r.get("sections", r"(?!x)x"),
                           expansion=r.get("expansion", ""), value=r.get("value")) for r in data["rules"])


RULES: tuple[FacetRule, ...] = load_rules()
RULE = {r.facet: r for r in RULES}
STRONG = 3.0  # a trigger this strong names a facet on its own


def detect(question: str) -> list[Facet]:
    """Facets asked about, strongest first: one, or two when the question joins them ("pay and hours")."""
    q = question.lower()
    scored = sorted(((r.trigger_score(q), i, r.facet) for i, r in enumerate(RULES)), key=lambda x: (-x[0], x[1]))
    best = [f for s, _, f in scored if s >= STRONG]
    if not best:
        best = [f for s, _, f in scored[:1] if s > 0]
    joined = re.search(r"\band\b|&|\bplus\b|\bas well\b|,", q)
    return best[:2] if joined else best[:1]


# Words that name what pages say about a job, not the job: "X pay" is about Xs.
TOPIC_WORDS = frozenset(w.lower() for r in RULES for w in re.findall(r"[a-z]+", f"{r.label} {r.expansion}".lower())) | {
    "work", "working", "job", "jobs", "career", "careers", "guide", "profile", "information", "overview", "salary",
    "requirements", "qualities"}


def page_evidence(doc: Document, sentences: Iterable[Sentence]) -> dict[Facet, list[Sentence]]:
    """The sentences of one page that give evidence for each facet, in reading order: what the build
    reads to know which facets an occupation's pages answer (index.enrich: the starters) and what the
    staff coverage map counts and quotes. A lead paragraph (before any heading, near the top) says
    what the job is, so it is evidence for duties (see evidence.lead_hits)."""
    found: dict[Facet, list[Sentence]] = {}
    rows = list(sentences)
    for s in rows:
        text = doc.text[s.start:s.end]
        for rule in RULES:
            if rule.is_evidence(text, s.section):
                found.setdefault(rule.facet, []).append(s)
    lead = next((b for b in doc.blocks[:3] if b.kind == "paragraph" and b.section is None), None)
    if lead is not None:
        duties = found.setdefault(Facet.duties, [])
        have = {(s.start, s.end) for s in duties}
        duties += [s for s in rows if lead.start <= s.start < lead.end and (s.start, s.end) not in have]
        duties.sort(key=lambda s: s.start)
    return found
