"""Load the index folder index.py builds, reading only what a question needs.

Start-up costs what a question needs, not what the index holds (benchmarks/results/lazy_index.md): on
105,925 passages, parsing every chunk, sentence and occupation with pydantic, rebuilding the name
matcher from 86,500 names and reading every vector took 3.7 s and 1 GiB for a one-shot `ask`.
- documents, chunks, sentences, occupations: JSONL read one row at a time by byte offset (rows.py);
- where each page's chunks and sentences are (they are consecutive rows): pages.json, with the
  publishers' pages; each sentence's span in its page: sentence_spans.npy;
- the name matcher's dictionaries: occupations.tables (occupations/stored.py);
- vectors.faiss and occupation_vectors.npy memory-mapped when large (Settings.vectors_in_memory_max_mb);
- checksums: only files whose stat changed since the build are hashed again (integrity.py).
An index written by an older format is refused with a message to rebuild (check_fresh), never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from .bm25 import BM25Index
from .corpusfiles import corpus_hash, corpus_stamps
from .errors import IndexCorruptError, IndexMissingError, IndexStaleError
from .integrity import MappedVectors, load_vectors, verify
from .models import Chunk, Document, Manifest, Sentence
from .occupations.registry import Registry
from .occupations.stored import load_registry
from .rows import RowFile
from .settings import Settings
from .sentencevectors import SentenceVectorsOnDemand

# 4: rows read by offset (NAME.offsets.npy), pages.json, sentence_spans.npy, occupations.tables, words.json
# with the names' words, and file stamps in the manifest. An index of format 3 still serves as the next
# build's vector cache (vectorcache.py), so rebuilding it re-encodes nothing.
FORMAT_VERSION = 4
FILES = ("manifest.json", "documents.jsonl", "documents.offsets.npy", "chunks.jsonl", "chunks.offsets.npy",
         "vectors.faiss", "words.json", "sentences.jsonl", "sentences.offsets.npy", "sentence_spans.npy",
         "sentence_vectors.npy", "occupations.jsonl", "occupations.offsets.npy", "occupations.tables",
         "occupation_vectors.npy", "pages.json")
BUILD_HINT = "run `careers-assistant build`"


class PageRows(Mapping):
    """doc_id -> the range of its rows: a page's chunks (or sentences) are consecutive rows."""

    def __init__(self, position: dict[str, int], starts: list[int]) -> None:
        self.position, self.starts = position, starts

    def __getitem__(self, doc_id: str) -> range:
        i = self.position[doc_id]
        return range(self.starts[i], self.starts[i + 1])

    def __iter__(self) -> Iterator[str]:
        return iter(self.position)

    def __len__(self) -> int:
        return len(self.position)


class Documents(Mapping):
    """doc_id -> Document, each parsed when first read."""

    def __init__(self, rows: RowFile[Document], position: dict[str, int]) -> None:
        self.rows, self.position = rows, position

    def __getitem__(self, doc_id: str) -> Document:
        return self.rows[self.position[doc_id]]

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.position

    def __iter__(self) -> Iterator[str]:
        return iter(self.position)

    def __len__(self) -> int:
        return len(self.position)


