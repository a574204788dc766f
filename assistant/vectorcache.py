"""Reuse the previous index's vectors so a build encodes only the texts that changed.

Rules:
- A vector is keyed by the sha256 of the exact text that was encoded (a chunk's embed_text, a
  sentence's text, an occupation name). The same text under the same model gives the same vector,
  so one table serves chunks, sentences and names alike.
- The previous index in the same folder (settings.index_dir) is the only source; no extra file is
  written. Its chunks.jsonl + vectors.faiss (FAISS `reconstruct_n`), sentences.jsonl (text from
  documents.jsonl) + sentence_vectors.npy, and occupations.jsonl name order + occupation_vectors.npy
  are read back, after the manifest's checksums (integrity.verify) pass.
- Nothing is reused unless the previous manifest's format_version is one whose files this reads
  (index.CACHE_FORMATS) and its model_name, dimension and chunking settings equal the current ones.
- A missing, damaged or mismatched previous index means an empty table (a full encode), never an
  error. The caller reads it inside the build lock, so two builds do not race.
- Only missing texts reach the model (each distinct text once), so the progress bar (tqdm: texts/s
  and ETA, only when progress is on) shows the real work. The counts the manifest records:
  texts_encoded = distinct texts sent to the model, texts_reused = texts served from the previous index.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np

from .embedding import Embedder


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def previous_vectors(folder: Path, *, format_versions: Collection[int], model_name: str, dimension: int,
                     chunking: Mapping[str, int | str]) -> dict[str, np.ndarray]:
    """sha256(text) -> unit vector from the index in `folder`; empty when it cannot be trusted."""
    try:
        return _read(folder, format_versions, model_name, dimension, chunking)
    except Exception:  # noqa: BLE001 - any failure to read the old index just means a full encode
        return {}


def _read(folder: Path, format_versions: Collection[int], model_name: str, dimension: int,
          chunking: Mapping[str, int | str]) -> dict[str, np.ndarray]:
    import faiss

    from .integrity import verify
    from .models import Chunk, Document, Manifest, Occupation, Sentence

    path = folder / "manifest.json"
    if not path.exists():
        return {}
    manifest = Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    if (manifest.format_version not in format_versions or manifest.model_name != model_name
            or manifest.dimension != dimension or dict(manifest.chunking) != dict(chunking)):
        return {}
    verify(folder, manifest)
    out: dict[str, np.ndarray] = {}

    def add(texts: list[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (len(texts), dimension):
            raise ValueError("vector rows do not match their texts")
        for text, vector in zip(texts, vectors):
            out[text_key(text)] = vector

    def lines(name: str) -> list[str]:
        return (folder / name).read_text(encoding="utf-8").splitlines()

    chunks = [Chunk.model_validate_json(line) for line in lines("chunks.jsonl")]
    index = faiss.read_index(str(folder / "vectors.faiss"))
    if index.ntotal != len(chunks):
        raise ValueError("chunk count differs from FAISS")
    add([c.embed_text for c in chunks], index.reconstruct_n(0, index.ntotal) if chunks else
        np.zeros((0, dimension), dtype=np.float32))
    if manifest.sentence_vectors:
        docs = {d.meta.doc_id: d.text for d in (Document.model_validate_json(line)
                                                for line in lines("documents.jsonl"))}
        sentences = [Sentence.model_validate_json(line) for line in lines("sentences.jsonl")]
        add([docs[s.doc_id][s.start:s.end] for s in sentences], np.load(folder / "sentence_vectors.npy"))
    occupations = [Occupation.model_validate_json(line) for line in lines("occupations.jsonl")]
    add([n.name for o in occupations for n in o.names], np.load(folder / "occupation_vectors.npy"))
    return out


class Encoder:
    """Encodes texts through `cache` first: only missing texts reach the embedder (deduplicated),
    and every vector it makes joins the cache. Counts what was encoded and what reused."""

    def __init__(self, embedder: Embedder, cache: dict[str, np.ndarray], *, batch_size: int,
                 progress: bool) -> None:
        self.embedder, self.cache = embedder, cache
        self.batch_size, self.progress = batch_size, progress
        self.previous = frozenset(cache)  # keys the previous index supplied
        # encoded: distinct texts sent to the model; reused: texts (each place) served from the previous index.
        self.encoded = self.reused = 0

    def __call__(self, texts: list[str], what: str) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts):
            if key not in self.cache:
                missing.setdefault(key, text)
        if missing:
            self._encode(list(missing.keys()), list(missing.values()), what,
                         reused=sum(k in self.previous for k in keys))
        self.encoded += len(missing)
        self.reused += sum(k in self.previous for k in keys)
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.stack([self.cache[k] for k in keys]).astype(np.float32)

    def _encode(self, keys: list[str], texts: list[str], what: str, *, reused: int) -> None:
        """Only the missing texts, in slices of a few batches under one tqdm bar (texts/s and ETA on
        stderr) when progress is on, so the bar shows the real work left."""
        step = self.batch_size * 16
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), unit="text", desc=f"Encoding {what} ({reused:,} reused)",
                       file=sys.stderr, dynamic_ncols=True)
        try:
            for start in range(0, len(texts), step):
                part = texts[start:start + step]
                vectors = self.embedder.encode(part, batch_size=self.batch_size, progress=False)
                self.cache.update(zip(keys[start:start + step], np.asarray(vectors, dtype=np.float32)))
                if bar is not None:
                    bar.update(len(part))
        finally:
            if bar is not None:
                bar.close()
