"""index.py with the hash embedder: build, load, row alignment, manifest, and every way loading must fail."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from assistant import index as index_module
from assistant import indexstore
from assistant.corpus import corpus_hash
from assistant.embedding import HashEmbedder
from assistant.errors import IndexCorruptError, IndexMissingError, IndexStaleError
from assistant.index import build_index, load_index, read_manifest
from assistant.models import SkippedFile
from assistant.settings import Settings
from assistant.text import terms

HASH = "hash-384"

# (row, doc_id, section, start, end) of every chunk: files in name order, chunks in reading order.
EXPECTED_CHUNKS = [
    (0, "pay-page", "Pay", 0, 76),
    (1, "hours-page", "Hours", 0, 75),
    (2, "hours-page", "Weekends", 77, 127),
    (3, "entry-page", None, 0, 119),
    (4, "skills-page", "Skills and qualities", 0, 98),
]


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_build_then_load(settings: Settings, built, corpus_dir: Path) -> None:
    manifest = built
    before = datetime.now(timezone.utc)
    assert manifest.model_dump(include={"format_version", "model_name", "dimension", "corpus_hash", "chunk_count",
                                        "document_count", "chunking", "faiss_index", "skipped"}) == {
        "format_version": index_module.FORMAT_VERSION,
        "model_name": HASH,
        "dimension": 384,
        "corpus_hash": corpus_hash(corpus_dir),
        "chunk_count": 5,
        "document_count": 4,
        "chunking": {"max_tokens": 200, "strategy": "sections-blocks-sentences"},
        "faiss_index": "IndexFlatIP",
        "skipped": [],
    }
    assert before - timedelta(minutes=1) < manifest.build_time <= before
    assert manifest.build_seconds >= 0

    loaded = load_index(settings, HASH)
    assert loaded.manifest == manifest
    assert loaded.path == settings.index_dir
    assert list(loaded.documents) == ["pay-page", "hours-page", "entry-page", "skills-page"]
    assert [(c.row, c.doc_id, c.section, c.start, c.end) for c in loaded.chunks] == EXPECTED_CHUNKS
    for c in loaded.chunks:
        assert loaded.documents[c.doc_id].text[c.start : c.end] == c.text
    assert loaded.chunks[2].embed_text == "Working hours\nWeekends\n\nYou may work weekends and bank holidays."
    assert (loaded.vectors.ntotal, loaded.vectors.d, loaded.bm25.params.documents) == (5, 384, 5)
    # Corpus words include titles: "hours" is in the hours page twice and its title once; "weekends" is its
    # heading and in its sentence.
    assert {w: loaded.word_counts[w] for w in ("hours", "support", "skills", "weekends")} == {
        "hours": 3, "support": 3, "skills": 2, "weekends": 2}
    # Only the index folder and the corpus: no temporary or old folders left beside it.
    assert _listing(settings.index_dir.parent) == [".index.lock", "corpus", "index"]  # the lock file stays
    assert _listing(settings.index_dir) == sorted([*indexstore.FILES, "bm25", ".gitignore"])


def test_faiss_row_i_is_chunks_jsonl_line_i(settings: Settings, built) -> None:
    lines = (settings.index_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["row"] for line in lines] == [0, 1, 2, 3, 4]
    loaded = load_index(settings, HASH)
    embedder = HashEmbedder()
    vectors = embedder.encode([json.loads(line)["embed_text"] for line in lines])
    scores, rows = loaded.vectors.search(vectors, 1)
    assert rows[:, 0].tolist() == [0, 1, 2, 3, 4]
    assert scores[:, 0].tolist() == pytest.approx([1.0] * 5, abs=1e-5)
    stored = np.vstack([loaded.vectors.reconstruct(i) for i in range(5)])
    assert np.array_equal(stored, vectors)


def test_bm25_rows_are_chunk_rows(settings: Settings, built) -> None:
    loaded = load_index(settings, HASH)
    assert loaded.bm25.search(terms("night shifts"), 5)[0].tolist() == [1]
    assert loaded.bm25.search(terms("weekends"), 5)[0].tolist() == [2]
    assert loaded.bm25.search(terms("GCSEs maths"), 5)[0].tolist() == [3]


def test_skipped_files_are_in_the_manifest(settings: Settings, corpus_dir: Path) -> None:
    (corpus_dir / "e-empty.md").write_bytes(b"")
    manifest = build_index(settings, HashEmbedder())
    assert manifest.skipped == [SkippedFile(path="e-empty.md", reason="e-empty.md: the file is empty")]
    assert load_index(settings, HASH).manifest.skipped == manifest.skipped


def test_rebuild_replaces_the_index(settings: Settings, built, corpus_dir: Path) -> None:
    (corpus_dir / "e-more.md").write_text("---\nid: more\n---\nOne more page about annual leave.\n", encoding="utf-8")
    manifest = build_index(settings, HashEmbedder())
    assert (manifest.document_count, manifest.chunk_count) == (5, 6)
    assert load_index(settings, HASH).chunks[5].doc_id == "more"
    assert _listing(settings.index_dir.parent) == [".index.lock", "corpus", "index"]  # the lock file stays


# --- missing and stale --------------------------------------------------------------------------


def test_missing_index(settings: Settings) -> None:
    with pytest.raises(IndexMissingError, match="careers-assistant build"):
        load_index(settings, HASH)


def test_corpus_changed_is_stale(settings: Settings, built, corpus_dir: Path) -> None:
    page = corpus_dir / "a-pay.md"
    page.write_text(page.read_text(encoding="utf-8").replace("band 3", "band 4"), encoding="utf-8")
    with pytest.raises(IndexStaleError, match=r"has changed since the index was built.*careers-assistant build"):
        load_index(settings, HASH)


def test_new_corpus_file_is_stale(settings: Settings, built, corpus_dir: Path) -> None:
    (corpus_dir / "e-new.txt").write_text("A new page.\n", encoding="utf-8")
    with pytest.raises(IndexStaleError, match="has changed"):
        load_index(settings, HASH)


def test_other_embedder_is_stale(settings: Settings, built) -> None:
    with pytest.raises(IndexStaleError, match=r"built with hash-384, but the assistant is using other-model"):
        load_index(settings, "other-model")


def _edit_manifest(settings: Settings, **changes) -> None:
    path = settings.index_dir / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_manifest_model_name_different_is_stale(settings: Settings, built) -> None:
    _edit_manifest(settings, model_name="sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(IndexStaleError,
                       match="built with sentence-transformers/all-MiniLM-L6-v2.*careers-assistant build"):
        load_index(settings, HASH)


def test_manifest_format_version_different_is_stale(settings: Settings, built) -> None:
    _edit_manifest(settings, format_version=index_module.FORMAT_VERSION + 1)
    with pytest.raises(IndexStaleError, match="format"):
        load_index(settings, HASH)


# --- corrupt ------------------------------------------------------------------------------------


def _drop_last_line(path: Path) -> None:
    path.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]), encoding="utf-8")


def _cut_in_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _swap_first_lines(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([lines[1], lines[0], *lines[2:]]), encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("chunks.jsonl", Path.unlink, "is missing chunks.jsonl"),
        ("chunks.jsonl", _drop_last_line, "chunks.offsets.npy does not agree with chunks.jsonl"),
        ("chunks.jsonl", _cut_in_half, "chunks.offsets.npy does not agree with chunks.jsonl"),
        ("chunks.jsonl", _swap_first_lines, "Row 0 of .* (is not where chunks.offsets.npy says|is out of row order)"),
        ("chunks.jsonl", lambda p: p.write_bytes(b""), "chunks.offsets.npy does not agree with chunks.jsonl"),
        ("vectors.faiss", Path.unlink, "is missing vectors.faiss"),
        ("vectors.faiss", _cut_in_half, "is damaged"),
        ("documents.jsonl", _drop_last_line, "documents.offsets.npy does not agree with documents.jsonl"),
        ("words.json", _cut_in_half, "is damaged"),
        ("manifest.json", _cut_in_half, "unreadable"),
    ],
    ids=["chunks-deleted", "chunks-last-line-lost", "chunks-cut-mid-line", "chunks-reordered", "chunks-emptied",
         "vectors-deleted", "vectors-truncated", "documents-last-line-lost", "words-truncated", "manifest-truncated"],
)
def test_corrupt_index(settings: Settings, built, name: str, damage, message: str) -> None:
    damage(settings.index_dir / name)
    # The checksums in the manifest catch every change to a file, before anything is parsed ...
    first = message if name == "manifest.json" or damage is Path.unlink else rf"is damaged \({name} "
    with pytest.raises(IndexCorruptError, match=first) as err:
        load_index(settings, HASH)
    assert "careers-assistant build" in str(err.value)
    if name == "manifest.json":
        return
    # ... and with checksums that match the damaged files, the checks of what the files say still do:
    # at load, or (rows are read on demand, indexstore.py) when the damaged row is read.
    _rewrite_checksums(settings.index_dir)
    with pytest.raises(IndexCorruptError, match=message) as err:
        loaded = load_index(settings, HASH)
        list(loaded.chunks), list(loaded.documents.values())
    assert "careers-assistant build" in str(err.value)


def _rewrite_checksums(folder: Path) -> None:
    from assistant.integrity import digest_folder

    manifest = read_manifest(folder)
    (folder / "manifest.json").write_text(manifest.model_copy(update={"files": digest_folder(folder)})
                                          .model_dump_json(), encoding="utf-8")


def test_bm25_folder_deleted_is_corrupt(settings: Settings, built) -> None:
    import shutil

    shutil.rmtree(settings.index_dir / "bm25")
    with pytest.raises(IndexCorruptError, match="is missing bm25/"):
        load_index(settings, HASH)


def test_bm25_file_emptied_is_corrupt(settings: Settings, built) -> None:
    (settings.index_dir / "bm25" / "rows.npy").write_bytes(b"")
    with pytest.raises(IndexCorruptError):
        load_index(settings, HASH)


# --- a failed build leaves the previous index serving and nothing behind ------------------------


class _Boom(RuntimeError):
    pass


def _raise(*args, **kwargs):
    raise _Boom("simulated failure")


@pytest.mark.parametrize(
    "where",
    ["encode", "bm25-save", "faiss-write"],
)
def test_failed_build_keeps_previous_index(settings: Settings, built, corpus_dir: Path, monkeypatch,
                                           where: str) -> None:
    before = (settings.index_dir / "manifest.json").read_bytes()
    embedder = HashEmbedder()
    if where == "encode":
        monkeypatch.setattr(embedder, "encode", _raise)
    elif where == "bm25-save":  # after the temporary folder is half written
        monkeypatch.setattr(index_module.BM25Index, "save", _raise)
    else:
        faiss = index_module._faiss()
        monkeypatch.setattr(faiss, "write_index", _raise)
    with pytest.raises(_Boom):  # --full: an unchanged corpus would otherwise reuse every vector, encoding none
        build_index(settings, embedder, full=where == "encode")
    assert (settings.index_dir / "manifest.json").read_bytes() == before
    assert _listing(settings.index_dir.parent) == [".index.lock", "corpus", "index"]  # the lock file stays
    monkeypatch.undo()
    loaded = load_index(settings, HASH)
    assert [(c.row, c.doc_id, c.section, c.start, c.end) for c in loaded.chunks] == EXPECTED_CHUNKS


def test_failed_first_build_leaves_nothing(settings: Settings, monkeypatch) -> None:
    monkeypatch.setattr(index_module.BM25Index, "save", _raise)
    with pytest.raises(_Boom):
        build_index(settings, HashEmbedder())
    assert _listing(settings.index_dir.parent) == [".index.lock", "corpus"]
    with pytest.raises(IndexMissingError):
        load_index(settings, HASH)


def test_a_killed_build_leaves_the_previous_index_serving_and_the_next_build_tidies(settings: Settings) -> None:
    build_index(settings, HashEmbedder())
    before = load_index(settings, HASH).manifest.build_time
    parent = settings.index_dir.parent
    # What a build killed mid-write leaves: a half-written folder beside the good index.
    (parent / ".index.building-99999").mkdir()
    (parent / ".index.building-99999" / "chunks.jsonl").write_text("{", encoding="utf-8")
    assert load_index(settings, HASH).manifest.build_time == before
    build_index(settings, HashEmbedder())
    assert _listing(parent) == [".index.lock", "corpus", "index"]


def test_a_build_killed_between_its_renames_gets_the_old_index_back(settings: Settings) -> None:
    build_index(settings, HashEmbedder())
    parent = settings.index_dir.parent
    settings.index_dir.rename(parent / ".index.old-4242")  # the first rename happened, the second did not
    assert load_index(settings, HASH).manifest.chunk_count > 0
    assert _listing(parent) == [".index.lock", "corpus", "index"]
