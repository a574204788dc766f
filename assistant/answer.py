"""Compose the reply: a short templated lead around figures taken verbatim from the best units,
then the quotes themselves, each with its citation number; or a plain "the sources don't say".

Template words carry no figure of their own: every number in an answer is in a cited snippet (or is
a cited page's own date), and every quote is an exact span of a cleaned source.
"""

from __future__ import annotations

import re

from . import facets
from .evidence import (FACETS_WITH_VALUES, LIST_MARGIN, MARGIN, Unit, alias_candidates, alias_units, best_passages,
                       by_doc, facet_units, is_other_name, lead_hits, overlap, qualifiers, units_of, units_top,
                       with_lists)
from .citations import Citations
from .indexstore import Index
from .models import Answer, Facet
from .query import QueryPlan
from .render import date_label
from .replies import abstain, clarify, follow_ups, uncovered
from .retrieval import Retrieved
from .settings import Settings
from .text import terms

def _quote(unit: Unit, n: int) -> str:
    return f"> “{unit.text}” [{n}]"


def _plural(plan: QueryPlan) -> str:
    return plan.occupation.plural if plan.occupation else "them"


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def _norm(value: str) -> str:
    return re.sub(r"\s+|to|–|-|band", "", value.lower())


def _value_section(rule: facets.FacetRule, units: list[Unit], plan: QueryPlan,
                   cites: Citations) -> tuple[list[str], bool]:
    """Lead and quotes for band, pay and hours: one figure per page, each page named where they differ.
    Returns the lines and whether the pages disagree."""
    if rule.facet == Facet.band:  # the starting band, when any page says which band people start on
        starting = [u for u in units if re.search(r"start", u.text, re.IGNORECASE)]
        units = starting or units
    # One figure per page: the unit sharing most of the question's words ("starter" for "starting pay"),
    # else the page's general line ("Salary: ... average per year") over a special case.
    qterms = set(terms(plan.corrected))
    general = re.compile(r"salary|average|typical|standard|usually|start", re.IGNORECASE)
    best: dict[str, Unit] = {}
    for u in sorted(units, key=lambda u: (-overlap(u, qterms), not general.search(u.text), u.rank, u.start)):
        best.setdefault(u.doc_id, u)
    doc_order = list(dict.fromkeys(u.doc_id for u in units))
    chosen = [best[d] for d in doc_order][:4]
    values = {u.doc_id: rule.values(u.text)[0] for u in chosen}
    groups: dict[str, list[Unit]] = {}
    for u in chosen:
        groups.setdefault(_norm(values[u.doc_id]), []).append(u)
    plural = _plural(plan)
    if len(groups) > 1:
        lines = [f"The sources disagree on {rule.label.lower()} for {plural}, so here is each with its date:", ""]
        for group in groups.values():
            lines.append(f"- **{values[group[0].doc_id]}**")
            for u in group:
                meta = cites.index.documents[u.doc_id].meta
                lines.append(f"  - {meta.publisher} ({date_label(meta)}): “{u.text}” [{cites.add(u)}]")
        return lines, True
    value = next(iter(values.values()))
    refs = "".join(f"[{cites.add(u)}]" for u in chosen)
    lead = {
        Facet.band: f"{plural} usually start on **{value}** {refs}.",
        Facet.pay: f"Pay for {plural}: **{value}** {refs}.",
        Facet.hours: f"{plural} usually work **{value}** hours a week {refs}.",
    }[rule.facet]
    return [_sentence_case(lead), ""] + [_quote(u, cites.add(u)) for u in chosen], False


def _asks_amount(plan: QueryPlan, facet: Facet) -> bool:
    """"How many hours" wants the figure; "do they work nights?" wants the sentence about shifts."""
    if facet != Facet.hours:
        return True
    asked = f"{plan.corrected} {plan.topic_text}"  # the topic carries a facet inherited from the last question
    return bool(re.search(r"how (many|long)|\bhours?\b|\bhrs\b|working week|full[- ]time", asked, re.I))


