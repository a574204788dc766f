"""From retrieved chunks to quotable units: sentences of paragraphs, whole bullets, alias lines.

A unit is always a span of its cleaned document, so whatever is quoted is verbatim by construction.
"""

from __future__ import annotations

import re

import numpy as np
from pydantic import BaseModel

from .facets import FacetRule
from .indexstore import Index
from .models import Facet, Hit
from .occupations.names import name_key, names_phrase
from .occupations.registry import Registry
from .query import QueryPlan
from .text import terms


class Unit(BaseModel):
    doc_id: str
    start: int
    end: int
    text: str
    section: str | None
    kind: str
    score: float  # fused score of the chunk it came from
    dense: float  # cosine of that chunk to the question (0 when it was not a dense candidate)
    sim: float  # cosine of this sentence to the question's topic
    whole: float = 0.0  # cosine of this sentence to the whole question
    rank: int  # rank of that chunk in the retrieval results
    fit: float = 0.0  # how well it answers the question, set when ranked for a facet or a passage


def units_of(hits: list[Hit], index: Index, query_vector: np.ndarray | None = None,
             whole_vector: np.ndarray | None = None) -> list[Unit]:
    """The sentences of the retrieved chunks, each once, in retrieval order; `sim` against the first
    vector (the question's topic), `whole` against the second (the whole question, names and all)."""
    out: list[Unit] = []
    seen: set[int] = set()
    for rank, hit in enumerate(hits):
        doc = index.documents[hit.chunk.doc_id]
        rows = [r for r in index.sentences_in(hit.chunk) if r not in seen]
        seen.update(rows)
        vectors = index.sentence_vectors[rows] if rows and query_vector is not None else None
        sims = vectors @ query_vector if vectors is not None else np.zeros(len(rows))
        wholes = vectors @ whole_vector if vectors is not None and whole_vector is not None else sims
        for row, sim, whole in zip(rows, sims, wholes):
            s = index.sentences[row]
            out.append(Unit(doc_id=s.doc_id, start=s.start, end=s.end, text=doc.text[s.start:s.end],
                            section=s.section, kind=s.kind, score=hit.score, dense=hit.dense or 0.0,
                            sim=float(sim), whole=float(whole), rank=rank))
    return out


def lead_hits(index: Index, pages: list[str]) -> list[Hit]:
    """The chunk holding each page's lead paragraph (the first paragraph before any heading: what a
    careers page or a taxonomy record says the job is), for questions about what the job involves."""
    out: list[Hit] = []
    for page in pages:
        doc = index.documents[page]
        lead = next((b for b in doc.blocks if b.kind == "paragraph"), None)
        if lead is None or lead.section is not None:
            continue
        row = next((r for r in index.chunk_rows.get(page, ()) if index.chunks[r].start <= lead.start
                    < index.chunks[r].end), None)
        if row is not None:
            out.append(Hit(chunk=index.chunks[row], score=1.0))
    return out


OPENING = 40  # a name this close to a sentence's start is what the sentence is about


def about_subject(unit: Unit, plan: QueryPlan, registry: Registry) -> bool:
    """Is this sentence about the occupation the question asks about?

    On a page about it, yes, unless the sentence opens by naming another occupation ("Ys usually start
    on band 5" on a page about Xs is about Ys, not the page's occupation).
    On any other page (one that mentions it in passing), only a sentence that names it."""
    occ = plan.occupation
    if occ is None:
        return False
    if occ.id not in registry.position:  # named in passing, in no page's front matter: the sentence must name it
        return names_phrase(unit.text, occ.names[0].name)
    position = registry.position[occ.id]
    hits = [h for h in registry.matcher.find(unit.text) if h.exact]
    if any(position in h.exact for h in hits):
        return True
    if unit.doc_id not in occ.pages:
        return False
    # "Ys in the NHS work 37.5 hours" on a page about "senior Ys": a name that ends the page's
    # occupation's own name is that occupation.
    return not any(h.start < OPENING and position not in h.partial for h in hits)


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


