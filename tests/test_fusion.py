"""retrieval.minmax, fuse_minmax, fuse_rrf on hand-worked inputs."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.retrieval import fuse_minmax, fuse_rrf, minmax

# Chunk 1 and 2 are in both lists, 3 only dense, 4 only lexical.
DENSE = {1: 0.9, 2: 0.5, 3: 0.1}
LEXICAL = {2: 10.0, 4: 6.0, 1: 2.0}


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([2.0, 4.0, 3.0], [0.0, 1.0, 0.5]),
        ([0.9, 0.5, 0.1], [1.0, 0.5, 0.0]),
        ([-1.0, 1.0], [0.0, 1.0]),
        ([0.3, 0.3], [1.0, 1.0]),  # all tied: every candidate is the best
        ([7.0], [1.0]),
        ([], []),
    ],
)
def test_minmax(scores: list[float], expected: list[float]) -> None:
    out = minmax(np.array(scores, dtype=np.float32))
    assert out.dtype == np.float32
    assert out.tolist() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        # dense scaled: 1 -> 1, 2 -> 0.5, 3 -> 0; lexical scaled (2..10): 2 -> 1, 4 -> 0.5, 1 -> 0
        (0.5, {1: 0.5, 2: 0.75, 3: 0.0, 4: 0.25}),
        (0.8, {1: 0.8, 2: 0.6, 3: 0.0, 4: 0.1}),
        (1.0, {1: 1.0, 2: 0.5, 3: 0.0, 4: 0.0}),
        (0.0, {1: 0.0, 2: 1.0, 3: 0.0, 4: 0.5}),
    ],
)
def test_fuse_minmax(weight: float, expected: dict[int, float]) -> None:
    fused = fuse_minmax(DENSE, LEXICAL, weight)
    assert sorted(fused) == [1, 2, 3, 4]
    assert {r: round(s, 6) for r, s in fused.items()} == expected


def test_fuse_minmax_one_side_empty_or_tied() -> None:
    assert fuse_minmax({}, {}, 0.5) == {}
    assert fuse_minmax({7: 0.3, 8: 0.3}, {}, 0.5) == {7: 0.5, 8: 0.5}
    assert fuse_minmax({}, {5: 3.0, 6: 1.0}, 0.25) == {5: 0.75, 6: 0.0}
    assert fuse_minmax({9: 0.2}, {9: 4.0}, 0.5) == {9: 1.0}


def test_fuse_rrf() -> None:
    # dense ranks 1, 2, 3 for chunks 1, 2, 3; lexical ranks 1, 2, 3 for chunks 2, 4, 1
    assert fuse_rrf(DENSE, LEXICAL, 60) == pytest.approx(
        {1: 1 / 61 + 1 / 63, 2: 1 / 62 + 1 / 61, 3: 1 / 63, 4: 1 / 62}, rel=1e-12)
    fused = fuse_rrf(DENSE, LEXICAL, 60)
    assert sorted(fused, key=lambda r: (-fused[r], r)) == [2, 1, 4, 3]
    assert fuse_rrf(DENSE, LEXICAL, 1) == pytest.approx({1: 1 / 2 + 1 / 4, 2: 1 / 3 + 1 / 2, 3: 1 / 4, 4: 1 / 3})


def test_fuse_rrf_ties_and_empty() -> None:
    assert fuse_rrf({}, {}, 60) == {}
    # Equal scores rank by row: 3 is rank 1 and 5 rank 2, whatever the dict order.
    assert fuse_rrf({5: 0.5, 3: 0.5}, {}, 60) == {3: 1 / 61, 5: 1 / 62}
    assert fuse_rrf({}, {8: 2.0, 4: 2.0, 6: 9.0}, 10) == {6: 1 / 11, 4: 1 / 12, 8: 1 / 13}
