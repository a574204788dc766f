"""At build time: each occupation with what its pages show (facets with evidence, the name they use most)."""

from __future__ import annotations

from collections import Counter

from ..models import Document, Occupation, Sentence
from .names import name_key
from .registry import Registry


def enrich(occupations: list[Occupation], documents: list[Document],
           sentences: list[Sentence]) -> list[Occupation]:
    """Each occupation with the facets its pages have evidence for (the welcome screen's starters
    offer only questions the pages can answer) and the name its pages use most."""
    from ..facets import RULES, page_evidence  # the facet rules are the query side's; only the build needs them

    by_doc: dict[str, list[Sentence]] = {}
    for s in sentences:
        by_doc.setdefault(s.doc_id, []).append(s)
    found = {d.meta.doc_id: {f.value for f in page_evidence(d, by_doc.get(d.meta.doc_id, []))} for d in documents}
    order = [r.facet.value for r in RULES]

    # The name the pages use most, counted as the matcher reads them (the longest name at each place:
    # "X helper assistants" counts for that name, not for its prefix "X helper").
    registry = Registry(occupations)
    used: Counter = Counter()
    for doc in documents:
        for hit in registry.matcher.find(doc.text):
            for position in hit.exact:
                used[(position, name_key(hit.text))] += 1

    def most_used(i: int, o: Occupation) -> str:
        counts = [(used[(i, name_key(n.name))] * len(n.name), -k) for k, n in enumerate(o.names)]
        return o.names[-max(counts)[1]].name

    return [o.model_copy(update={"facets": [f for f in order if any(f in found.get(p, ()) for p in o.pages)],
                                 "search_name": most_used(i, o)}) for i, o in enumerate(occupations)]
