"""The grounding rule, as code: every quote and every figure in an answer is in a cited snippet,
and every snippet is a verbatim span of its source document, running across nothing the cleaning
removed.

Used by the eval gate (CI fails on a single ungrounded answer) and by tests.
"""

from __future__ import annotations

import re

from .models import Answer, Document
from .render import date_label

_QUOTE = re.compile(r"“([^”]*)”")
_MARKER = re.compile(r"\[(\d+)\]")
# A figure: money, a number with separators or decimals, or a range's parts. "[1]" markers are not figures.
_FIGURE = re.compile(r"£?\d[\d,]*(?:\.\d+)?")


def _norm(text: str) -> str:
    return " ".join(text.replace("’", "'").split())


def problems(answer: Answer, documents: dict[str, Document]) -> list[str]:
    """Everything that breaks the rule; an empty list means the answer is grounded."""
    found: list[str] = []
    if answer.error:
        # A refused question ("it is 1,001 characters long") says nothing about careers: its figures
        # are about the question. It must simply cite nothing.
        return ["a refused question cites sources"] if answer.citations else []
    if answer.abstained:
        # A refusal quotes nothing; its only figures are about the index ("I cover 27 occupations").
        return ["an abstention cites sources"] if answer.citations else []
    snippets = []
    for n, c in enumerate(answer.citations, start=1):
        doc = documents.get(c.doc_id)
        if doc is None:
            found.append(f"citation [{n}] names unknown document {c.doc_id!r}")
            continue
        if doc.text[c.start : c.end] != c.snippet:
            found.append(f"citation [{n}] snippet is not the span {c.start}:{c.end} of {c.doc_id}")
        elif doc.crosses_gap(c.start, c.end):
            found.append(f"citation [{n}] snippet runs across text the cleaning removed from {c.doc_id}")
        snippets.append(_norm(c.snippet))
    text = answer.answer
    for m in _MARKER.finditer(text):
        if not 1 <= int(m.group(1)) <= len(answer.citations):
            found.append(f"marker [{m.group(1)}] has no citation")
    for quote in _QUOTE.findall(text):
        if not any(_norm(quote) in s for s in snippets):
            found.append(f"quote not in any cited snippet: “{quote[:80]}”")
    # Figures outside quotes must be in a snippet too; a cited page's own date label is metadata.
    rest = _QUOTE.sub(" ", _MARKER.sub(" ", text))
    for c in answer.citations:
        rest = rest.replace(date_label(c), " ")
    for figure in _FIGURE.findall(rest):
        bare = figure.rstrip(",.")
        # Whole numbers only: "£20" is not in "£20,000", nor "3" in "37.5".
        if not any(re.search(r"(?<![\d,.])" + re.escape(bare) + r"(?![\d]|[,.]\d)", s) for s in snippets):
            found.append(f"figure {bare} is in no cited snippet")
    if answer.abstained and answer.citations:
        found.append("an abstention cites sources")
    return found


def is_grounded(answer: Answer, documents: dict[str, Document]) -> bool:
    return not problems(answer, documents)