class Index:
    """A loaded index: documents, chunks, the FAISS vectors and BM25, all agreeing with the manifest."""

    def __init__(self, *, manifest: Manifest, path: Path, documents: Mapping[str, Document],
                 chunks: Sequence[Chunk], vectors, bm25: BM25Index, word_counts: dict[str, int],
                 name_words: dict[str, int], sentences: Sequence[Sentence], sentence_spans: np.ndarray,
                 sentence_vectors, registry: Registry, occupation_vectors, chunk_rows: Mapping[str, range],
                 sentence_rows: Mapping[str, range], publishers: dict[str, list[str]]) -> None:
        self.manifest, self.path, self.documents, self.chunks = manifest, path, documents, chunks
        self.vectors, self.bm25, self.registry = vectors, bm25, registry
        # Corpus words, and the words of titles, publishers and occupation names: the speller's vocabulary.
        self.word_counts, self.name_words = word_counts, name_words
        self.sentences, self.sentence_spans = sentences, sentence_spans
        # An array, a guarded mapping (integrity.MappedVectors), or None when the build left sentence
        # vectors out: attach_sentence_encoder() then supplies them on demand.
        self.sentence_vectors = sentence_vectors
        # One unit vector per occupation name, for the dense match when no name matches a question.
        self.occupation_vectors = occupation_vectors
        # Chunk rows and sentence rows of each page: what retrieval is filtered to for one occupation.
        self.chunk_rows, self.sentence_rows = chunk_rows, sentence_rows
        self.publishers = publishers  # publisher name or alias -> its pages
        self.by_source: list[str] = []  # page ids by (publisher, title)
        self.publisher_count = 0  # distinct publishers

    def attach_sentence_encoder(self, embedder) -> None:
        if self.sentence_vectors is None:
            self.sentence_vectors = SentenceVectorsOnDemand(self, embedder)
        elif isinstance(self.sentence_vectors, MappedVectors):  # if the mapped file changes underneath
            self.sentence_vectors.fallback = SentenceVectorsOnDemand(self, embedder).__getitem__

    def sentences_in(self, chunk: Chunk) -> list[int]:
        rows = self.sentence_rows.get(chunk.doc_id)
        if not rows:
            return []
        spans = self.sentence_spans[rows.start:rows.stop]
        inside = np.flatnonzero((spans[:, 0] < chunk.end) & (spans[:, 1] > chunk.start))
        return [rows.start + int(k) for k in inside]


def recover(target: Path) -> None:
    """If a build was killed between its two renames, the previous index is put back."""
    olds = sorted(target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if not target.exists() and olds and (olds[-1] / "manifest.json").exists():
        os.replace(olds[-1], target)
        olds = olds[:-1]
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)


def read_manifest(index_dir: Path) -> Manifest:
    if not index_dir.exists():  # a build killed between its two renames left the old index aside
        recover(index_dir)
    path = index_dir / "manifest.json"
    if not path.exists():
        raise IndexMissingError(f"No index at {index_dir}/: {BUILD_HINT} first.")
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise IndexCorruptError(f"{path} is unreadable ({err.__class__.__name__}): {BUILD_HINT}.") from err


def check_fresh(manifest: Manifest, settings: Settings, embedder_name: str) -> None:
    """Raise IndexStaleError naming what changed since the index was built."""
    if manifest.format_version != FORMAT_VERSION:
        raise IndexStaleError(f"The index has format {manifest.format_version}, this version reads "
                              f"{FORMAT_VERSION}: {BUILD_HINT}.")
    if manifest.model_name != embedder_name:
        raise IndexStaleError(f"The index was built with {manifest.model_name}, but the assistant is using "
                              f"{embedder_name}: {BUILD_HINT}.")
    if settings.corpus_dir.is_dir() and not (manifest.corpus_stamps and
                                             corpus_stamps(settings.corpus_dir) == manifest.corpus_stamps) \
            and corpus_hash(settings.corpus_dir) != manifest.corpus_hash:
        raise IndexStaleError(f"The corpus in {settings.corpus_dir}/ has changed since the index was built: "
                              f"{BUILD_HINT}.")


def read_faiss(path: Path, in_memory_max_bytes: int):
    """vectors.faiss, its vectors memory-mapped above the bound (IO_FLAG_MMAP_IFC maps the stored vectors
    of IndexFlatIP and of IndexHNSWFlat's storage; the HNSW graph itself is read into memory)."""
    import faiss  # deferred: ~0.1 s, and not every command needs it

    mapped = path.stat().st_size > in_memory_max_bytes
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mapped else 0)


def load_index(settings: Settings, embedder_name: str) -> Index:
    folder = settings.index_dir
    manifest = read_manifest(folder)
    check_fresh(manifest, settings, embedder_name)
    wanted = [f for f in FILES if manifest.sentence_vectors or f != "sentence_vectors.npy"]
    missing = [f for f in wanted if not (folder / f).exists()] + (
        [] if (folder / "bm25").is_dir() else ["bm25/"])
    if missing:
        raise IndexCorruptError(f"The index in {folder}/ is missing {', '.join(missing)}: {BUILD_HINT}.")
    verify(folder, manifest)  # every file's size, and the sha256 of any written since the build
    try:
        return _read(folder, manifest, settings)
    except (ValueError, RuntimeError, OSError, EOFError, KeyError, TypeError) as err:
        raise IndexCorruptError(f"The index in {folder}/ is damaged ({err.__class__.__name__}: "
                                f"{str(err)[:200]}): {BUILD_HINT}.") from err


