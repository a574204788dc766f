"""Build, save and load the index folder: plain files plus a manifest.

index/
  manifest.json     model, dimension, corpus hash, counts, chunking settings, format version, build time,
                    and the sha256 and size of every other file here (integrity.py), checked at each load
  documents.jsonl   one cleaned document per line (metadata, text, blocks)
  chunks.jsonl      row i of vectors.faiss is line i of this file
  vectors.faiss     unit-length embeddings; inner product = cosine
  sentences.jsonl   every quotable sentence or bullet; row i of sentence_vectors.npy is line i
  sentence_vectors.npy  their unit-length embeddings, to rank quotes against the question
  words.json        corpus word counts, for typo correction
  occupations.jsonl the occupation registry: id, display names, every name with where it came from, pages
  occupation_vectors.npy  one unit vector per occupation name (row order: occupations, then their names)
  bm25/             the lexical index (see bm25.py)

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
from .corpus import corpus_hash, load_corpus
from .embedding import Embedder
from .generated import GITIGNORE
from .errors import IndexCorruptError, IndexMissingError, IndexStaleError
from .integrity import MappedVectors, digest_folder, load_vectors, verify
from .models import Chunk, Document, Manifest, Occupation, Sentence
from .occupations.names import name_key
from .occupations.registry import Registry, build_registry
from .settings import Settings
from .text import terms, words
from .vectorcache import Encoder, previous_vectors

# 3: the occupation registry, and blocks that record where the cleaning removed something
# (Block.gap_before); an older index would load without them and let citations join text across
# removed furniture again.
FORMAT_VERSION = 3
_FILES = ("manifest.json", "documents.jsonl", "chunks.jsonl", "vectors.faiss", "words.json", "sentences.jsonl",
          "sentence_vectors.npy", "occupations.jsonl", "occupation_vectors.npy")
_BUILD_HINT = "run `careers-assistant build`"


def _faiss():
    import faiss  # deferred: ~0.3 s, and not every command needs it

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


class SentenceVectorsOnDemand:
    """Stands in for sentence_vectors.npy when the build left it out: `self[rows]` encodes those
    sentences with the question's embedder (the same model) and keeps them for the next question."""

    def __init__(self, index: "Index", embedder: Embedder) -> None:
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


class Index:
    """A loaded index: documents, chunks, the FAISS vectors and BM25, all agreeing with the manifest."""

    def __init__(self, manifest: Manifest, documents: dict[str, Document], chunks: list[Chunk], vectors,
                 bm25: BM25Index, word_counts: dict[str, int], sentences: list[Sentence],
                 sentence_vectors, path: Path, registry: Registry | None = None,
                 occupation_vectors: np.ndarray | None = None) -> None:
        self.manifest, self.documents, self.chunks = manifest, documents, chunks
        self.registry = registry or Registry(build_registry(documents.values()))
        # One unit vector per occupation name, for the dense match when no name matches a question.
        self.occupation_vectors = occupation_vectors
        # Chunk rows of each page: what retrieval is filtered to for one occupation.
        self.chunk_rows: dict[str, list[int]] = {}
        for chunk in chunks:
            self.chunk_rows.setdefault(chunk.doc_id, []).append(chunk.row)
        self.vectors, self.bm25, self.word_counts, self.path = vectors, bm25, word_counts, path
        self.sentences = sentences
        # An array (mapped from sentence_vectors.npy), or None when the build left sentence vectors out:
        # attach_sentence_encoder() then supplies them on demand.
        self.sentence_vectors = sentence_vectors
        # Sentence rows of each document in reading order, to find a chunk's sentences by offset.
        self.sentence_rows: dict[str, list[int]] = {}
        for row, s in enumerate(sentences):
            self.sentence_rows.setdefault(s.doc_id, []).append(row)

    def attach_sentence_encoder(self, embedder: Embedder) -> None:
        if self.sentence_vectors is None:
            self.sentence_vectors = SentenceVectorsOnDemand(self, embedder)
        elif isinstance(self.sentence_vectors, MappedVectors):  # if the mapped file changes underneath
            self.sentence_vectors.fallback = SentenceVectorsOnDemand(self, embedder).__getitem__

    def sentences_in(self, chunk: Chunk) -> list[int]:
        return [r for r in self.sentence_rows.get(chunk.doc_id, [])
                if self.sentences[r].start < chunk.end and self.sentences[r].end > chunk.start]


