"""Index files damaged in place are refused by checksum, and a served file that changes underneath
never kills the process: the last good index keeps answering, with an ERROR in the log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import HashEmbedder
from assistant.errors import IndexCorruptError, IndexStaleError
from assistant.index import load_index, read_manifest
from assistant.integrity import MappedVectors, digest_folder, problems
from assistant.pipeline import Assistant
from assistant.settings import Settings
from assistant.web.reload import IndexWatcher
from assistant.web.service import AnswerService

REPO = Path(__file__).resolve().parents[1]
HASH = HashEmbedder().name
QUESTION = "What skills do support workers need?"


def scribble(path: Path, seed: int = 1) -> None:
    """Random bytes over the middle of a file, its size unchanged (what a failing disk or a stray write does)."""
    data = bytearray(path.read_bytes())
    noise = np.random.default_rng(seed).integers(0, 256, size=min(256, len(data) // 2), dtype=np.uint8).tobytes()
    start = len(data) // 3
    data[start:start + len(noise)] = noise
    path.write_bytes(bytes(data))


def test_the_manifest_lists_every_file_in_the_folder(settings: Settings, built) -> None:
    folder = settings.index_dir
    on_disk = {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    on_disk.pop("manifest.json")
    assert {name: d.size for name, d in built.files.items()} == on_disk
    assert "bm25/weights.npy" in built.files and "vectors.faiss" in built.files
    assert read_manifest(folder).files == built.files  # what build returns is what it wrote


def test_a_file_added_to_the_index_format_is_covered_without_code(tmp_path: Path) -> None:
    (tmp_path / "occupations").mkdir()
    (tmp_path / "occupations" / "registry.jsonl").write_text('{"id": 1}\n')
    (tmp_path / "manifest.json").write_text("{}")
    assert list(digest_folder(tmp_path)) == ["occupations/registry.jsonl"]


def test_random_bytes_in_vectors_faiss_are_refused_by_checksum(settings: Settings, built) -> None:
    scribble(settings.index_dir / "vectors.faiss")
    with pytest.raises(IndexCorruptError, match=r"vectors.faiss does not match its checksum.*careers-assistant build"):
        load_index(settings, HASH)


def test_an_index_without_checksums_asks_for_a_rebuild(settings: Settings, built) -> None:
    path = settings.index_dir / "manifest.json"
    path.write_text(read_manifest(settings.index_dir).model_copy(update={"files": {}}).model_dump_json())
    with pytest.raises(IndexStaleError, match="without file checksums"):
        load_index(settings, HASH)


@pytest.fixture
def live(settings: Settings, built):
    embedder = HashEmbedder()
    service = AnswerService(Assistant(settings, embedder=embedder))
    return settings, service, IndexWatcher(service, interval=0.01)


def _check(watcher: IndexWatcher) -> str:
    import asyncio

    return asyncio.run(watcher.check())


def test_a_reload_with_damaged_files_keeps_the_last_good_index(live, caplog) -> None:
    settings, service, watcher = live
    assert _check(watcher) == "same-build"
    before = service.assistant.ask(QUESTION)
    # Random bytes in vectors.faiss plus a changed manifest, as in the probe.
    scribble(settings.index_dir / "vectors.faiss")
    manifest = read_manifest(settings.index_dir)
    (settings.index_dir / "manifest.json").write_text(
        manifest.model_copy(update={"build_seconds": manifest.build_seconds + 1}).model_dump_json())
    with caplog.at_level(logging.ERROR):
        assert _check(watcher) == "failed"
    assert any("vectors.faiss does not match its checksum" in r.getMessage() for r in caplog.records
               if r.levelno == logging.ERROR)
    after = service.assistant.ask(QUESTION)
    assert after.model_dump() == before.model_dump()  # same answer, same citations


def test_a_touched_manifest_over_damaged_files_is_reported(live, caplog) -> None:
    settings, service, watcher = live
    assert _check(watcher) == "same-build"
    scribble(settings.index_dir / "chunks.jsonl")
    os.utime(settings.index_dir / "manifest.json")  # touched, contents unchanged
    with caplog.at_level(logging.ERROR):
        assert _check(watcher) == "same-build"
    assert any("chunks.jsonl does not match its checksum" in r.getMessage() for r in caplog.records)


def test_problems_names_a_shrunk_file_without_hashing(settings: Settings, built) -> None:
    path = settings.index_dir / "sentence_vectors.npy"
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size - 100)
    assert problems(settings.index_dir, read_manifest(settings.index_dir)) == [
        f"sentence_vectors.npy has {path.stat().st_size:,} bytes, not {path.stat().st_size + 100:,}"]


def test_sentence_vectors_in_memory_below_the_bound_and_mapped_above(settings: Settings, built) -> None:
    assert isinstance(load_index(settings, HASH).sentence_vectors, np.ndarray)
    mapped = load_index(settings.model_copy(update={"sentence_vectors_in_memory_max_mb": 0}), HASH)
    assert isinstance(mapped.sentence_vectors, MappedVectors)
    full = np.load(settings.index_dir / "sentence_vectors.npy")
    np.testing.assert_array_equal(mapped.sentence_vectors[[0, 2, 1]], full[[0, 2, 1]])


# Run in a child process: if the guard failed, SIGBUS would kill pytest itself.
TRUNCATE_WHILE_SERVING = r"""
import sys
from pathlib import Path
from assistant.embedding import HashEmbedder
from assistant.pipeline import Assistant
from assistant.settings import Settings

settings = Settings(corpus_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]), embedder="hash",
                    sentence_vectors_in_memory_max_mb=int(sys.argv[3]))
assistant = Assistant(settings, embedder=HashEmbedder())
before = assistant.ask(sys.argv[4]).model_dump_json()
path = settings.index_dir / "sentence_vectors.npy"
with path.open("r+b") as fh:
    fh.truncate(128)  # past the header: every row of the mapping is gone
after = assistant.ask(sys.argv[4]).model_dump_json()
print(type(assistant.index.sentence_vectors).__name__, before == after)
"""


@pytest.mark.parametrize("bound_mb,kind", [(256, "ndarray"), (0, "MappedVectors")])
def test_truncating_sentence_vectors_while_serving_changes_no_answer(settings: Settings, built, bound_mb, kind):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", TRUNCATE_WHILE_SERVING, str(settings.corpus_dir),
                             str(settings.index_dir), str(bound_mb), QUESTION], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]  # -7 would be SIGBUS
    assert result.stdout.split() == [kind, "True"]
    if kind == "MappedVectors":
        assert "changed on disk while being served" in result.stderr
