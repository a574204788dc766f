"""The grounding rule on hand-made answers: what passes, and each way of breaking it."""

from __future__ import annotations

from datetime import date

from assistant.grounding import problems
from assistant.models import Answer, Block, Citation, Document, DocumentMeta

TEXT = "Support workers start on band 3. The salary is £20,000 to £24,000 a year.\n\nLast updated: 10 May 2020"
DOC = Document(
    meta=DocumentMeta(doc_id="d", title="T", publisher="P", last_updated=date(2020, 5, 10), source_file="d.md"),
    text=TEXT, blocks=[Block(kind="paragraph", start=0, end=73)],
)
DOCS = {"d": DOC}


def cite(start: int, end: int) -> Citation:
    return Citation(doc_id="d", title="T", publisher="P", url=None, last_updated=date(2020, 5, 10),
                    snippet=TEXT[start:end], score=1.0, start=start, end=end)


def answer(text: str, citations: list[Citation], abstained: bool = False) -> Answer:
    return Answer(question="q", answer=text, abstained=abstained, citations=citations)


def test_quote_and_figures_inside_the_snippet_pass() -> None:
    a = answer("Pay: **£20,000 to £24,000** [1].\n\n> “The salary is £20,000 to £24,000 a year.” [1]", [cite(33, 73)])
    assert problems(a, DOCS) == []


def test_the_cited_pages_own_date_is_not_a_figure_to_check() -> None:
    a = answer("P (last updated 10 May 2020): “Support workers start on band 3.” [1]", [cite(0, 32)])
    assert problems(a, DOCS) == []


def test_a_figure_not_in_any_snippet_fails() -> None:
    a = answer("Pay: **£21,000** [1].", [cite(33, 73)])
    assert problems(a, DOCS) == ["figure £21,000 is in no cited snippet"]


def test_a_number_inside_a_longer_number_does_not_count() -> None:
    a = answer("Pay: **£20** [1].", [cite(33, 73)])
    assert problems(a, DOCS) == ["figure £20 is in no cited snippet"]


def test_a_quote_not_in_the_snippets_fails() -> None:
    a = answer("> “Support workers start on band 4.” [1]", [cite(0, 32)])
    assert problems(a, DOCS) == ["quote not in any cited snippet: “Support workers start on band 4.”"]


def test_a_snippet_that_is_not_the_source_span_fails() -> None:
    bad = cite(0, 32).model_copy(update={"snippet": "Support workers start on band 3!"})
    assert problems(answer("“Support workers start on band 3!” [1]", [bad]), DOCS) == [
        "citation [1] snippet is not the span 0:32 of d"]


def test_a_marker_without_a_citation_fails() -> None:
    assert problems(answer("Band 3 [2].", [cite(0, 32)]), DOCS) == ["marker [2] has no citation"]


def test_an_abstention_must_not_cite() -> None:
    assert problems(answer("I can't answer that.", [cite(0, 32)], abstained=True), DOCS) == [
        "an abstention cites sources"]
