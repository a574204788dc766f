"""Large-corpus settings on the tiny corpus with the hash embedder: the FAISS type rule, HNSW builds,
and sentence vectors left out of the build and encoded on demand with the same results."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.embedding import HashEmbedder
from assistant.index import build_index, faiss_kind, load_index
from assistant.sentencevectors import SentenceVectorsOnDemand
from assistant.settings import Settings

HASH = "hash-384"


@pytest.mark.parametrize(("kind", "vectors", "expected"), [
    ("auto", 10, "IndexFlatIP"),
    ("auto", 50_000, "IndexFlatIP"),
    ("auto", 50_001, "IndexHNSWFlat"),
    ("flat", 10_000_000, "IndexFlatIP"),
    ("hnsw", 5, "IndexHNSWFlat"),
])
def test_faiss_kind_rule(kind: str, vectors: int, expected: str) -> None:
    name, params = faiss_kind(Settings(faiss_index=kind), vectors)
    assert name == expected
    assert params == ({} if expected == "IndexFlatIP" else {"M": 32, "efConstruction": 80, "efSearch": 256})


def test_small_corpus_keeps_exact_search_and_sentence_vectors(settings: Settings, built) -> None:
    assert built.faiss_index == "IndexFlatIP" and built.faiss_params == {}
    assert built.sentence_vectors is True
    assert (settings.index_dir / "sentence_vectors.npy").exists()


def test_hnsw_build_is_recorded_and_searches_like_exact(settings: Settings) -> None:
    build_index(settings, HashEmbedder())
    flat = load_index(settings, HASH)
    hnsw_settings = settings.model_copy(update={"faiss_index": "hnsw", "hnsw_ef_search": 64,
                                                "index_dir": settings.index_dir.parent / "hnsw"})
    manifest = build_index(hnsw_settings, HashEmbedder())
    assert manifest.faiss_index == "IndexHNSWFlat"
    assert manifest.faiss_params == {"M": 32, "efConstruction": 80, "efSearch": 64}
    loaded = load_index(hnsw_settings, HASH)
    assert loaded.vectors.hnsw.efSearch == 64
    query = HashEmbedder().encode(["support worker pay band"])
    assert loaded.vectors.search(query, 5)[1].tolist() == flat.vectors.search(query, 5)[1].tolist()


def test_sentence_vectors_on_demand_equal_the_stored_ones(settings: Settings) -> None:
    from assistant.pipeline import Assistant

    build_index(settings, HashEmbedder())
    stored = load_index(settings, HASH)
    lean = settings.model_copy(update={"sentence_vectors": "never", "index_dir": settings.index_dir.parent / "lean"})
    manifest = build_index(lean, HashEmbedder())
    assert manifest.sentence_vectors is False and manifest.sentence_count == stored.manifest.sentence_count
    assert not (lean.index_dir / "sentence_vectors.npy").exists()
    assert load_index(lean, HASH).sentence_vectors is None
    assistant = Assistant(lean, embedder=HashEmbedder())
    on_demand = assistant.index.sentence_vectors
    assert isinstance(on_demand, SentenceVectorsOnDemand)
    rows = [3, 0, 3, 5]
    assert np.allclose(on_demand[rows], stored.sentence_vectors[rows])
    assert set(on_demand.cache) == {0, 3, 5}
    assert on_demand[[]].shape == (0, 384)
    # Same answers either way.
    full = Assistant(settings, embedder=HashEmbedder())
    for question in ("What band do support workers start on?", "How many hours a week?", "What skills?"):
        assert assistant.ask(question).model_dump() == full.ask(question).model_dump()


def test_auto_leaves_sentence_vectors_out_above_the_limit(settings: Settings) -> None:
    manifest = build_index(settings.model_copy(update={"sentence_vectors_max": 3}), HashEmbedder())
    assert manifest.sentence_vectors is False
    assert load_index(settings, HASH).sentence_vectors is None