def _read(folder: Path, manifest: Manifest, settings: Settings) -> Index:
    pages = json.loads((folder / "pages.json").read_text(encoding="utf-8"))
    doc_ids: list[str] = pages["doc_ids"]
    position = {d: i for i, d in enumerate(doc_ids)}
    chunk_starts, sentence_starts = pages["chunk_starts"], pages["sentence_starts"]
    if (len(position) != manifest.document_count or len(chunk_starts) != len(doc_ids) + 1
            or len(sentence_starts) != len(doc_ids) + 1 or chunk_starts[-1] != manifest.chunk_count
            or sentence_starts[-1] != manifest.sentence_count or chunk_starts != sorted(chunk_starts)
            or sentence_starts != sorted(sentence_starts)):
        raise IndexCorruptError(f"pages.json in {folder}/ does not agree with the manifest: {BUILD_HINT}.")
    documents = Documents(RowFile(folder / "documents.jsonl", Document, manifest.document_count), position)
    chunks = RowFile(folder / "chunks.jsonl", Chunk, manifest.chunk_count, check=lambda i, c: c.row == i)
    sentences = RowFile(folder / "sentences.jsonl", Sentence, manifest.sentence_count)
    vectors = read_faiss(folder / "vectors.faiss", settings.vectors_in_memory_max_mb * 2**20)
    if manifest.faiss_params.get("efSearch"):
        vectors.hnsw.efSearch = manifest.faiss_params["efSearch"]
    bm25 = BM25Index.load(folder / "bm25")
    words = json.loads((folder / "words.json").read_text(encoding="utf-8"))
    spans = np.load(folder / "sentence_spans.npy", allow_pickle=False)
    # In memory, or memory-mapped with a size check before each read when large (integrity.py).
    sentence_vectors = (load_vectors(folder / "sentence_vectors.npy",
                                     settings.sentence_vectors_in_memory_max_mb * 2**20)
                        if manifest.sentence_vectors else None)
    registry = load_registry(folder, manifest.occupation_count, manifest.occupation_name_count, set(doc_ids))
    occupation_vectors = load_vectors(folder / "occupation_vectors.npy", settings.vectors_in_memory_max_mb * 2**20)
    if vectors.ntotal != manifest.chunk_count or bm25.params.documents != manifest.chunk_count:
        raise IndexCorruptError(f"The index in {folder}/ does not agree with its manifest "
                                f"({manifest.chunk_count} chunks expected, found {vectors.ntotal} vectors and "
                                f"{bm25.params.documents} in BM25): {BUILD_HINT}.")
    if spans.shape != (manifest.sentence_count, 2) or (
            sentence_vectors is not None and sentence_vectors.shape != (manifest.sentence_count, manifest.dimension)):
        raise IndexCorruptError(f"The sentence files in {folder}/ do not agree with the manifest: {BUILD_HINT}.")
    if occupation_vectors.shape != (manifest.occupation_name_count, manifest.dimension):
        raise IndexCorruptError(f"The occupation files in {folder}/ do not agree with the manifest or the pages: "
                                f"{BUILD_HINT}.")
    if vectors.d != manifest.dimension:
        raise IndexCorruptError(f"The index in {folder}/ is inconsistent (dimension): {BUILD_HINT}.")
    if sorted(pages["by_source"]) != sorted(doc_ids):
        raise IndexCorruptError(f"pages.json in {folder}/ does not agree with the manifest: {BUILD_HINT}.")
    index = Index(manifest=manifest, path=folder, documents=documents, chunks=chunks, vectors=vectors, bm25=bm25,
                 word_counts=words["corpus"], name_words=words["names"], sentences=sentences, sentence_spans=spans,
                 sentence_vectors=sentence_vectors, registry=registry, occupation_vectors=occupation_vectors,
                 chunk_rows=PageRows(position, chunk_starts), sentence_rows=PageRows(position, sentence_starts),
                 publishers=pages["publishers"])
    index.by_source, index.publisher_count = pages["by_source"], pages["publisher_count"]
    return index
