"""The index read lazily (indexstore.py, rows.py) gives exactly what parsing every file at load gave,
and every way its new files can be damaged or outdated ends in a message saying to rebuild."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import HashEmbedder
from assistant.errors import IndexCorruptError, IndexStaleError
from assistant.index import build_index, load_index, read_manifest
from assistant.integrity import MappedVectors, digest_folder
from assistant.models import Chunk, Document, Occupation, Sentence
from assistant.occupations.registry import Registry
from assistant.retrieval import vocabulary
from assistant.settings import Settings
from assistant.text import common_words, words

REPO = Path(__file__).resolve().parents[1]
HASH = HashEmbedder().name


@pytest.fixture
def seed_settings(tmp_path: Path) -> Settings:
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=tmp_path / "index", embedder="hash")
    build_index(settings, HashEmbedder())
    return settings


def _eager(folder: Path, name: str, model):
    return [model.model_validate_json(line) for line in (folder / name).read_text(encoding="utf-8").splitlines()]


def test_lazy_rows_equal_the_files_parsed_whole(seed_settings: Settings) -> None:
    folder = seed_settings.index_dir
    index = load_index(seed_settings, HASH)
    documents, chunks = _eager(folder, "documents.jsonl", Document), _eager(folder, "chunks.jsonl", Chunk)
    sentences, occupations = _eager(folder, "sentences.jsonl", Sentence), _eager(folder, "occupations.jsonl", Occupation)
    assert len(chunks) > 20 and len(sentences) > 100 and len(occupations) > 3
    # Read out of order first, so no row depends on the one before it having been read.
    assert [index.chunks[i] for i in reversed(range(len(chunks)))] == chunks[::-1]
    assert list(index.sentences) == sentences
    assert dict(index.documents) == {d.meta.doc_id: d for d in documents}
    assert list(index.registry.occupations) == occupations
    # Where each page's rows are, and a passage's sentences, as the eager code derived them.
    eager_chunk_rows: dict[str, list[int]] = {}
    for c in chunks:
        eager_chunk_rows.setdefault(c.doc_id, []).append(c.row)
    assert {d: list(r) for d, r in index.chunk_rows.items() if r} == eager_chunk_rows
    for chunk in chunks:
        assert index.sentences_in(chunk) == [r for r, s in enumerate(sentences) if s.doc_id == chunk.doc_id
                                             and s.start < chunk.end and s.end > chunk.start]
    publishers: dict[str, list[str]] = {}
    for d in documents:
        for name in [d.meta.publisher, *d.meta.publisher_aliases]:
            publishers.setdefault(name, []).append(d.meta.doc_id)
    assert index.publishers == publishers


def test_the_stored_registry_equals_one_built_from_the_occupations(seed_settings: Settings) -> None:
    index = load_index(seed_settings, HASH)
    occupations = _eager(seed_settings.index_dir, "occupations.jsonl", Occupation)
    eager, lazy = Registry(occupations), index.registry
    assert (lazy.matcher.exact, lazy.matcher.preferred, lazy.matcher.partial, lazy.matcher.max_words) == (
        eager.matcher.exact, eager.matcher.preferred, eager.matcher.partial, eager.matcher.max_words)
    assert lazy.name_rows == [(i, n) for i, o in enumerate(occupations) for n in range(len(o.names))]
    assert list(lazy.covered) == [o for o in occupations if o.covered]
    assert lazy.examples(3) == sorted([o for o in occupations if o.covered],
                                      key=lambda o: (-len(o.pages), o.name.lower()))[:3]
    assert lazy.page_occupation == {p: o.id for o in occupations for p in o.pages}
    assert all(lazy[o.id] == o and o.id in lazy for o in occupations) and "no-such-id" not in lazy


def test_the_speller_vocabulary_is_what_the_whole_files_gave(seed_settings: Settings) -> None:
    index = load_index(seed_settings, HASH)
    folder = seed_settings.index_dir
    counts = Counter(json.loads((folder / "words.json").read_text())["corpus"])
    extra = [w for d in _eager(folder, "documents.jsonl", Document) for w in words(f"{d.meta.title} {d.meta.publisher}")]
    extra += list(common_words())
    extra += [w for o in _eager(folder, "occupations.jsonl", Occupation) for n in o.names for w in words(n.name)]
    counts.update(extra)
    assert vocabulary(index) == dict(counts)


def _rewrite_checksums(folder: Path) -> None:
    manifest = read_manifest(folder)
    (folder / "manifest.json").write_text(manifest.model_copy(update={"files": digest_folder(folder)})
                                          .model_dump_json(), encoding="utf-8")


def test_a_damaged_offsets_file_is_refused_with_a_rebuild_message(settings: Settings, built) -> None:
    path = settings.index_dir / "chunks.offsets.npy"
    offsets = np.load(path)
    np.save(path, offsets[::-1].copy())  # same size, nonsense order
    with pytest.raises(IndexCorruptError, match="chunks.offsets.npy does not match its checksum.*careers-assistant build"):
        load_index(settings, HASH)
    _rewrite_checksums(settings.index_dir)  # checksums that agree: the offsets' own checks still refuse it
    with pytest.raises(IndexCorruptError, match="chunks.offsets.npy does not agree with chunks.jsonl.*careers-assistant build"):
        load_index(settings, HASH)
    path.write_bytes(b"not an npy file")
    _rewrite_checksums(settings.index_dir)
    with pytest.raises(IndexCorruptError, match="chunks.offsets.npy is unreadable.*careers-assistant build"):
        load_index(settings, HASH)


def test_an_offset_inside_a_line_is_refused_when_that_row_is_read(settings: Settings, built) -> None:
    path = settings.index_dir / "sentences.offsets.npy"
    offsets = np.load(path)
    offsets[2] += 1  # still in order and ending at the file's size: only reading row 1 or 2 can tell
    np.save(path, offsets)
    _rewrite_checksums(settings.index_dir)
    index = load_index(settings, HASH)
    assert index.sentences[0].doc_id
    with pytest.raises(IndexCorruptError, match="Row 1 of .*sentences.jsonl is not where sentences.offsets.npy says"
                                                ".*careers-assistant build"):
        index.sentences[1]


def test_a_file_changed_after_the_build_is_hashed_even_with_its_mtime_put_back(settings: Settings, built) -> None:
    path = settings.index_dir / "vectors.faiss"
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as the build left them
    with pytest.raises(IndexCorruptError, match="vectors.faiss does not match its checksum"):
        load_index(settings, HASH)


def test_unchanged_files_are_not_hashed_again(settings: Settings, built, monkeypatch) -> None:
    from assistant import integrity

    hashed: list[Path] = []
    original = integrity._sha256
    monkeypatch.setattr(integrity, "_sha256", lambda p: hashed.append(p) or original(p))
    load_index(settings, HASH)
    assert hashed == []
    (settings.index_dir / "words.json").write_text((settings.index_dir / "words.json").read_text())  # same bytes
    load_index(settings, HASH)
    assert [p.name for p in hashed] == ["words.json"]


def test_mapped_vectors_answer_like_vectors_in_memory(settings: Settings, built) -> None:
    in_memory = load_index(settings, HASH)
    mapped = load_index(settings.model_copy(update={"vectors_in_memory_max_mb": 0}), HASH)
    assert isinstance(mapped.occupation_vectors, MappedVectors)
    assert isinstance(in_memory.occupation_vectors, np.ndarray)
    query = HashEmbedder().encode(["weekend hours for support workers"])
    assert [a.tolist() for a in mapped.vectors.search(query, 5)] == [a.tolist() for a in in_memory.vectors.search(query, 5)]
    np.testing.assert_array_equal(mapped.occupation_vectors @ query[0], in_memory.occupation_vectors @ query[0])


def test_an_index_of_the_previous_format_asks_for_a_rebuild_without_a_traceback(settings: Settings, built) -> None:
    folder = settings.index_dir
    manifest = read_manifest(folder)
    (folder / "manifest.json").write_text(manifest.model_copy(update={"format_version": 3}).model_dump_json())
    for name in ("chunks.offsets.npy", "pages.json", "occupations.tables"):  # what format 3 did not have
        (folder / name).unlink()
    with pytest.raises(IndexStaleError, match="format 3, this version reads 4: run `careers-assistant build`"):
        load_index(settings, HASH)
    env = {**os.environ, "PYTHONPATH": str(REPO), "CAREERS_EMBEDDER": "hash"}
    result = subprocess.run([sys.executable, "-m", "assistant", "ask", "What do support workers earn?",
                             "--corpus", str(settings.corpus_dir), "--index", str(folder)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode != 0
    assert "careers-assistant build" in result.stderr and "Traceback" not in result.stderr


def test_an_unchanged_corpus_is_not_read_to_know_the_index_is_fresh(settings: Settings, built, monkeypatch) -> None:
    from assistant import indexstore

    assert set(built.corpus_stamps) == {p.name for p in settings.corpus_dir.iterdir()}
    read: list[Path] = []
    original = indexstore.corpus_hash
    monkeypatch.setattr(indexstore, "corpus_hash", lambda folder: read.append(folder) or original(folder))
    load_index(settings, HASH)
    assert read == []


def test_a_corpus_page_changed_with_its_size_and_mtime_put_back_is_still_stale(settings: Settings, built) -> None:
    page = settings.corpus_dir / "b-hours.txt"
    before = page.stat()
    page.write_text(page.read_text(encoding="utf-8").replace("37.5", "38.5"), encoding="utf-8")
    os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert page.stat().st_size == before.st_size
    with pytest.raises(IndexStaleError, match="has changed since the index was built"):
        load_index(settings, HASH)


def test_where_the_clock_does_not_pass_the_files_times_nothing_is_trusted_by_stamp(settings: Settings, monkeypatch) -> None:
    from assistant import index as index_module

    monkeypatch.setattr(index_module, "wait_past", lambda folder, ctime_ns: False)  # a file system with coarse times
    manifest = build_index(settings, HashEmbedder())
    assert manifest.corpus_stamps == {} and all(d.stamp is None for d in manifest.files.values())
    assert load_index(settings, HASH).manifest == manifest  # checked by hashing, as before stamps
    path = settings.index_dir / "words.json"
    path.write_text(path.read_text() + " ")
    with pytest.raises(IndexCorruptError, match="words.json has"):
        load_index(settings, HASH)
