"""From retrieved chunks to quotable units: sentences of paragraphs, whole bullets, alias lines.

A unit is always a span of its cleaned document, so whatever is quoted is verbatim by construction.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from .facets import FacetRule
from .index import Index
from .models import Facet, Hit
from .query import QueryPlan, find_roles
from .text import sentence_spans, terms


class Unit(BaseModel):
    doc_id: str
    start: int
    end: int
    text: str
    section: str | None
    kind: str
    score: float  # fused score of the chunk it came from
    dense: float  # cosine of that chunk to the question (0 when it was not a dense candidate)
    rank: int  # rank of that chunk in the retrieval results


def units_of(hits: list[Hit], index: Index) -> list[Unit]:
    out: list[Unit] = []
    seen: set[tuple[str, int]] = set()
    for rank, hit in enumerate(hits):
        chunk = hit.chunk
        doc = index.documents[chunk.doc_id]
        for block in doc.blocks:
            if block.end <= chunk.start or block.start >= chunk.end:
                continue
            spans = [(block.start, block.end)] if block.kind != "paragraph" else sentence_spans(
                doc.text, block.start, block.end)
            for s, e in spans:
                if (chunk.doc_id, s) in seen:
                    continue
                seen.add((chunk.doc_id, s))
                out.append(Unit(doc_id=chunk.doc_id, start=s, end=e, text=doc.text[s:e], section=block.section,
                                kind=block.kind, score=hit.score, dense=hit.dense or 0.0, rank=rank))
    return out


def about_subject(unit: Unit, plan: QueryPlan) -> bool:
    """Is this sentence about the role the question asks about?

    For the corpus's own role, a sentence that opens by naming another role ("Occupational therapists
    usually start on band 5") is about that role, not ours. For another role, the sentence must name it.
    """
    roles = find_roles(unit.text)
    if plan.subject_kind == "target":
        if any(kind == "target" for *_, kind, _ in roles):
            return True
        opening = [r for r in roles if r[0] < 40]
        return not any(kind in ("related", "other") for *_, kind, _ in opening)
    return any(name == plan.subject for *_, name in roles)


def overlap(unit: Unit, query_terms: set[str]) -> float:
    """Share of the question's content terms the unit contains; a term also matches a longer or shorter
    form of itself ("start" ~ "starter") when both have four letters or more."""
    if not query_terms:
        return 0.0
    unit_terms = set(terms(unit.text))

    def matches(q: str) -> bool:
        return q in unit_terms or (len(q) >= 4 and any(len(t) >= 4 and (t.startswith(q) or q.startswith(t))
                                                       for t in unit_terms))

    return sum(matches(q) for q in query_terms) / len(query_terms)


def facet_units(units: list[Unit], rule: FacetRule, plan: QueryPlan) -> list[Unit]:
    """Units that answer this facet for this subject, best first: the chunk's retrieval score, plus how
    strongly the sentence itself speaks to the facet, plus how many of the question's words it shares."""
    found = [u for u in units if rule.is_evidence(u.text, u.section) and about_subject(u, plan)
             and u.kind != "heading"]
    if rule.value:
        with_value = [u for u in found if rule.values(u.text)]
        found = with_value or found
    qterms = set(terms(plan.corrected))
    return sorted(found, key=lambda u: (-(u.score + 0.5 * rule.strength(u.text) + 0.3 * overlap(u, qterms)),
                                        u.rank, u.start))


def alias_units(units: list[Unit], alias: str) -> list[Unit]:
    """Sentences that give `alias` as another name of the role (for "rehab assistant" and the like)."""
    key = re.sub(r"(?:e?s|['’]s?)$", "", alias.lower())
    pattern = re.compile(r"also known as|sometimes (called|referred)|referred to|\baka\b|known as|titles|"
                         r",\s*\w+ \w+,", re.IGNORECASE)
    return [u for u in units if key in u.text.lower() and pattern.search(u.text)]


def best_passages(units: list[Unit], plan: QueryPlan, limit: int) -> list[Unit]:
    """For questions no facet covers: the units sharing most of the question's terms, from top chunks."""
    qterms = set(terms(plan.corrected))
    ranked = sorted((u for u in units if about_subject(u, plan) and u.kind != "heading" and len(u.text) > 25),
                    key=lambda u: (-(u.score + 1.5 * overlap(u, qterms)), u.rank, u.start))
    return ranked[:limit]


FACETS_WITH_VALUES = {Facet.band, Facet.pay, Facet.hours}
