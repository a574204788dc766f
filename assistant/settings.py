"""One frozen settings object, made once at the edge (CLI, UI) and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


def _env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name, default))


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    corpus_dir: Path = Field(default_factory=lambda: _env_path("CAREERS_CORPUS_DIR", "corpus"))
    index_dir: Path = Field(default_factory=lambda: _env_path("CAREERS_INDEX_DIR", "index"))

    # Embedding. "minilm" is the real all-MiniLM-L6-v2; "hash" is the deterministic fake used by fast tests.
    embedder: Literal["minilm", "hash"] = Field(
        default_factory=lambda: os.environ.get("CAREERS_EMBEDDER", "minilm")  # type: ignore[arg-type]
    )
    # The model's window is 256 word pieces; the title and heading prefix count against it too.
    max_chunk_tokens: int = 200
    encode_batch_size: int = 32
    # Questions are encoded by the same model run in numpy (fastencode.py: no torch import, same vectors);
    # "torch" uses sentence-transformers, as the build always does.
    query_encoder: Literal["numpy", "torch"] = Field(
        default_factory=lambda: os.environ.get("CAREERS_QUERY_ENCODER", "numpy")  # type: ignore[arg-type]
    )

    # Large corpora (the measurements behind these rules are in benchmarks/README.md).
    # FAISS index type: "auto" is exact IndexFlatIP up to flat_max_vectors passages and IndexHNSWFlat above.
    # Measured on 105,925 ESCO + O*NET passages (benchmarks/results/scale.md): exact search took 36 ms a
    # question (about 0.34 ms per 1,000 vectors, more than the query encode from ~35,000 on); HNSW with
    # M=32, efSearch=256 found 98.2 % of the exact top 10 in 0.5 ms, IVFFlat (nprobe 64) 97.3 % in 0.5 ms.
    faiss_index: Literal["auto", "flat", "hnsw"] = "auto"
    flat_max_vectors: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 256
    # Sentence vectors (to rank quotes) are encoded at build time up to sentence_vectors_max sentences;
    # above that, only the sentences of a question's retrieved passages are encoded, when it is asked.
    sentence_vectors: Literal["auto", "always", "never"] = "auto"
    sentence_vectors_max: int = 20_000

    # Retrieval.
    fusion: Literal["minmax", "rrf"] = "minmax"
    dense_weight: float = 0.5
    rrf_k: int = 60
    candidates: int = 50
    top_k: int = 6
    evidence_chunks: int = 12  # chunks whose sentences may be quoted

    # Answering. Below this confidence the assistant says the sources don't cover the question.
    abstain_threshold: float = 0.25  # chosen by `careers-assistant calibrate` (see README)
    # Cosine a phrase in an occupation's place ("how much does a X earn") needs to an occupation's name
    # when no name matches exactly; below it, X is an occupation the corpus does not cover. Calibrated on
    # a frozen split of withheld taxonomy titles (benchmarks/bench_occupations.py, benchmarks/README.md).
    occupation_match_threshold: float = 0.8
    max_question_chars: int = 1000
    max_quotes_per_answer: int = 5
