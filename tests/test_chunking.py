"""text.sentence_spans and chunking.py: exact spans, the token budget, whole sentences, sections.

Token counts below are HashEmbedder.count_tokens: 2 + ceil(len(word)/4) per word + one per "," and ".".
"""

from __future__ import annotations

import pytest

from assistant.chunking import chunk_document, embed_text, sentences_of
from assistant.cleaning import clean
from assistant.embedding import HashEmbedder
from assistant.models import Document, DocumentMeta
from assistant.text import sentence_spans
from conftest import SEEDS

count = HashEmbedder().count_tokens


def make_doc(raw: str, title: str = "Doc", doc_id: str = "d") -> Document:
    text, blocks = clean(raw)
    return Document(meta=DocumentMeta(doc_id=doc_id, title=title, publisher="P", source_file=f"{doc_id}.md"),
                    text=text, blocks=blocks)


def spans(text: str, *args: int) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text, *args)]


# --- sentence_spans -----------------------------------------------------------------------------

MIXED = ('Pay is good, e.g. £20,000 a year. Hours vary etc. Some work nights! Is it hard? "Yes." (Often.) '
         'Band 3.\nNew line here')


def test_sentence_spans_offsets_and_abbreviations() -> None:
    assert sentence_spans(MIXED) == [(0, 33), (34, 67), (68, 79), (80, 86), (87, 95), (96, 103), (104, 117)]
    assert spans(MIXED) == [
        "Pay is good, e.g. £20,000 a year.",  # "e.g." before "£" does not end the sentence
        "Hours vary etc. Some work nights!",  # nor does "etc." before a capital
        "Is it hard?",
        '"Yes."',
        "(Often.)",
        "Band 3.",
        "New line here",  # a line break always ends one, punctuation or not
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("   \n \n", []),
        ("One.  Two.", ["One.", "Two."]),
        ("One. ", ["One."]),
        ("Starter: £15,250\nExperienced: £19,250", ["Starter: £15,250", "Experienced: £19,250"]),
        ("a sentence that goes on\non the next line.", ["a sentence that goes on", "on the next line."]),
        ("Visit nhs.uk. then apply. Then wait.", ["Visit nhs.uk. then apply.", "Then wait."]),  # lower case: no split
        ("Ask Dr. Smith. Or Mr. Jones, i.e. a nurse.", ["Ask Dr. Smith.", "Or Mr. Jones, i.e. a nurse."]),
        ("It pays £20,000. £22,000 later.", ["It pays £20,000.", "£22,000 later."]),
        ("He said “Go.” Then left.", ["He said “Go.”", "Then left."]),
    ],
)
def test_sentence_spans_cases(text: str, expected: list[str]) -> None:
    assert spans(text) == expected


def test_sentence_spans_of_a_range_are_absolute() -> None:
    assert sentence_spans(MIXED, 34, 67) == [(34, 67)]
    assert sentence_spans(MIXED, 68, 103) == [(68, 79), (80, 86), (87, 95), (96, 103)]
    assert sentence_spans("ab. Cd.\nEf. Gh.", 4, 11) == [(4, 7), (8, 11)]


def test_sentence_spans_no_as_an_answer() -> None:
    assert spans("Do I need a degree? No. You can start without one.") == [
        "Do I need a degree?", "No.", "You can start without one."]


# --- embed_text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "section", "text", "expected"),
    [
        ("Doc", None, "body", "Doc\nbody"),
        ("Doc", "Pay", "body", "Doc — Pay\nbody"),
        ("Doc", "Pay", "Pay\n\nbody", "Doc\nPay\n\nbody"),  # the chunk opens with its heading: not repeated
        ("Pay", "Pay", "body", "Pay\nbody"),  # section same as title: not repeated
    ],
)
def test_embed_text(title: str, section: str | None, text: str, expected: str) -> None:
    assert embed_text(title, section, text) == expected


# --- chunk_document -----------------------------------------------------------------------------

RAW = (
    "Intro line one is here.\n\nPay and hours\n\n"
    "Support workers earn a salary. They work shifts. Some work nights and weekends too.\n\n"
    "• a bullet item\n• another bullet item\n\n"
    "Entry requirements\n\nYou need no degree. Employers want experience in care.\n"
)
P, E = "Pay and hours", "Entry requirements"


def test_hand_doc_layout() -> None:
    doc = make_doc(RAW)
    assert [(b.kind, b.start, b.end, b.section) for b in doc.blocks] == [
        ("paragraph", 0, 23, None), ("heading", 25, 38, P), ("paragraph", 40, 123, P),
        ("bullet", 127, 140, P), ("bullet", 143, 162, P), ("heading", 164, 182, E), ("paragraph", 184, 238, E),
    ]


@pytest.mark.parametrize(
    ("max_tokens", "expected"),
    [
        # Everything of a section fits (39 and 24 tokens): one chunk per section, each opening on its heading.
        (40, [(0, 23, None), (25, 162, P), (164, 238, E)]),
        (200, [(0, 23, None), (25, 162, P), (164, 238, E)]),
        # 20: the paragraphs (30 and 24 tokens) split into sentences, which pack greedily within the section.
        (20, [(0, 23, None), (25, 70, P), (71, 88, P), (89, 140, P), (143, 162, P), (164, 203, E), (204, 238, E)]),
    ],
)
def test_chunks_of_hand_doc(max_tokens: int, expected) -> None:
    doc = make_doc(RAW)
    chunks = chunk_document(doc, count, max_tokens)
    assert [(c.start, c.end, c.section) for c in chunks] == expected
    assert [c.text for c in chunks] == [doc.text[s:e] for s, e, _ in expected]
    assert {(c.row, c.doc_id) for c in chunks} == {(-1, "d")}


