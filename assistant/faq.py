"""careers-assistant faq-check: run careers staff's own question list and say what passed and why.

The CSV needs a `question` and an `expected` column (phrases that must appear, separated by `;`, or
`no answer` when the assistant should decline); `id`, `notes` and `facet` are optional. A bad row is
reported by its row number and skipped; the good rows still run.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import BaseModel

from .errors import AssistantError
from .metrics import missing_phrases
from .models import Answer
from .pipeline import Assistant

NO_ANSWER = {"no answer", "no-answer", "decline", "none"}


class FaqRow(BaseModel):
    row: int  # the line number a spreadsheet shows (header is row 1)
    id: str
    question: str
    expected: list[str]
    should_decline: bool
    notes: str = ""
    facet: str | None = None


class FaqResult(BaseModel):
    row: FaqRow
    answer: Answer
    passed: bool
    verdict: str  # pass, or the kind of failure
    why: str


class FaqFile(BaseModel):
    rows: list[FaqRow]
    problems: list[str]


def read_faq(path: Path) -> FaqFile:
    """Parse the CSV; raise AssistantError only when nothing at all can be read."""
    if not path.is_file():
        raise AssistantError(f"No file at {path}.")
    data = path.read_bytes()
    problems: list[str] = []
    if not data.strip():
        raise AssistantError(f"{path.name} is empty: it needs a header row with question and expected columns.")
    if b"\0" in data[:4096]:
        raise AssistantError(f"{path.name} is not a CSV file (it holds binary data). Save it as CSV UTF-8.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        # Excel on Windows saves "CSV" as Windows-1252: read it, but say so, since £ may be off.
        text = data.decode("cp1252", errors="replace")
        problems.append(f"{path.name} is not UTF-8 (byte {err.start}); read it as Windows-1252. "
                        "Save it as 'CSV UTF-8' to be sure £ signs and accents are right.")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    headers = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
    missing = [c for c in ("question", "expected") if c not in headers]
    if missing:
        found = ", ".join(repr(h) for h in reader.fieldnames or []) or "none"
        raise AssistantError(f"{path.name} has no {' or '.join(missing)} column (columns found: {found}). "
                             "The first row must name the columns: id,question,expected,notes.")
    rows: list[FaqRow] = []
    for number, raw in enumerate(reader, start=2):
        def get(name: str) -> str:
            key = headers.get(name)
            value = raw.get(key) if key else None
            return (value or "").strip()

        question, expected = get("question"), get("expected")
        if not question:
            if any((v or "").strip() for v in raw.values() if isinstance(v, str)):
                problems.append(f"row {number}: no question; skipped")
            continue
        if None in raw:  # more cells than headers
            problems.append(f"row {number}: more cells than columns; extra cells ignored (quote cells with commas)")
        decline = expected.lower() in NO_ANSWER
        phrases = [] if decline else [p.strip() for p in expected.split(";") if p.strip()]
        if not decline and not phrases:
            problems.append(f"row {number}: no expected phrase; only checked that it answers")
        rows.append(FaqRow(row=number, id=get("id") or f"row-{number}", question=question, expected=phrases,
                           should_decline=decline, notes=get("notes"), facet=get("facet") or None))
    if not rows:
        problems.append(f"{path.name} has no row with a question.")
    return FaqFile(rows=rows, problems=problems)


def check(assistant: Assistant, row: FaqRow) -> FaqResult:
    response = assistant.respond(row.question)
    answer = response.answer
    if answer.error:
        return FaqResult(row=row, answer=answer, passed=False, verdict="bad question", why=answer.error)
    if row.should_decline:
        if answer.abstained:
            return FaqResult(row=row, answer=answer, passed=True, verdict="pass", why="declined, as expected")
        return FaqResult(row=row, answer=answer, passed=False, verdict="answered when it should have declined",
                         why=f"it answered about {answer.facet.value if answer.facet else 'the question'}, "
                             f"citing {', '.join(c.publisher for c in answer.citations)}")
    if answer.abstained:
        return FaqResult(row=row, answer=answer, passed=False, verdict="abstained", why=answer.reason or "")
    if row.facet and answer.facet and row.facet != answer.facet.value:
        return FaqResult(row=row, answer=answer, passed=False, verdict="wrong facet",
                         why=f"expected a {row.facet} answer, got {answer.facet.value}")
    missing = missing_phrases(answer.answer, row.expected)
    if not missing:
        return FaqResult(row=row, answer=answer, passed=True, verdict="pass", why="every expected phrase is there")
    retrieved = " ".join(h.chunk.text for h in response.hits)
    in_corpus = " ".join(d.text for d in assistant.index.documents.values())
    found_later = [p for p in missing if not missing_phrases(retrieved, [p])]
    if found_later:
        return FaqResult(row=row, answer=answer, passed=False, verdict="expected phrase missing",
                         why=f"missing {', '.join(missing)}; the retrieved passages hold "
                             f"{', '.join(found_later)} but the answer quoted others")
    absent = [p for p in missing if missing_phrases(in_corpus, [p])]
    if absent:
        return FaqResult(row=row, answer=answer, passed=False, verdict="expected phrase missing",
                         why=f"missing {', '.join(missing)}; no source page contains {', '.join(absent)}")
    return FaqResult(row=row, answer=answer, passed=False, verdict="nothing retrieved",
                     why=f"missing {', '.join(missing)}; a source page has it but retrieval did not find it")
