"""Answers on the real five-page corpus with the hash embedder: fast, deterministic, exact.

The real model is tested beside these in test_end_to_end.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.embedding import HashEmbedder
from assistant.grounding import problems
from assistant.index import build_index
from assistant.models import Facet
from assistant.pipeline import Assistant, Conversation
from assistant.settings import Settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=tmp_path_factory.mktemp("idx") / "index",
                        embedder="hash", abstain_threshold=0.0)  # calibrated for the real model only
    embedder = HashEmbedder()
    build_index(settings, embedder)
    return Assistant(settings, embedder=embedder)


def grounded(assistant: Assistant, answer) -> None:
    assert problems(answer, assistant.index.documents) == []


def test_band_answer_quotes_both_pages_that_give_it(assistant: Assistant) -> None:
    answer = assistant.ask("What band do OT support workers start on?")
    assert not answer.abstained and answer.facet == Facet.band
    assert answer.answer.startswith("OT support workers usually start on **band 3** [1][2].")
    assert {c.doc_id for c in answer.citations} == {"nhs-ot-support-worker", "bbc-bitesize-ot-technical-instructor"}
    assert "band 5" not in answer.answer  # that sentence is about occupational therapists
    grounded(assistant, answer)


def test_pay_conflict_names_every_publisher_with_its_figure_and_date(assistant: Assistant) -> None:
    answer = assistant.ask("How much are OT support workers paid?")
    assert answer.conflict and answer.answer.startswith("The sources disagree on pay")
    for phrase in ["£15,250 to £22,500", "£20,329 to £24,881", "£24,000 to £30,000", "National Careers Service",
                   "last updated 10 September 2018", "BBC Bitesize", "Coursera"]:
        assert phrase in answer.answer
    grounded(assistant, answer)


def test_hours_conflict_groups_pages_that_agree(assistant: Assistant) -> None:
    answer = assistant.ask("How many hours a week do OT support workers work?")
    assert answer.conflict
    lines = answer.answer.splitlines()
    assert "- **37.5**" in lines and "- **40-42**" in lines
    assert sum(line.startswith("  - ") for line in lines) == 3
    grounded(assistant, answer)


def test_qualifier_narrows_a_figure_to_the_page_that_has_it(assistant: Assistant) -> None:
    answer = assistant.ask("How much can an experienced OT support worker earn?")
    assert "£19,250 to £22,500" in answer.answer and not answer.conflict
    assert [c.doc_id for c in answer.citations] == ["ncs-ot-support-worker"]


@pytest.mark.parametrize("question, reason", [
    ("How much does a paramedic earn?", "I have no pages about paramedics."),
    ("what's the capital of France?", "they don't mention ‘capital’, ‘France’."),
    ("Do OT support workers get paid overtime?", "they don't mention ‘overtime’."),
])
def test_out_of_scope_questions_get_no_answer_and_no_citation(assistant: Assistant, question: str,
                                                              reason: str) -> None:
    answer = assistant.ask(question)
    assert answer.abstained and answer.citations == [] and answer.reason == reason
    assert "OT support workers" in answer.answer  # what the pages do cover, from the registry
    assert "“" not in answer.answer  # curly quotes are for words quoted from a source
    grounded(assistant, answer)


def test_alias_question_is_about_the_role_and_says_so(assistant: Assistant) -> None:
    answer = assistant.ask("What band do rehabilitation assistants start on?")
    assert "**band 3**" in answer.answer
    assert "_The sources give rehabilitation assistants as another name for OT support workers [" in answer.answer
    grounded(assistant, answer)


def test_follow_up_inherits_the_subject_and_a_short_one_the_facet(assistant: Assistant) -> None:
    chat = Conversation(assistant)
    first = chat.ask("What band do occupational therapists start on?")
    assert "**band 5**" in first.answer and first.subject == "occupational-therapist"
    second = chat.ask("and OT support workers?")
    assert "**band 3**" in second.answer and second.facet == Facet.band
    third = chat.ask("and how many hours do they work?")
    assert third.facet == Facet.hours and "37.5" in third.answer and third.subject == "ot-support-worker"


def test_publisher_named_in_the_question_limits_the_quotes_to_its_page(assistant: Assistant) -> None:
    answer = assistant.ask("What average salary does BBC Bitesize give?")
    assert [c.doc_id for c in answer.citations] == ["bbc-bitesize-ot-technical-instructor"]
    assert "£20,329 to £24,881" in answer.answer


@pytest.mark.parametrize("question, error", [
    ("", "The question is empty"),
    ("   \n\t ", "The question is empty"),
    ("x" * 1001, "The question is 1,001 characters long; please keep it under 1,000."),
    ("\x00\x01\x02\x03", "That doesn't look like a question"),
    ("?!?! ...", "That doesn't look like a question"),
])
def test_bad_questions_get_a_message_not_a_traceback(assistant: Assistant, question: str, error: str) -> None:
    answer = assistant.ask(question)
    assert answer.abstained and answer.error and answer.error.startswith(error) and answer.citations == []


def test_every_snippet_is_an_exact_span_and_quotes_are_inside_snippets(assistant: Assistant) -> None:
    for question in ["What skills do I need?", "Where do OT support workers work?", "Do I need a degree?",
                     "Can I do an apprenticeship?", "How much annual leave do they get?",
                     "What other names are there for the job?", "How can I progress?"]:
        answer = assistant.ask(question)
        assert not answer.abstained, question
        for c in answer.citations:
            assert assistant.index.documents[c.doc_id].text[c.start:c.end] == c.snippet
        grounded(assistant, answer)