def test_chunks_of_hand_doc_20_texts() -> None:
    chunks = chunk_document(make_doc(RAW), count, 20)
    assert [c.embed_text for c in chunks] == [
        "Doc\nIntro line one is here.",
        "Doc\nPay and hours\n\nSupport workers earn a salary.",
        "Doc — Pay and hours\nThey work shifts.",
        "Doc — Pay and hours\nSome work nights and weekends too.\n\n• a bullet item",
        "Doc — Pay and hours\nanother bullet item",
        "Doc\nEntry requirements\n\nYou need no degree.",
        "Doc — Entry requirements\nEmployers want experience in care.",
    ]
    assert [count(c.embed_text) for c in chunks] == [10, 16, 12, 20, 12, 14, 18]


def test_a_sentence_longer_than_the_window_is_cut_at_words_and_only_it() -> None:
    # "T\nAlpha ... theta." is 17 tokens; with a window of 8 it is cut into greedy runs of whole words.
    doc = make_doc("Alpha beta gamma delta epsilon zeta eta theta. Short one.", title="T")
    chunks = chunk_document(doc, count, 8)
    assert [c.text for c in chunks] == ["Alpha beta gamma", "delta epsilon zeta", "eta theta.", "Short one."]
    assert [count(c.embed_text) for c in chunks] == [8, 8, 7, 7]
    assert [(c.start, c.end) for c in chunks] == [(0, 16), (17, 35), (36, 46), (47, 57)]


def _units(doc: Document) -> list[tuple[int, int, str | None]]:
    """What must never be cut: each sentence of a paragraph, each bullet and heading whole."""
    out = []
    for b in doc.blocks:
        pieces = sentence_spans(doc.text, b.start, b.end) if b.kind == "paragraph" else [(b.start, b.end)]
        out += [(s, e, b.section) for s, e in pieces]
    return out


@pytest.mark.parametrize("max_tokens", [80, 120, 200])
@pytest.mark.parametrize("seed", sorted(p.name for p in SEEDS.glob("0*.txt")))
def test_chunk_invariants_on_seed_pages(seed: str, max_tokens: int) -> None:
    doc = make_doc((SEEDS / seed).read_text(encoding="utf-8"), title="Occupational therapy support worker")
    chunks = chunk_document(doc, count, max_tokens)
    # Exact spans, in reading order, not overlapping.
    assert [c.text for c in chunks] == [doc.text[c.start : c.end] for c in chunks]
    assert [c.embed_text for c in chunks] == [embed_text(doc.meta.title, c.section, c.text) for c in chunks]
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))
    # Every embedded text fits the window.
    assert [c for c in chunks if count(c.embed_text) > max_tokens] == []
    # No sentence is cut unless it alone does not fit, and every unit is in a chunk of its own section.
    cut = [(s, e) for s, e, sec in _units(doc)
           if not any(c.start <= s and e <= c.end and c.section == sec for c in chunks)
           and count(embed_text(doc.meta.title, sec, doc.text[s:e])) <= max_tokens]
    assert cut == []
    # A heading always opens a chunk; a chunk never spans two sections.
    heads = {b.start for b in doc.blocks if b.kind == "heading"}
    assert heads <= {c.start for c in chunks}
    for c in chunks:
        assert {b.section for b in doc.blocks if b.start < c.end and b.end > c.start} == {c.section}



# --- sentences never run across what the cleaning removed --------------------------------------

GAPPED = "Pay rises each year. It is good.\nFind out more\nThey work shifts. Some work nights."


def test_sentences_of_a_page_with_a_removed_line_between_paragraphs() -> None:
    doc = make_doc(GAPPED)
    assert doc.text == "Pay rises each year. It is good.\n\nThey work shifts. Some work nights."
    assert [(s.start, s.end, doc.text[s.start : s.end]) for s in sentences_of(doc)] == [
        (0, 20, "Pay rises each year."), (21, 32, "It is good."),
        (34, 51, "They work shifts."), (52, 69, "Some work nights."),
    ]
    assert [s for s in sentences_of(doc) if doc.crosses_gap(s.start, s.end)] == []


@pytest.mark.parametrize(
    ("start", "end", "crosses"),
    [(0, 32, False), (21, 32, False), (34, 69, False), (21, 51, True), (0, 69, True), (32, 34, False),
     (32, 35, True)],
)
def test_crosses_gap(start: int, end: int, crosses: bool) -> None:
    assert make_doc(GAPPED).crosses_gap(start, end) is crosses


def test_no_bbc_seed_sentence_joins_band_5_to_the_next_paragraph() -> None:
    doc = make_doc((SEEDS / "000_cae7dbe4d5536001.txt").read_text(encoding="utf-8"))
    texts = [doc.text[s.start : s.end] for s in sentences_of(doc)]
    assert "Occupational therapists usually start on band 5 of the pay scale." in texts
    assert [t for t in texts if "band 5 of the pay scale." in t and ("OT) technical" in t or "check out" in t)] == []
    assert [t for t in texts if "band 5 of the pay scale." in t] == [
        "Occupational therapists usually start on band 5 of the pay scale."]


@pytest.mark.parametrize("seed", sorted(p.name for p in SEEDS.glob("0*.txt")))
def test_no_seed_sentence_crosses_a_gap(seed: str) -> None:
    doc = make_doc((SEEDS / seed).read_text(encoding="utf-8"))
    assert [s for s in sentences_of(doc) if doc.crosses_gap(s.start, s.end)] == []
