"""Sentence vectors for an index built without sentence_vectors.npy (large corpora): encoded when a
question needs them, with the question's embedder (the same model), and kept for the next question."""

from __future__ import annotations

import numpy as np


class SentenceVectorsOnDemand:
    """Stands in for sentence_vectors.npy when the build left it out: `self[rows]` encodes those
    sentences with the question's embedder (the same model) and keeps them for the next question."""

    def __init__(self, index, embedder) -> None:
        self.index, self.embedder = index, embedder
        self.cache: dict[int, np.ndarray] = {}
        self.shape = (len(index.sentences), embedder.dimension)

    def __len__(self) -> int:
        return self.shape[0]

    def _from_passage(self, row: int) -> bool:
        s = self.index.sentences[row]
        for chunk_row in self.index.chunk_rows.get(s.doc_id, ()):
            chunk = self.index.chunks[chunk_row]
            if chunk.start == s.start and chunk.end == s.end:
                self.cache[row] = self.index.vectors.reconstruct(chunk_row)
                return True
        return False

    def __getitem__(self, rows) -> np.ndarray:
        rows = [int(r) for r in np.atleast_1d(np.asarray(rows))]
        missing = sorted({r for r in rows if r not in self.cache})
        # A sentence that is a whole passage (a task or a title of a taxonomy record) already has a vector
        # in FAISS, of the passage with its page's title: reused, so answering from a page no question has
        # touched yet does not encode each of its records one by one (benchmarks/results/ask_scale.md).
        missing = [r for r in missing if not self._from_passage(r)]
        if missing:
            texts = []
            for r in missing:
                s = self.index.sentences[r]
                texts.append(self.index.documents[s.doc_id].text[s.start:s.end])
            for r, v in zip(missing, self.embedder.encode(texts)):
                self.cache[r] = v
        if not rows:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.stack([self.cache[r] for r in rows])