def compose(plan: QueryPlan, found: Retrieved | None, index: Index, settings: Settings) -> Answer:
    registry = index.registry
    occ = plan.occupation
    facet = plan.facets[0] if plan.facets else Facet.other
    if plan.subject_kind == "other":
        return uncovered(plan.question, plan.asked or "that occupation", [registry[c] for c in plan.candidates],
                         registry, facet)
    if plan.subject_kind == "clarify":
        return clarify(plan.question, plan.alias, [registry[c] for c in plan.candidates], facet)
    if occ is None or found is None:
        return abstain(plan.question, "they don't describe any occupation yet.", registry)
    if plan.unknown_terms:
        shown = ", ".join(f"‘{t}’" for t in plan.unknown_terms[:3])
        return abstain(plan.question, f"they don't mention {shown}.", registry, occ)
    # Questions about the role's names are about the role itself: rank their sentences by the whole
    # question; everything else by its topic.
    about_names = Facet.titles in plan.facets
    hits = found.hits
    if Facet.duties in plan.facets and occ.pages:  # what a page says the job is, retrieved or not
        hits = [h for h in lead_hits(index, occ.pages[:3]) if all(h.chunk.row != o.chunk.row for o in hits)] + hits
    units = units_of(hits, index, found.query_vector if about_names else found.topic_vector, found.query_vector)
    cites = Citations(index)
    body: list[str] = []
    confidence = 0.0
    conflict = False
    for facet in plan.facets or [Facet.other]:
        if facet == Facet.other:
            chosen = [u for u in best_passages(units, plan, 2, registry)
                      if u.fit >= units_top(units, plan, registry) - MARGIN]
            if chosen:
                body += ["Here is what the sources say:", ""] + [_quote(u, cites.add(u)) for u in chosen]
        else:
            rule = facets.RULE[facet]
            ranked = facet_units(units, rule, plan, registry)
            chosen = ranked
            valued = [u for u in ranked if rule.values(u.text)]
            if valued and facet in FACETS_WITH_VALUES and _asks_amount(plan, facet):
                narrowed = [u for u in valued if overlap(u, qualifiers(plan, rule)) > 0]
                lines, disagree = _value_section(rule, narrowed or valued, plan, cites)
                body += lines
                conflict = conflict or disagree
            elif ranked:
                # A question naming one publisher gets that page's whole list; otherwise a few from each.
                one_page = len(plan.sources) == 1
                chosen = with_lists(by_doc(ranked, per_doc=8 if one_page else 3, docs=3,
                                             total=8 if one_page else settings.max_quotes_per_answer,
                                             margin=1.0 if one_page else LIST_MARGIN), index)
                body += [f"**{rule.label}** for {_plural(plan)}, from the sources:", ""]
                body += [_quote(u, cites.add(u)) for u in chosen]
        if chosen:
            # A facet's evidence about the occupation counts by the whole question too: "What band do
            # they start on?" is close to little on its own, and its topic is all the question has.
            confidence = max(confidence, max(max(u.sim, u.whole) if facet != Facet.other else u.sim
                                             for u in chosen[:2]))
        body.append("")
    if not cites.items:
        what = ", ".join(facets.RULE[f].label.lower() for f in plan.facets) or "that"
        refused = abstain(plan.question, f"they don't say anything about {what} for {_plural(plan)}.", registry, occ)
        return refused.model_copy(update={"facet": facet})
    if confidence < settings.abstain_threshold:
        refused = abstain(plan.question, "nothing in them matches the question closely enough.", registry, occ)
        return refused.model_copy(update={"facet": facet})
    if plan.alias and plan.subject_kind == "target" and is_other_name(plan.alias, plan):
        named = alias_units(alias_candidates(index, plan.alias, occ.pages), plan.alias)
        if named:
            body.append(f"_The sources give {plan.alias.strip()} as another name for {occ.plural} "
                        f"[{cites.add(named[0])}]._")
    return Answer(question=plan.question, answer="\n".join(body).strip(), abstained=False,
                  citations=cites.items, facet=facet, subject=occ.id, occupation=occ.name,
                  confidence=round(confidence, 4), conflict=conflict, suggestions=follow_ups(facet, occ))
