"""Which pages give evidence for which topic of each occupation: the coverage map's cells.

A page gives evidence for a topic when one of its sentences does by the product's own rule
(facets.page_evidence, the rule the build uses to offer starters): nothing here knows any occupation.
Cells are worked out per occupation when a page of the map shows it, and kept for the loaded index,
so a taxonomy-sized corpus costs only the rows looked at.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import date

from pydantic import BaseModel

from ...facets import RULES, page_evidence
from ...index import Index
from ...models import Facet, Occupation, Sentence

# The map's columns: every facet the rules know, in their order, but "other" (no rule of its own).
TOPICS: list[Facet] = [r.facet for r in RULES if r.facet != Facet.other]
LABELS: dict[Facet, str] = {r.facet: r.label for r in RULES}


class Cell(BaseModel):
    pages: list[str]  # doc ids of the occupation's pages with evidence for the topic
    oldest: date | None = None  # the oldest "last updated" among them
    undated: int = 0  # how many of them state no date

    def stale(self, before: date) -> bool:
        return self.oldest is not None and self.oldest < before


class CoverageMap:
    def __init__(self, index: Index, keep_pages: int = 5_000) -> None:
        self.index = index
        self.keep_pages = keep_pages
        self._pages: OrderedDict[str, dict[Facet, list[Sentence]]] = OrderedDict()

    def evidence(self, doc_id: str) -> dict[Facet, list[Sentence]]:
        """Each topic's evidence sentences on one page, in reading order."""
        if doc_id in self._pages:
            self._pages.move_to_end(doc_id)
            return self._pages[doc_id]
        doc = self.index.documents[doc_id]
        found = page_evidence(doc, [self.index.sentences[r] for r in self.index.sentence_rows.get(doc_id, ())])
        self._pages[doc_id] = found
        while len(self._pages) > self.keep_pages:
            self._pages.popitem(last=False)
        return found

    def row(self, occupation: Occupation) -> dict[Facet, Cell]:
        cells: dict[Facet, Cell] = {}
        for topic in TOPICS:
            pages = [p for p in occupation.pages if self.evidence(p).get(topic)]
            dates = [self.index.documents[p].meta.last_updated for p in pages]
            known = [d for d in dates if d is not None]
            cells[topic] = Cell(pages=pages, oldest=min(known) if known else None, undated=len(dates) - len(known))
        return cells

    def occupations(self, query: str = "") -> list[Occupation]:
        """The occupations with pages of their own, by name; with a query, those any of whose names hold it."""
        wanted = " ".join(query.casefold().split())
        found = [o for o in self.index.registry.covered
                 if not wanted or any(wanted in n.name.casefold() for n in o.names)]
        return sorted(found, key=lambda o: (o.name.casefold(), o.id))


class CoverageCache:
    """One CoverageMap for the index now loaded: a reloaded index gets a fresh one."""

    def __init__(self) -> None:
        self._map: CoverageMap | None = None

    def for_index(self, index: Index) -> CoverageMap:
        if self._map is None or self._map.index is not index:
            self._map = CoverageMap(index)
        return self._map
