"""text.terms and bm25.py: scores checked against the formula worked by hand, exact search order, save/load.

BM25 here is Lucene's, k1 = 0.9, b = 0.4:
  idf = ln(1 + (N - df + 0.5) / (df + 0.5)),  weight = idf * tf / (tf + k1 * (1 - b + b * dl / avgdl)).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from assistant.bm25 import BM25Index, BM25Params
from assistant.text import terms, words

# --- terms --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The workers are working with patients, helping them to recover.",
         ["worker", "work", "patient", "help", "recov"]),
        ("You'll earn £20,329 a year, 37.5 hours", ["earn", "20,329", "year", "37.5", "hour"]),
        ("What is the ...?", []),
        ("", []),
        ("GCSEs and A-levels", ["gcses", "level"]),
    ],
)
def test_terms_stem_and_drop_stopwords(text: str, expected: list[str]) -> None:
    assert terms(text) == expected


def test_words_lower_case_and_straight_apostrophes() -> None:
    assert words("You’ll EARN £20,329 in 2024!") == ["you'll", "earn", "20,329", "in", "2024"]


# --- a corpus small enough to score by hand -----------------------------------------------------
# lengths 3, 2, 2, 1 -> avgdl 2.0; norm(dl) = 0.9 * (0.6 + 0.4 * dl / 2): dl 3 -> 1.08, 2 -> 0.9, 1 -> 0.72
# df 2 -> idf ln(1 + 2.5/2.5) = ln 2; df 1 -> idf ln(1 + 3.5/1.5) = ln(10/3)
TOKENS = [["pay", "band", "pay"], ["hours", "week"], ["pay", "hours"], ["skills"]]


@pytest.fixture
def tiny() -> BM25Index:
    return BM25Index.build(TOKENS)


def test_params(tiny: BM25Index) -> None:
    assert tiny.params == BM25Params(k1=0.9, b=0.4, documents=4, average_length=2.0)
    assert tiny.vocab == ["band", "hours", "pay", "skills", "week"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # pay: row 0 ln2 * 2 / (2 + 1.08), row 2 ln2 * 1 / (1 + 0.9)
        (["pay"], [0.450096, 0.0, 0.364814, 0.0]),
        (["hours"], [0.0, 0.364814, 0.364814, 0.0]),
        (["pay", "hours"], [0.450096, 0.364814, 0.729629, 0.0]),
        (["pay", "pay"], [0.900191, 0.0, 0.729629, 0.0]),  # a repeated query term counts again
        (["skills"], [0.0, 0.0, 0.0, 0.699984]),  # ln(10/3) / (1 + 0.72)
        (["band"], [0.578833, 0.0, 0.0, 0.0]),  # ln(10/3) / (1 + 1.08)
        (["nothing"], [0.0, 0.0, 0.0, 0.0]),
        ([], [0.0, 0.0, 0.0, 0.0]),
    ],
)
def test_scores_by_hand(tiny: BM25Index, query: list[str], expected: list[float]) -> None:
    assert tiny.scores(query).tolist() == pytest.approx(expected, abs=2e-6)


@pytest.mark.parametrize(
    ("query", "k", "rows"),
    [
        (["pay"], 10, [0, 2]),
        (["hours"], 10, [1, 2]),  # a tie: lower row first
        (["pay", "hours"], 10, [2, 0, 1]),
        (["pay", "hours"], 2, [2, 0]),
        (["skills", "pay"], 10, [3, 0, 2]),
        (["nothing"], 10, []),
    ],
)
def test_search_order(tiny: BM25Index, query: list[str], k: int, rows: list[int]) -> None:
    top, scores = tiny.search(query, k)
    assert top.tolist() == rows
    assert scores.tolist() == pytest.approx(tiny.scores(query)[rows].tolist())


# --- four sentences through terms(), against a brute-force scorer --------------------------------

SENTENCES = [
    "Support workers earn a salary on band 3.",
    "Most support workers work shifts and weekends.",
    "Employers ask for GCSEs and experience.",
    "The salary rises with experience and the salary band.",
]


def brute_force(docs: list[list[str]], query: list[str], k1: float = 0.9, b: float = 0.4) -> list[float]:
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    out = []
    for doc in docs:
        score = 0.0
        for q in query:
            df = sum(q in d for d in docs)
            tf = doc.count(q)
            if tf:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                score += idf * tf / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        out.append(score)
    return out


def test_sentence_terms() -> None:
    assert [terms(s) for s in SENTENCES] == [
        ["support", "worker", "earn", "salari", "band", "3"],
        ["support", "worker", "work", "shift", "weekend"],
        ["employ", "ask", "gcses", "experi"],
        ["salari", "rise", "experi", "salari", "band"],
    ]


@pytest.mark.parametrize(
    ("question", "rows", "top_score"),
    [
        # lengths 6, 5, 4, 5 -> avgdl 5; doc 3 has salari twice: ln2 * 2 / (2 + 0.9)
        ("salary", [3, 0], math.log(2) * 2 / 2.9),
        ("support workers", [1, 0], 2 * math.log(2) / 1.9),
        ("experience", [2, 3], math.log(2) / 1.828),  # the shorter sentence wins
        ("salary band", [3, 0], math.log(2) * 2 / 2.9 + math.log(2) / 1.9),
        ("weekend shifts", [1], 2 * math.log(10 / 3) / 1.9),
        ("pay", [], None),
    ],
)
def test_four_sentences(question: str, rows: list[int], top_score: float | None) -> None:
    docs = [terms(s) for s in SENTENCES]
    index = BM25Index.build(docs)
    query = terms(question)
    assert index.scores(query).tolist() == pytest.approx(brute_force(docs, query), rel=1e-6)
    top, scores = index.search(query, 10)
    assert top.tolist() == rows
    if top_score is not None:
        assert float(scores[0]) == pytest.approx(top_score, rel=1e-6)


def test_empty_corpus() -> None:
    index = BM25Index.build([])
    assert index.params.documents == 0
    assert index.scores(["pay"]).tolist() == []
    top, scores = index.search(["pay"], 5)
    assert (top.tolist(), scores.tolist()) == ([], [])


def test_save_load_round_trip(tiny: BM25Index, tmp_path: Path) -> None:
    tiny.save(tmp_path / "bm25")
    assert sorted(p.name for p in (tmp_path / "bm25").iterdir()) == [
        "indptr.npy", "params.json", "rows.npy", "vocab.json", "weights.npy"]
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.vocab == tiny.vocab
    assert loaded.params == tiny.params
    for name in ("indptr", "rows", "weights"):
        a, b = getattr(loaded, name), getattr(tiny, name)
        assert (a.dtype, a.tolist()) == (b.dtype, b.tolist())
    for query in (["pay"], ["pay", "hours"], ["skills", "band"]):
        assert loaded.scores(query).tobytes() == tiny.scores(query).tobytes()


def test_load_rejects_files_that_disagree(tiny: BM25Index, tmp_path: Path) -> None:
    tiny.save(tmp_path / "bm25")
    np.save(tmp_path / "bm25" / "rows.npy", tiny.rows[:-1])
    with pytest.raises(ValueError, match="BM25 files do not agree with each other"):
        BM25Index.load(tmp_path / "bm25")
