"""One frozen settings object, made once at the edge (CLI, UI) and passed down.

A field read from the environment is declared with `env(...)`: the variable's raw text is the field's
default and pydantic validates it like any other input (validate_default), strictly: finite numbers,
ranges, the allowed names. A bad value raises ValidationError at start; the CLI (only the CLI) turns
it into one line naming the variable, the value and what is allowed (`describe_invalid`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


def env(name: str, default: Any, allowed: str, **constraints: Any) -> Any:
    """A field whose default comes from environment variable `name` (unset or blank: `default`).

    `allowed` says in words what a valid value is; it ends up in the error message."""
    def from_env() -> Any:
        value = os.environ.get(name, "").strip()
        return value if value else default

    return Field(default_factory=from_env, json_schema_extra={"env": name, "allowed": allowed}, **constraints)


def describe_invalid(err: ValidationError, model: type[BaseModel], flags: dict[str, str] | None = None) -> list[str]:
    """One line per bad value: which variable (or command-line flag), the value given, what is allowed.

    `flags` maps a field name to the flag that set it, for values given on the command line."""
    lines = []
    for problem in err.errors(include_url=False):
        field = str(problem["loc"][0]) if problem["loc"] else ""
        info = model.model_fields.get(field)
        extra = info.json_schema_extra if info is not None and isinstance(info.json_schema_extra, dict) else {}
        source = (flags or {}).get(field) or extra.get("env") or field
        why = problem["msg"].removeprefix("Value error, ")
        allowed = extra.get("allowed")
        hint = f": use {allowed}" if allowed else ""
        lines.append(f"{source}={problem['input']!r} is not allowed ({why}){hint}.")
    return lines


class Settings(BaseModel):
    # validate_default: values from the environment are checked too, not only those passed in.
    model_config = ConfigDict(frozen=True, validate_default=True, allow_inf_nan=False)

    corpus_dir: Path = env("CAREERS_CORPUS_DIR", Path("corpus"), "a folder path")
    index_dir: Path = env("CAREERS_INDEX_DIR", Path("index"), "a folder path")

    # Embedding. "minilm" is the real all-MiniLM-L6-v2; "hash" is the deterministic fake used by fast tests.
    embedder: Literal["minilm", "hash"] = env("CAREERS_EMBEDDER", "minilm",
                                               "minilm (the real model) or hash (the test fake)")
    # The model's window is 256 word pieces; the title and heading prefix count against it too.
    max_chunk_tokens: int = Field(200, ge=16, le=256)
    encode_batch_size: int = Field(32, ge=1)
    # Questions are encoded by the same model run in numpy (fastencode.py: no torch import, same vectors);
    # "torch" uses sentence-transformers, as the build always does.
    query_encoder: Literal["numpy", "torch"] = env("CAREERS_QUERY_ENCODER", "numpy",
                                                    "numpy (the default, no torch) or torch")

    # Large corpora (the measurements behind these rules are in benchmarks/README.md).
    # FAISS index type: "auto" is exact IndexFlatIP up to flat_max_vectors passages and IndexHNSWFlat above.
    # Measured on 105,925 ESCO + O*NET passages (benchmarks/results/scale.md): exact search took 36 ms a
    # question (about 0.34 ms per 1,000 vectors, more than the query encode from ~35,000 on); HNSW with
    # M=32, efSearch=256 found 98.2 % of the exact top 10 in 0.5 ms, IVFFlat (nprobe 64) 97.3 % in 0.5 ms.
    faiss_index: Literal["auto", "flat", "hnsw"] = "auto"
    flat_max_vectors: int = Field(50_000, ge=0)
    hnsw_m: int = Field(32, ge=2)
    hnsw_ef_construction: int = Field(80, ge=1)
    hnsw_ef_search: int = Field(256, ge=1)
    # Sentence vectors (to rank quotes) are encoded at build time up to sentence_vectors_max sentences;
    # above that, only the sentences of a question's retrieved passages are encoded, when it is asked.
    sentence_vectors: Literal["auto", "always", "never"] = "auto"
    sentence_vectors_max: int = Field(20_000, ge=0)
    # sentence_vectors.npy up to this size is read into memory; a larger one is memory-mapped with a
    # size check before each read (integrity.py says why: a truncated mapping kills the process).
    sentence_vectors_in_memory_max_mb: int = env("CAREERS_SENTENCE_VECTORS_IN_MEMORY_MAX_MB", 256,
                                                 "a whole number of MiB, 0 or more (0: always mapped)", ge=0)
    # vectors.faiss and occupation_vectors.npy up to this size are read into memory; larger ones are
    # memory-mapped, so a one-shot question on 100,000 passages reads the few pages it searches instead of
    # ~325 MB (benchmarks/results/lazy_index.md). The build never changes a file in place (it swaps whole
    # folders), so a mapping is only lost if someone truncates a served file by hand.
    vectors_in_memory_max_mb: int = env("CAREERS_VECTORS_IN_MEMORY_MAX_MB", 32,
                                        "a whole number of MiB, 0 or more (0: always mapped)", ge=0)

    # Retrieval.
    fusion: Literal["minmax", "rrf"] = "minmax"
    dense_weight: float = Field(0.5, ge=0, le=1, json_schema_extra={"allowed": "a number from 0 to 1"})
    rrf_k: int = Field(60, ge=1)
    candidates: int = Field(50, ge=1)
    top_k: int = Field(6, ge=1)
    evidence_chunks: int = Field(12, ge=1)  # chunks whose sentences may be quoted

    # Answering. Below this confidence the assistant says the sources don't cover the question.
    abstain_threshold: float = Field(0.25, ge=0)  # chosen by `careers-assistant calibrate` (see README)
    # Cosine a phrase in an occupation's place ("how much does a X earn") needs to an occupation's name
    # when no name matches exactly; below it, X is an occupation the corpus does not cover. Calibrated on
    # a frozen split of withheld taxonomy titles (benchmarks/bench_registry.py): the lowest threshold whose
    # accepted matches were right 90 % of the time. Below it the question gets a choice or the nearest
    # covered occupations, never another occupation's answer.
    occupation_match_threshold: float = Field(0.99, ge=0, le=1)
    max_question_chars: int = Field(1000, ge=1)
    max_quotes_per_answer: int = Field(5, ge=1)
