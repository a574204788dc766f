"""Metrics on inputs worked out by hand."""

from __future__ import annotations

import math

import pytest

from assistant.metrics import dedupe, missing_phrases, ndcg_at_k, percentile, recall_at_k, reciprocal_rank


def test_recall_at_k() -> None:
    ranked = ["a", "b", "c", "d"]
    assert recall_at_k(ranked, {"b", "d"}, 2) == 0.5
    assert recall_at_k(ranked, {"b", "d"}, 4) == 1.0
    assert recall_at_k(ranked, {"x"}, 4) == 0.0
    assert recall_at_k(ranked, set(), 4) == 1.0


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(["a", "b", "c"], {"c"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["a", "b", "c"], {"b", "c"}) == 0.5
    assert reciprocal_rank(["a"], {"z"}) == 0.0


def test_ndcg_by_hand() -> None:
    # Relevant at ranks 2 and 3 of 3, two relevant: DCG = 1/log2(3) + 1/log2(4) = 0.6309 + 0.5;
    # ideal = 1/log2(2) + 1/log2(3) = 1 + 0.6309.
    expected = (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(["x", "a", "b"], {"a", "b"}, 3) == pytest.approx(expected)
    assert ndcg_at_k(["a", "b", "x"], {"a", "b"}, 3) == 1.0
    # Only the top k count: the relevant doc at rank 3 is outside k=2.
    assert ndcg_at_k(["x", "y", "a"], {"a"}, 2) == 0.0


def test_missing_phrases_folds_case_spacing_and_apostrophes() -> None:
    answer = "You’ll usually work  around 37.5 HOURS a week; On average 40–42"
    assert missing_phrases(answer, ["37.5 hours", "you'll usually", "40-42", "band 3"]) == ["band 3"]


def test_percentile_interpolates_like_numpy() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == 25.0
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile([], 50) == 0.0


def test_dedupe_keeps_first_occurrence_order() -> None:
    assert dedupe(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
