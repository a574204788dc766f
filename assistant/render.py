"""Turn answers into what people read: the CLI's plain text and the labels the UI shows."""

from __future__ import annotations

from .models import Answer, Citation, DocumentMeta


def date_label(meta: DocumentMeta | Citation) -> str:
    if meta.last_updated:
        return f"last updated {meta.last_updated.day} {meta.last_updated:%B %Y}"
    if meta.date_note:
        return f"undated; {meta.date_note}"
    return "undated"


def source_line(n: int, c: Citation) -> str:
    url = f" <{c.url}>" if c.url else ""
    licence = f"\n    {c.licence}" if c.licence else ""  # the attribution ESCO and O*NET ask for
    return f"[{n}] {c.publisher}: {c.title} ({date_label(c)}){url}{licence}"


def as_text(answer: Answer) -> str:
    if answer.error:
        return answer.error
    lines = [answer.answer]
    if answer.citations:
        lines += ["", "Sources:"] + [source_line(n, c) for n, c in enumerate(answer.citations, start=1)]
    return "\n".join(lines)
