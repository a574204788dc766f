"""Property-based tests: any text at all goes through cleaning, chunking, retrieval and answering
without an exception, and every answer still obeys the grounding rule and renders as text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from assistant.chunking import chunk_document
from assistant.cleaning import clean
from assistant.embedding import HashEmbedder
from assistant.grounding import problems
from assistant.index import build_index
from assistant.models import Document, DocumentMeta
from assistant.pipeline import Assistant, Conversation
from assistant.settings import Settings

REPO = Path(__file__).resolve().parents[1]
FAST = hsettings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text a hostile or careless visitor might send: any Unicode, with extra weight on the troublemakers.
nasty = st.sampled_from(["\u202e", "\u200f", "\u0000", "\r\n", "\x1b[31m", "🙂", "拢", "鈥", "<script>", "</p>",
                         "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "**", "> ", "• ", "£",
                         "band 3", "OT support worker", "\ufeff", "\u2028", "'; DROP TABLE feedbacks; --"])
texts = st.lists(st.one_of(st.text(max_size=40), nasty), max_size=30).map("".join)
questions = st.one_of(texts, st.text(min_size=900, max_size=1100), st.lists(nasty, max_size=60).map(" ".join))


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=tmp_path_factory.mktemp("prop") / "index",
                        embedder="hash")
    embedder = HashEmbedder()
    build_index(settings, embedder)
    return Assistant(settings, embedder=embedder)


@FAST
@given(texts)
def test_cleaning_any_text_gives_exact_printable_blocks(raw: str) -> None:
    text, blocks = clean(raw)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", text)
    for block in blocks:
        assert 0 <= block.start < block.end <= len(text) and text[block.start:block.end].strip()


@FAST
@given(texts)
def test_chunking_any_document_gives_exact_spans_within_the_window(raw: str) -> None:
    text, blocks = clean(raw)
    doc = Document(meta=DocumentMeta(doc_id="d", title="T", publisher="P", source_file="d.md"), text=text,
                   blocks=blocks)
    embedder = HashEmbedder()
    for chunk in chunk_document(doc, embedder.count_tokens, 200):
        assert text[chunk.start:chunk.end] == chunk.text
        assert embedder.count_tokens(chunk.embed_text) <= 200


@FAST
@given(questions)
def test_any_question_gets_a_grounded_text_answer(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert problems(answer, assistant.index.documents) == []
    # Nothing the visitor typed is echoed into the answer as markup: it can only ever be text.
    assert "<" not in answer.answer and "](" not in answer.answer
    if answer.abstained:
        assert answer.citations == []


@FAST
@given(st.lists(questions, min_size=1, max_size=4))
def test_any_conversation_keeps_going(assistant: Assistant, turns: list[str]) -> None:
    chat = Conversation(assistant)
    for turn in turns:
        answer = chat.ask(turn)
        assert problems(answer, assistant.index.documents) == []


@FAST
@given(texts)
def test_retrieval_of_any_text_is_ranked_and_bounded(assistant: Assistant, text: str) -> None:
    hits = assistant.retriever.search_text(text, 5)
    assert len(hits) <= 5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
