"""Citations numbered in order of first use; every snippet is an exact span of its cleaned page."""

from __future__ import annotations

from .evidence import Unit
from .indexstore import Index
from .models import Citation


class Citations:
    """Numbers quoted units as citations in order of first use. Quotes from one page that lie close
    together share a citation whose snippet is the exact source span covering them, unless that span
    would run across something the cleaning removed: the snippet would then read as if the page said
    the two together."""

    MAX_SPAN = 700

    def __init__(self, index: Index) -> None:
        self.index, self.items = index, []  # type: list[Citation]

    def add(self, unit: Unit) -> int:
        doc = self.index.documents[unit.doc_id]
        for n, c in enumerate(self.items, start=1):
            if c.doc_id != unit.doc_id:
                continue
            start, end = min(c.start, unit.start), max(c.end, unit.end)
            if end - start <= self.MAX_SPAN and not doc.crosses_gap(start, end):
                self.items[n - 1] = c.model_copy(update={
                    "start": start, "end": end, "snippet": doc.text[start:end], "score": max(c.score, unit.score)})
                return n
        meta = doc.meta
        self.items.append(Citation(
            doc_id=unit.doc_id, title=meta.title, publisher=meta.publisher, url=meta.url,
            last_updated=meta.last_updated, date_note=meta.date_note, licence=meta.licence, snippet=unit.text,
            score=round(unit.score, 4), start=unit.start, end=unit.end))
        return len(self.items)
