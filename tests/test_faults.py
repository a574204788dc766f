"""Faults a real deployment meets: a build killed half-way, pages that are too big or have no words.
The previous good index keeps serving and nothing stored is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.corpus import MAX_FILE_BYTES, load_corpus
from assistant.embedding import HashEmbedder
from assistant.index import build_index, load_index
from assistant.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def many_pages(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        body = "\n\n".join(f"Support workers in team {i} help people with task {j}. They work {j} hours a week."
                           for j in range(40))
        (folder / f"page-{i:04d}.md").write_text(f"---\nid: page-{i}\npublisher: P{i}\n---\nHeading {i}\n\n{body}\n")


def test_a_build_killed_while_writing_leaves_the_old_index_serving(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    settings = Settings(corpus_dir=corpus, index_dir=index, embedder="hash")
    for attempt, pages in enumerate((300, 900, 2000)):
        many_pages(corpus, pages)
        good = build_index(settings, HashEmbedder())
        env = dict(os.environ, CAREERS_EMBEDDER="hash")
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "build", "--quiet", "--corpus", str(corpus),
                                 "--index", str(index)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        killed_mid_write = False
        while proc.poll() is None:
            if list(tmp_path.glob(".index.building-*")):
                proc.send_signal(signal.SIGKILL)
                killed_mid_write = True
                break
            time.sleep(0.002)
        proc.wait()
        if killed_mid_write:
            break
    assert killed_mid_write, "the build always finished before it could be killed mid-write"
    assert list(tmp_path.glob(".index.building-*"))  # the killed build's half-written folder is there
    loaded = load_index(settings, HashEmbedder.name)
    assert loaded.manifest.build_time == good.build_time and loaded.manifest.chunk_count == good.chunk_count
    build_index(settings, HashEmbedder())  # the next build tidies up after the killed one
    assert not list(tmp_path.glob(".index.building-*"))


def test_a_huge_page_and_a_page_of_nothing_are_reported_and_the_rest_indexed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text("---\nid: good\n---\nSupport workers start on band 3.\n", encoding="utf-8")
    (corpus / "huge.txt").write_bytes(b"Support workers help. " * (10 * 1024 * 1024 // 22))
    (corpus / "nothing.md").write_text("---\nid: nothing\n---\n<p></p>\n\n* * *\n\n. , ;\n", encoding="utf-8")
    (corpus / "copy.md").write_text("---\nid: copy\n---\nSupport workers start on band 3.\n", encoding="utf-8")
    documents, skipped = load_corpus(corpus)
    assert [d.meta.doc_id for d in documents] == ["copy"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["huge.txt"].startswith(f"huge.txt: the file is 10,485,750 bytes; the limit is {MAX_FILE_BYTES:,}")
    assert reasons["nothing.md"] == ("nothing.md: no text left after cleaning (nothing but markup or page "
                                     "furniture)")
    assert reasons["good.md"] == "good.md: same text as copy.md, skipped as a duplicate"


@pytest.mark.parametrize("damage", ["truncate-vectors", "delete-chunks", "garble-manifest"])
def test_ask_on_a_damaged_index_says_what_to_run(tmp_path: Path, damage: str) -> None:
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=tmp_path / "index", embedder="hash")
    build_index(settings, HashEmbedder())
    target = {"truncate-vectors": "vectors.faiss", "delete-chunks": "chunks.jsonl",
              "garble-manifest": "manifest.json"}[damage]
    path = settings.index_dir / target
    if damage == "delete-chunks":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 3])
    done = subprocess.run([sys.executable, "-m", "assistant", "ask", "What band?", "--index", str(settings.index_dir)],
                          cwd=REPO, env=dict(os.environ, CAREERS_EMBEDDER="hash"), capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "run `careers-assistant build`" in done.stderr