def content_terms(plan: QueryPlan) -> set[str]:
    """The question's terms less the occupation's own names, which nearly every sentence of its pages shares."""
    names = plan.occupation.names if plan.occupation else []
    role_terms = {t for n in names for t in terms(n.name)}
    return set(terms(plan.corrected)) - role_terms


def in_sources(units: list[Unit], plan: QueryPlan) -> list[Unit]:
    """Only the pages of the publishers the question names, if it names any."""
    return [u for u in units if u.doc_id in plan.sources] if plan.sources else units


# "Please check the for the latest information": a sentence whose link texts were lost. It stays in
# the text (the page said it) but is never quoted as an answer.
_BROKEN = re.compile(r"\b(the|a|an)\s+(for|and|or|to|of|on|at|in|with)\b", re.IGNORECASE)


def quotable(unit: Unit) -> bool:
    return unit.kind != "heading" and not _BROKEN.search(unit.text)


def is_a_name(unit: Unit, registry: Registry) -> bool:
    """A bullet that is only an occupation's name ("wine waiter" under "Alternative labels") answers
    a question about its names, and nothing else."""
    hits = registry.matcher.find(unit.text)
    return len(hits) == 1 and bool(hits[0].exact) and len(unit.text.strip(" .•*-")) <= hits[0].end - hits[0].start + 1


def opens_with_name(unit: Unit, plan: QueryPlan, registry: Registry) -> bool:
    """"Xs stock, prepare and serve ...": a sentence whose subject is the occupation
    says what it does (how taxonomy descriptions are written)."""
    if plan.occupation is None or plan.occupation.id not in registry.position:
        return False
    position = registry.position[plan.occupation.id]
    first = registry.matcher.find(unit.text[:80])
    return bool(first) and first[0].start <= 4 and position in first[0].exact and not is_a_name(unit, registry)


def facet_units(units: list[Unit], rule: FacetRule, plan: QueryPlan, registry: Registry) -> list[Unit]:
    """Units that answer this facet for this subject, best first: how close the sentence is to the
    question, how strongly it speaks to the facet, the words it shares, and its chunk's rank."""
    names_only = rule.facet == Facet.titles

    def evidence(u: Unit) -> bool:
        if not names_only and is_a_name(u, registry):
            return False
        return rule.is_evidence(u.text, u.section) or (rule.facet == Facet.duties and opens_with_name(u, plan, registry))

    found = [u for u in in_sources(units, plan) if evidence(u) and about_subject(u, plan, registry) and quotable(u)]
    if rule.facet == Facet.duties:  # a page's lead paragraph says what the job is (a taxonomy's description)
        found = [u.model_copy(update={"score": u.score + 0.5}) if u.section is None and u.kind == "paragraph"
                 else u for u in found]
    if rule.value:
        with_value = [u for u in found if rule.values(u.text)]
        found = with_value or found
    qterms = content_terms(plan)
    scored = [u.model_copy(update={"fit": u.sim + 0.3 * u.score + 0.4 * rule.strength(u.text)
                                   + 0.4 * overlap(u, qterms)}) for u in found]
    return sorted(scored, key=lambda u: (-u.fit, u.rank, u.start))


def alias_units(units: list[Unit], alias: str) -> list[Unit]:
    """Sentences that give `alias` as another name of the occupation (for a nickname the question used)."""
    key = re.sub(r"(?:e?s|['’]s?)$", "", alias.lower())
    pattern = re.compile(r"also known as|sometimes (called|referred)|referred to|\baka\b|known as|titles|"
                         r",\s*\w+ \w+,", re.IGNORECASE)
    return [u for u in units if key in u.text.lower() and pattern.search(u.text)]


_GENERIC_TOPIC = set(terms("job jobs work working worker role roles career careers people person thing things way "
                           "day good nice"))
_COUNTING = re.compile(r"^\W*(how (many|much|long|big|old|often)|when|what (year|date|age))\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|hundred|"
                     r"thousand|dozen)\b", re.IGNORECASE)


