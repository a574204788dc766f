"""Structure-aware chunks: sections by heading, whole blocks where they fit, whole sentences else.

A chunk never cuts a sentence unless that one sentence is longer than the model's window, and then
it is cut at word boundaries. Every chunk is a span text[start:end] of its cleaned document, and what
is embedded (title, section heading, text) fits the window, counted by the embedder's own tokenizer.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .models import Chunk, Document, Sentence
from .text import sentence_spans


def embed_text(title: str, section: str | None, text: str) -> str:
    head = title if not section or text.startswith(section) or section == title else f"{title} — {section}"
    return f"{head}\n{text}"


def _word_pieces(text: str, start: int, end: int, fits: Callable[[int, int], bool]) -> list[tuple[int, int]]:
    """Last resort for one over-long sentence: greedy runs of whole words that fit."""
    pieces: list[tuple[int, int]] = []
    bounds = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    i = 0
    while i < len(bounds):
        j = i + 1
        while j < len(bounds) and fits(bounds[i][0], bounds[j][1]):
            j += 1
        pieces.append((bounds[i][0], bounds[j - 1][1]))
        i = j
    return pieces


def sentences_of(doc: Document) -> list[Sentence]:
    """Quotable units in reading order: paragraphs split into sentences, bullets and headings whole."""
    out: list[Sentence] = []
    for block in doc.blocks:
        spans = (sentence_spans(doc.text, block.start, block.end) if block.kind == "paragraph"
                 else [(block.start, block.end)])
        out += [Sentence(doc_id=doc.meta.doc_id, start=s, end=e, kind=block.kind, section=block.section)
                for s, e in spans]
    return out


def chunk_document(doc: Document, count_tokens: Callable[[str], int], max_tokens: int) -> list[Chunk]:
    """Chunks of one document, in reading order, with row = -1 (the index numbers them)."""
    text, title = doc.text, doc.meta.title
    chunks: list[Chunk] = []

    def fits(start: int, end: int, section: str | None) -> bool:
        return count_tokens(embed_text(title, section, text[start:end])) <= max_tokens

    def emit(start: int, end: int, section: str | None) -> None:
        body = text[start:end]
        chunks.append(Chunk(row=-1, doc_id=doc.meta.doc_id, section=section, start=start, end=end,
                            text=body, embed_text=embed_text(title, section, body)))

    if doc.meta.passages == "records":
        # Every paragraph or bullet is a record of its own; its heading is in the embedded text.
        for block in doc.blocks:
            if block.kind == "heading":
                continue
            if fits(block.start, block.end, block.section):
                emit(block.start, block.end, block.section)
                continue
            for s, e in sentence_spans(text, block.start, block.end):
                pieces = [(s, e)] if fits(s, e, block.section) else _word_pieces(
                    text, s, e, lambda a, b: fits(a, b, block.section))
                for ps, pe in pieces:
                    emit(ps, pe, block.section)
        return chunks

    # Units: whole blocks, or a block's sentences when the block alone is too long.
    units: list[tuple[int, int, str | None, bool]] = []  # start, end, section, starts a section
    for block in doc.blocks:
        new_section = block.kind == "heading"
        if fits(block.start, block.end, block.section):
            units.append((block.start, block.end, block.section, new_section))
            continue
        for k, (s, e) in enumerate(sentence_spans(text, block.start, block.end)):
            if fits(s, e, block.section):
                units.append((s, e, block.section, new_section and k == 0))
            else:
                for ws, we in _word_pieces(text, s, e, lambda a, b: fits(a, b, block.section)):
                    units.append((ws, we, block.section, False))

    current: tuple[int, int, str | None] | None = None
    for start, end, section, opens in units:
        if current and not opens and section == current[2] and fits(current[0], end, section):
            current = (current[0], end, section)
            continue
        if current:
            emit(*current)
        current = (start, end, section)
    if current:
        emit(*current)
    return chunks
