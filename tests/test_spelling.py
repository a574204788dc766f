"""spelling.py: optimal-string-alignment distance and the corpus speller."""

from __future__ import annotations

import pytest

from assistant.spelling import Speller, allowed_distance, edit_distance


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("abc", "", 3),
        ("", "abc", 3),
        ("same", "same", 0),
        ("ab", "ba", 1),  # an adjacent swap counts 1
        ("recieve", "receive", 1),
        ("suport", "support", 1),  # one insertion
        ("wrkers", "workers", 1),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("ca", "abc", 3),  # OSA, not full Damerau-Levenshtein (which gives 2)
        ("abcdef", "badcfe", 3),  # three separate swaps
        ("ocupationl", "occupational", 2),
    ],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


@pytest.mark.parametrize(("word", "limit"), [("ot", 0), ("the", 0), ("band", 1), ("support", 1),
                                             ("teamwork", 2), ("occupational", 2)])
def test_allowed_distance(word: str, limit: int) -> None:
    assert allowed_distance(word) == limit


@pytest.fixture
def speller() -> Speller:
    return Speller({"support": 5, "workers": 3, "worker": 2, "band": 4, "to": 9, "the": 9, "occupational": 2,
                    "card": 7, "cart": 1, "hours": 2, "house": 2, "20,000": 1})


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("suport", "support"),
        ("supprot", "support"),  # a swap
        ("wrkers", "workers"),  # not "worker" (distance 2)
        ("ocupationl", "occupational"),  # long words may be 2 edits away
        ("bnad", "band"),
        ("carx", "card"),  # card and cart are both 1 away: the more frequent wins
        ("hourse", "hours"),  # hours and house both 1 away, equal counts: alphabetical
        ("support", "support"),  # known words come back as they are
        ("20,000", "20,000"),
        ("ot", None),  # short words are never corrected ("ot" must not become "to")
        ("teh", None),
        ("zzzzzz", None),  # nothing near
        ("suppxrtt", "support"),  # 8 letters typed: 2 edits allowed (a substitution and an insertion)
        ("suxxort", None),  # 7 letters typed: only 1 edit allowed, and support is 2 away
        ("b4nd", None),  # not a word
    ],
)
def test_correct(speller: Speller, word: str, expected: str | None) -> None:
    assert speller.correct(word) == expected


def test_known(speller: Speller) -> None:
    assert [speller.known(w) for w in ("band", "bands", "Band")] == [True, False, False]