def _write_jsonl(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(row.model_dump_json() + "\n")


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
    documents, skipped = load_corpus(settings.corpus_dir)
    digest = corpus_hash(settings.corpus_dir)
    chunking: dict[str, int | str] = {"max_tokens": settings.max_chunk_tokens, "strategy": "sections-blocks-sentences"}
    cache = {} if full else previous_vectors(target, format_version=FORMAT_VERSION, model_name=embedder.name,
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
        corpus_hash=digest, chunk_count=len(chunks), document_count=len(documents), sentence_count=len(sentences),
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


def recover(target: Path) -> None:
    """If a build was killed between its two renames, the previous index is put back."""
    olds = sorted(target.parent.glob(f".{target.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if not target.exists() and olds and (olds[-1] / "manifest.json").exists():
        os.replace(olds[-1], target)
        olds = olds[:-1]
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)


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
        _write_jsonl(tmp / "documents.jsonl", documents)
        _write_jsonl(tmp / "chunks.jsonl", chunks)
        _write_jsonl(tmp / "sentences.jsonl", sentences)
        if sentence_vectors is not None:
            np.save(tmp / "sentence_vectors.npy", sentence_vectors)
        faiss.write_index(faiss_index, str(tmp / "vectors.faiss"))
        (tmp / "words.json").write_text(json.dumps(word_counts), encoding="utf-8")
        bm25.save(tmp / "bm25")
        _write_jsonl(tmp / "occupations.jsonl", occupations)
        np.save(tmp / "occupation_vectors.npy", np.asarray(occupation_vectors, dtype=np.float32))
        # The manifest goes last: a folder without one was never finished. It lists every file's checksum.
        manifest = manifest.model_copy(update={"files": digest_folder(tmp)})
        (tmp / "manifest.json").write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        _swap_in(tmp, target)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_in(new: Path, target: Path) -> None:
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(index_dir: Path) -> Manifest:
    if not index_dir.exists():
        recover(index_dir)
    path = index_dir / "manifest.json"
    if not path.exists():
        raise IndexMissingError(f"No index at {index_dir}/: {_BUILD_HINT} first.")
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise IndexCorruptError(f"{path} is unreadable ({err.__class__.__name__}): {_BUILD_HINT}.") from err


def check_fresh(manifest: Manifest, settings: Settings, embedder_name: str) -> None:
    """Raise IndexStaleError naming what changed since the index was built."""
    if manifest.format_version != FORMAT_VERSION:
        raise IndexStaleError(f"The index has format {manifest.format_version}, this version reads "
                              f"{FORMAT_VERSION}: {_BUILD_HINT}.")
    if manifest.model_name != embedder_name:
        raise IndexStaleError(f"The index was built with {manifest.model_name}, but the assistant is using "
                              f"{embedder_name}: {_BUILD_HINT}.")
    if settings.corpus_dir.is_dir() and corpus_hash(settings.corpus_dir) != manifest.corpus_hash:
        raise IndexStaleError(f"The corpus in {settings.corpus_dir}/ has changed since the index was built: "
                              f"{_BUILD_HINT}.")


def load_index(settings: Settings, embedder_name: str) -> Index:
    folder = settings.index_dir
    manifest = read_manifest(folder)
    check_fresh(manifest, settings, embedder_name)
    wanted = [f for f in _FILES if manifest.sentence_vectors or f != "sentence_vectors.npy"]
    missing = [f for f in wanted if not (folder / f).exists()] + (
        [] if (folder / "bm25").is_dir() else ["bm25/"])
    if missing:
        raise IndexCorruptError(f"The index in {folder}/ is missing {', '.join(missing)}: {_BUILD_HINT}.")
    verify(folder, manifest)  # every file's size and sha256, before any is parsed
    try:
        documents = [Document.model_validate_json(line)
                     for line in (folder / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
        chunks = [Chunk.model_validate_json(line)
                  for line in (folder / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
        vectors = _faiss().read_index(str(folder / "vectors.faiss"))
        if manifest.faiss_params.get("efSearch"):
            vectors.hnsw.efSearch = manifest.faiss_params["efSearch"]
        bm25 = BM25Index.load(folder / "bm25")
        word_counts = json.loads((folder / "words.json").read_text(encoding="utf-8"))
        sentences = [Sentence.model_validate_json(line)
                     for line in (folder / "sentences.jsonl").read_text(encoding="utf-8").splitlines()]
        # In memory, or memory-mapped with a size check before each read when large (integrity.py).
        sentence_vectors = (load_vectors(folder / "sentence_vectors.npy",
                                         settings.sentence_vectors_in_memory_max_mb * 2**20)
                            if manifest.sentence_vectors else None)
        occupations = [Occupation.model_validate_json(line)
                       for line in (folder / "occupations.jsonl").read_text(encoding="utf-8").splitlines()]
        occupation_vectors = np.load(folder / "occupation_vectors.npy")
    except (ValueError, RuntimeError, OSError, EOFError) as err:  # EOFError: np.load of an emptied file
        raise IndexCorruptError(f"The index in {folder}/ is damaged ({err.__class__.__name__}: "
                                f"{str(err)[:200]}): {_BUILD_HINT}.") from err
    counts = {"chunks.jsonl": len(chunks), "vectors.faiss": vectors.ntotal, "bm25": bm25.params.documents}
    if any(n != manifest.chunk_count for n in counts.values()) or len(documents) != manifest.document_count:
        raise IndexCorruptError(f"The index in {folder}/ does not agree with its manifest "
                                f"({manifest.chunk_count} chunks expected, found {counts}): {_BUILD_HINT}.")
    if len(sentences) != manifest.sentence_count or (
            sentence_vectors is not None and sentence_vectors.shape != (len(sentences), manifest.dimension)):
        raise IndexCorruptError(f"The sentence files in {folder}/ do not agree with the manifest: {_BUILD_HINT}.")
    names = sum(len(o.names) for o in occupations)
    doc_ids = {d.meta.doc_id for d in documents}
    if (len(occupations) != manifest.occupation_count or names != manifest.occupation_name_count
            or occupation_vectors.shape != (names, manifest.dimension)
            or any(p not in doc_ids for o in occupations for p in o.pages + o.mentioned_in)):
        raise IndexCorruptError(f"The occupation files in {folder}/ do not agree with the manifest or the pages: "
                                f"{_BUILD_HINT}.")
    if vectors.d != manifest.dimension or any(c.row != i for i, c in enumerate(chunks)):
        raise IndexCorruptError(f"The index in {folder}/ is inconsistent (dimension or row order): {_BUILD_HINT}.")
    return Index(manifest, {d.meta.doc_id: d for d in documents}, chunks, vectors, bm25, word_counts, sentences,
                 sentence_vectors, folder, Registry(occupations), occupation_vectors)


def enrich(occupations: list[Occupation], documents: list[Document],
           sentences: list[Sentence]) -> list[Occupation]:
    """Each occupation with the facets its pages have evidence for (the welcome screen's starters
    offer only questions the pages can answer) and the name its pages use most."""
    from .facets import RULES, page_evidence  # the facet rules are the query side's; only the build needs them

    by_doc: dict[str, list[Sentence]] = {}
    for s in sentences:
        by_doc.setdefault(s.doc_id, []).append(s)
    found = {d.meta.doc_id: {f.value for f in page_evidence(d, by_doc.get(d.meta.doc_id, []))} for d in documents}
    order = [r.facet.value for r in RULES]

    # The name the pages use most, counted as the matcher reads them (the longest name at each place:
    # "X helper assistants" counts for that name, not for its prefix "X helper").
    registry = Registry(occupations)
    used: Counter = Counter()
    for doc in documents:
        for hit in registry.matcher.find(doc.text):
            for position in hit.exact:
                used[(position, name_key(hit.text))] += 1

    def most_used(i: int, o: Occupation) -> str:
        counts = [(used[(i, name_key(n.name))] * len(n.name), -k) for k, n in enumerate(o.names)]
        return o.names[-max(counts)[1]].name

    return [o.model_copy(update={"facets": [f for f in order if any(f in found.get(p, ()) for p in o.pages)],
                                 "search_name": most_used(i, o)}) for i, o in enumerate(occupations)]
