"""Build, save and load the index folder: plain files plus a manifest.

index/
  manifest.json     model, dimension, corpus hash, counts, chunking settings, format version, build time,
                    and the sha256, size and stat stamp of every other file here (integrity.py)
  documents.jsonl   one cleaned document per line (metadata, text, blocks)
  chunks.jsonl      row i of vectors.faiss is line i of this file
  vectors.faiss     unit-length embeddings; inner product = cosine
  sentences.jsonl   every quotable sentence or bullet; row i of sentence_vectors.npy is line i
  sentence_spans.npy    (start, end) of each sentence in its page, to find a passage's sentences unparsed
  sentence_vectors.npy  their unit-length embeddings, to rank quotes against the question
  NAME.offsets.npy  byte offset of each line of NAME.jsonl, so a row is read without parsing the file (rows.py)
  pages.json        page ids in row order, where each page's chunks and sentences start, publishers' pages
  words.json        corpus word counts, and the words of titles, publishers and occupation names (speller)
  occupations.jsonl the occupation registry: id, display names, every name with where it came from, pages
  occupations.tables  what loading the registry needs without parsing it (occupations/stored.py)
  occupation_vectors.npy  one unit vector per occupation name (row order: occupations, then their names)
  bm25/             the lexical index (see bm25.py)

Reading it is indexstore.py's part: lazily, row by row, large vectors memory-mapped.

A build reuses the vectors of texts the previous index in the same folder already encoded with the same
model and chunking (keyed by sha256 of each text; vectorcache.py): editing one page re-encodes only that
page's texts. No extra file: the old chunks.jsonl + vectors.faiss, sentences + sentence_vectors.npy and
occupations.jsonl + occupation_vectors.npy are the cache. `build --full` (full=True) reuses nothing; a
damaged or mismatched previous index means a full encode. The manifest records texts encoded and reused.

A build writes a sibling temporary folder and swaps it in only when complete, so a failed or killed
build never leaves a broken index, and the previous index keeps serving until the swap.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .bm25 import BM25Index
from .chunking import chunk_document, sentences_of
from .corpus import corpus_hash, corpus_stamps, load_corpus
from .embedding import Embedder
from .generated import GITIGNORE
from .indexstore import FORMAT_VERSION, Index, check_fresh, load_index, read_manifest, recover  # noqa: F401 - re-exported
from .integrity import digest_folder, latest_change, wait_past
from .models import Chunk, Document, Manifest, Occupation, Sentence
from .occupations.enrich import enrich
from .occupations.registry import build_registry
from .occupations.stored import save_registry
from .rows import write_rows
from .settings import Settings
from .text import terms, words
from .vectorcache import Encoder, previous_vectors

# Formats whose vectors a build may reuse (vectorcache.py reads only chunks.jsonl, vectors.faiss, sentences,
# occupations and their vectors, which format 4 kept as format 3 wrote them).
CACHE_FORMATS = (3, FORMAT_VERSION)


def _faiss():
    import faiss  # deferred: ~0.1 s, and not every command needs it

    return faiss


def faiss_kind(settings: Settings, vectors: int) -> tuple[str, dict[str, int]]:
    """The FAISS index type for this many passages, and its parameters.

    "auto" keeps exact search (IndexFlatIP) up to settings.flat_max_vectors and uses HNSW above: the
    threshold and HNSW parameters come from the recall-vs-exact measurements in benchmarks/README.md.
    """
    kind = settings.faiss_index
    if kind == "auto":
        kind = "flat" if vectors <= settings.flat_max_vectors else "hnsw"
    if kind == "flat":
        return "IndexFlatIP", {}
    return "IndexHNSWFlat", {"M": settings.hnsw_m, "efConstruction": settings.hnsw_ef_construction,
                             "efSearch": settings.hnsw_ef_search}


def make_faiss_index(kind: str, params: dict[str, int], dimension: int):
    faiss = _faiss()
    if kind == "IndexFlatIP":
        return faiss.IndexFlatIP(dimension)
    if kind == "IndexHNSWFlat":
        index = faiss.IndexHNSWFlat(dimension, params["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params["efConstruction"]
        index.hnsw.efSearch = params["efSearch"]
        return index
    raise ValueError(f"Unknown FAISS index type {kind!r}")


def wants_sentence_vectors(settings: Settings, sentences: int) -> bool:
    if settings.sentence_vectors == "auto":
        return sentences <= settings.sentence_vectors_max
    return settings.sentence_vectors == "always"


def build_index(settings: Settings, embedder: Embedder, *, progress: bool = False, full: bool = False) -> Manifest:
    """Build settings.index_dir from the corpus. Vectors of texts the previous index there already
    encoded with the same model and chunking are reused (vectorcache.py) unless `full`."""
    target = settings.index_dir
    target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(target):  # the previous index is read under the lock: two builds never race
        _clear_leftovers(target)
        return _build_locked(settings, embedder, target, progress=progress, full=full)


def _build_locked(settings: Settings, embedder: Embedder, target: Path, *, progress: bool, full: bool) -> Manifest:
    started = time.perf_counter()
    # Stamps first, then (once the clock has passed them) the reading: a page changed while it is read
    # gets a new ctime, so its stamp no longer matches and the next load hashes the corpus again.
    stamps = corpus_stamps(settings.corpus_dir) if settings.corpus_dir.is_dir() else {}
    if not wait_past(target.parent, max((s[3] for s in stamps.values()), default=0)):
        stamps = {}  # coarse file times: the corpus is hashed at every load, as before stamps
    documents, skipped = load_corpus(settings.corpus_dir)
    digest = corpus_hash(settings.corpus_dir)
    chunking: dict[str, int | str] = {"max_tokens": settings.max_chunk_tokens, "strategy": "sections-blocks-sentences"}
    cache = {} if full else previous_vectors(target, format_versions=CACHE_FORMATS, model_name=embedder.name,
                                             dimension=embedder.dimension, chunking=chunking)
    encode = Encoder(embedder, cache, batch_size=settings.encode_batch_size, progress=progress)
    chunks: list[Chunk] = []
    for doc in documents:
        for chunk in chunk_document(doc, embedder.count_tokens, settings.max_chunk_tokens):
            chunks.append(chunk.model_copy(update={"row": len(chunks)}))
    vectors = encode([c.embed_text for c in chunks], "passages")
    sentences = [s for doc in documents for s in sentences_of(doc)]
    by_id = {d.meta.doc_id: d for d in documents}
    with_sentence_vectors = wants_sentence_vectors(settings, len(sentences))
    sentence_vectors = (encode([by_id[s.doc_id].text[s.start:s.end] for s in sentences], "sentences")
                        if with_sentence_vectors else None)
    occupations = enrich(build_registry(documents), documents, sentences)
    names = [n.name for o in occupations for n in o.names]
    occupation_vectors = encode(names, "occupation names")
    kind, params = faiss_kind(settings, len(chunks))
    faiss_index = make_faiss_index(kind, params, embedder.dimension)
    faiss_index.add(vectors)
    bm25 = BM25Index.build([terms(c.embed_text) for c in chunks])
    word_counts = Counter(w for doc in documents for w in words(doc.text + " " + doc.meta.title))

    manifest = Manifest(
        format_version=FORMAT_VERSION, model_name=embedder.name, dimension=embedder.dimension,
        corpus_hash=digest, corpus_stamps=stamps, chunk_count=len(chunks), document_count=len(documents), sentence_count=len(sentences),
        chunking=chunking, faiss_index=kind, faiss_params=params, sentence_vectors=with_sentence_vectors,
        occupation_count=len(occupations), occupation_name_count=len(names),
        build_time=datetime.now(timezone.utc),
        build_seconds=round(time.perf_counter() - started, 3), skipped=skipped,
        texts_encoded=encode.encoded, texts_reused=encode.reused,
    )
    return _write_and_swap(target, manifest, documents, chunks, sentences, sentence_vectors, faiss_index,
                           bm25, word_counts, occupations, occupation_vectors)


@contextmanager
def _build_lock(target: Path):
    """One build at a time per index folder; a second waits rather than racing the swap."""
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _clear_leftovers(target: Path) -> None:
    """Remove what a killed build left: its half-written folder, or the old index it was replacing."""
    recover(target)
    for leftover in target.parent.glob(f".{target.name}.building-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _write_and_swap(target: Path, manifest: Manifest, documents: list[Document], chunks: list[Chunk],
                    sentences: list[Sentence], sentence_vectors: np.ndarray | None, faiss_index,
                    bm25: BM25Index, word_counts: Counter, occupations: list[Occupation],
                    occupation_vectors: np.ndarray) -> Manifest:
    faiss = _faiss()
    tmp = target.parent / f".{target.name}.building-{os.getpid()}"
    tmp.mkdir()
    try:
        # An index is generated: whatever its name and wherever it is built, git ignores it.
        (tmp / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        write_rows(tmp / "documents.jsonl", documents)
        write_rows(tmp / "chunks.jsonl", chunks)
        write_rows(tmp / "sentences.jsonl", sentences)
        np.save(tmp / "sentence_spans.npy", np.array([(s.start, s.end) for s in sentences], dtype=np.int64
                                                     ).reshape(len(sentences), 2))
        (tmp / "pages.json").write_text(json.dumps(page_layout(documents, chunks, sentences)), encoding="utf-8")
        if sentence_vectors is not None:
            np.save(tmp / "sentence_vectors.npy", sentence_vectors)
        faiss.write_index(faiss_index, str(tmp / "vectors.faiss"))
        (tmp / "words.json").write_text(json.dumps({"corpus": word_counts, "names": name_words(documents, occupations)}),
                                        encoding="utf-8")
        bm25.save(tmp / "bm25")
        save_registry(tmp, occupations)
        np.save(tmp / "occupation_vectors.npy", np.asarray(occupation_vectors, dtype=np.float32))
        # The manifest goes last: a folder without one was never finished. It lists every file's checksum
        # and stat stamp, and is written once the clock is past every file's change time (integrity.py).
        files = digest_folder(tmp)
        if not wait_past(tmp, latest_change(files)):  # coarse file times: every load hashes every file
            files = {name: d.model_copy(update={"stamp": None}) for name, d in files.items()}
        manifest = manifest.model_copy(update={"files": files})
        (tmp / "manifest.json").write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        _swap_in(tmp, target)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def page_layout(documents: list[Document], chunks: list[Chunk], sentences: list[Sentence]) -> dict:
    """Page ids in row order, where each page's chunks and sentences start (they are consecutive rows),
    the pages of each publisher name or alias, and the pages in (publisher, title) order: what loading
    and the welcome screen need without parsing any row."""
    position = {d.meta.doc_id: i for i, d in enumerate(documents)}
    starts = {}
    for name, rows in (("chunk_starts", chunks), ("sentence_starts", sentences)):
        owners = [position[r.doc_id] for r in rows]
        if owners != sorted(owners):
            raise AssertionError(f"{name}: rows are not grouped by page in page order")
        counts = np.bincount(np.array(owners, dtype=np.int64), minlength=len(documents))
        starts[name] = [0, *np.cumsum(counts).tolist()]
    publishers: dict[str, list[str]] = {}
    for doc in documents:
        for name in [doc.meta.publisher, *doc.meta.publisher_aliases]:
            publishers.setdefault(name, []).append(doc.meta.doc_id)
    # The welcome screen lists pages by publisher and title: in that order here, so it parses only those it shows.
    by_source = [d.meta.doc_id for d in sorted(documents, key=lambda d: (d.meta.publisher, d.meta.title))]
    return {"doc_ids": list(position), **starts, "publishers": publishers, "by_source": by_source,
            "publisher_count": len({d.meta.publisher for d in documents})}


def name_words(documents: list[Document], occupations: list[Occupation]) -> Counter:
    """Words a question may use besides the corpus's own: its pages' titles and publishers and every
    occupation name's words (retrieval.vocabulary adds everyday question words)."""
    found = Counter(w for d in documents for w in words(f"{d.meta.title} {d.meta.publisher}"))
    found.update(w for o in occupations for n in o.names for w in words(n.name))
    return found


def _swap_in(new: Path, target: Path) -> None:
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
