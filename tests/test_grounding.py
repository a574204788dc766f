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


# --- nothing cited may run across what the cleaning removed -------------------------------------

GAP_TEXT = "Band 5 is for therapists.\n\nOther titles include OT assistant."
GAP_DOC = Document(
    meta=DocumentMeta(doc_id="g", title="T", publisher="P", source_file="g.md"), text=GAP_TEXT,
    blocks=[Block(kind="paragraph", start=0, end=25), Block(kind="paragraph", start=27, end=61, gap_before=True)],
)


def test_a_snippet_across_a_gap_fails_even_though_it_is_an_exact_span() -> None:
    joined = Citation(doc_id="g", title="T", publisher="P", url=None, last_updated=None, snippet=GAP_TEXT,
                      score=1.0, start=0, end=61)
    assert problems(answer("> “Band 5 is for therapists.” [1]", [joined]), {"g": GAP_DOC}) == [
        "citation [1] snippet runs across text the cleaning removed from g"]


BAND_5 = "Occupational therapists usually start on band 5 of the pay scale."
TITLES = "Occupational therapy (OT) technical instructor roles are sometimes referred to by different titles"


def _unit(index, doc_id: str, opening: str):
    from assistant.evidence import Unit

    doc = index.documents[doc_id]
    s = next(s for s in index.sentences if s.doc_id == doc_id and doc.text[s.start : s.end].startswith(opening))
    return Unit(doc_id=doc_id, start=s.start, end=s.end, text=doc.text[s.start : s.end], section=s.section,
                kind=s.kind, score=1.0, dense=0.0, sim=0.0, rank=0)


def test_quotes_either_side_of_a_removed_line_get_citations_of_their_own(hash_assistant) -> None:
    # On the BBC page "For more information on the two different roles, check out:" (and its lost links)
    # sat between these two sentences; one snippet covering both would glue them together.
    from assistant.citations import Citations

    index = hash_assistant.index
    cites = Citations(index)
    doc_id = "bbc-bitesize-ot-technical-instructor"
    assert [cites.add(_unit(index, doc_id, BAND_5)), cites.add(_unit(index, doc_id, TITLES))] == [1, 2]
    assert [c.snippet[:40] for c in cites.items] == [BAND_5[:40], TITLES[:40]]
    # Quotes with nothing removed between them still share one citation.
    first = "Occupational therapy technical instructors (aka"
    assert cites.add(_unit(index, doc_id, first)) == 1
    assert cites.items[0].snippet.startswith(first) and cites.items[0].snippet.endswith(BAND_5)


def test_answers_on_the_seed_pages_cite_nothing_across_a_gap(hash_assistant) -> None:
    questions = ["What other job titles are used for OT support workers?", "Can an OT assistant go on to become "
                 "an occupational therapist?", "What band do OT support workers start on?", "What does Amy do?"]
    docs = hash_assistant.index.documents
    found = {q: problems(hash_assistant.ask(q), docs) for q in questions}
    assert found == {q: [] for q in questions}