def best_passages(units: list[Unit], plan: QueryPlan, limit: int, registry: Registry) -> list[Unit]:
    """For questions no facet covers: the sentences closest to the question. A question asking how
    many, how much or when is answered only by a sentence that holds a number or a date."""
    qterms = content_terms(plan)
    pool = [u for u in in_sources(units, plan) if about_subject(u, plan, registry) and quotable(u)
            and len(u.text) > 12 and not is_a_name(u, registry)]
    if _COUNTING.search(plan.corrected):
        pool = [u for u in pool if _NUMBER.search(u.text)]
    # With no facet to vouch for it, a sentence must share a telling word with the question ("job" or
    # "work" tell nothing here) or be very close to it.
    telling = qterms - _GENERIC_TOPIC
    pool = [u for u in pool if (telling and overlap(u, telling) > 0) or u.sim >= 0.7]
    scored = [u.model_copy(update={"fit": u.sim + 0.5 * overlap(u, qterms) + 0.2 * u.score}) for u in pool]
    return sorted(scored, key=lambda u: (-u.fit, u.rank, u.start))[:limit]


_GENERIC = set(terms("much many get make earn earning paid pay salary wage money range figure typical typically "
                     "usual usually normal normally roughly around week year uk england nhs work"))


def qualifiers(plan: QueryPlan, rule: FacetRule) -> set[str]:
    """Words that narrow a figure question ("experienced", "starter"): the question's content terms
    less the facet's own vocabulary and the words any figure question uses."""
    return content_terms(plan) - set(terms(rule.expansion)) - _GENERIC


FACETS_WITH_VALUES = {Facet.band, Facet.pay, Facet.hours}


MARGIN = 0.3  # a passage this far below the best one is padding, not an answer
LIST_MARGIN = 0.45  # lists gather from several pages, so they keep more


def by_doc(units: list[Unit], per_doc: int, docs: int, total: int, margin: float = LIST_MARGIN) -> list[Unit]:
    """The best units, from at most `docs` pages, in reading order within each page.

    A short lead-in such as "You'll need:" says nothing by itself and is left out."""
    picked: dict[str, list[Unit]] = {}
    count = 0
    top = units[0].fit if units else 0.0
    for u in units:
        if (u.text.endswith(":") and len(u.text.split()) <= 4) or count >= total or u.fit < top - margin:
            continue
        if (u.doc_id in picked or len(picked) < docs) and len(picked.setdefault(u.doc_id, [])) < per_doc:
            picked[u.doc_id].append(u)
            count += 1
    return [u for group in picked.values() for u in sorted(group, key=lambda x: x.start)]


def with_lists(units: list[Unit], index: Index) -> list[Unit]:
    """A quote ending "may ask for:" is followed by the first items of its list, so it never dangles."""
    out: list[Unit] = []
    for u in units:
        out.append(u)
        if not u.text.endswith(":"):
            continue
        rows = index.sentence_rows.get(u.doc_id, [])
        doc = index.documents[u.doc_id]
        after = [index.sentences[r] for r in rows if index.sentences[r].start > u.start]
        for s in after[:3]:
            if s.kind != "bullet":
                break
            if not any(o.doc_id == u.doc_id and o.start == s.start for o in units + out):
                out.append(u.model_copy(update={"start": s.start, "end": s.end, "text": doc.text[s.start:s.end],
                                                "kind": "bullet"}))
    return out


def units_top(units: list[Unit], plan: QueryPlan, registry: Registry) -> float:
    best = best_passages(units, plan, 1, registry)
    return best[0].fit if best else 0.0


def alias_candidates(index: Index, alias: str, pages: list[str]) -> list[Unit]:
    """Every chunk of these pages that names the alias, as units: the line giving other names may not
    be among the hits."""
    key = alias.lower().rstrip("s")
    hits = [Hit(chunk=index.chunks[r], score=0.0) for p in pages for r in index.chunk_rows.get(p, ())
            if key in index.chunks[r].text.lower()]
    return units_of(hits, index)


def is_other_name(alias: str, plan: QueryPlan) -> bool:
    """Did the question use a name the occupation is not usually called by (a nickname), rather
    than its own name or part of it (the end of it, or a shortened form)?"""
    occ = plan.occupation
    if occ is None:
        return False
    key = name_key(alias)
    return not any(key in name_key(n) for n in (occ.name, occ.search_name or occ.name))
