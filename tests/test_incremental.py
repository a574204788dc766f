"""Incremental builds (vectorcache.py): only changed texts are encoded, and the result equals a full build."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_CORPUS

from assistant.embedding import HashEmbedder
from assistant.index import build_index, load_index
from assistant.models import Manifest
from assistant.settings import Settings

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = ["What is the starting salary?", "How many hours a week do support workers work?",
             "Do I need GCSEs?", "What skills do I need?", "Do support workers work weekends?"]
NEW_PAGE = ("---\nid: training-page\ntitle: Training\npublisher: Test Careers\n---\nTraining\n\n"
            "You will get on-the-job training from an occupational therapist.\n")
EDITED_HOURS = TINY_CORPUS["b-hours.txt"].replace("37.5 hours", "40 hours").replace("night shifts", "late shifts")


class CountingEmbedder(HashEmbedder):
    """The hash fake, remembering every text it was asked to encode."""

    def __init__(self, name: str = HashEmbedder.name) -> None:
        self.name = name
        self.texts: list[str] = []

    def encode(self, texts, *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        self.texts.extend(texts)
        return super().encode(texts, batch_size=batch_size, progress=progress)


def _change(corpus: Path) -> None:
    """Add one page, edit one, delete one."""
    (corpus / "e-training.md").write_text(NEW_PAGE, encoding="utf-8")
    (corpus / "b-hours.txt").write_text(EDITED_HOURS, encoding="utf-8")
    (corpus / "c-entry.md").unlink()


def _all_texts(settings: Settings) -> list[str]:
    index = load_index(settings, HashEmbedder.name)
    docs = index.documents
    return ([c.embed_text for c in index.chunks] + [docs[s.doc_id].text[s.start:s.end] for s in index.sentences]
            + [n.name for o in index.registry.occupations for n in o.names])


def _same_index(a: Path, b: Path) -> None:
    import faiss

    for name in ("chunks.jsonl", "sentences.jsonl", "occupations.jsonl", "documents.jsonl"):
        assert (a / name).read_text(encoding="utf-8") == (b / name).read_text(encoding="utf-8"), name
    va, vb = faiss.read_index(str(a / "vectors.faiss")), faiss.read_index(str(b / "vectors.faiss"))
    assert va.ntotal == vb.ntotal
    assert np.allclose(va.reconstruct_n(0, va.ntotal), vb.reconstruct_n(0, vb.ntotal), atol=1e-6)
    for name in ("sentence_vectors.npy", "occupation_vectors.npy"):
        x, y = np.load(a / name), np.load(b / name)
        assert x.shape == y.shape and np.allclose(x, y, atol=1e-6), name


def _answers(settings: Settings, questions: list[str], embedder) -> list[tuple]:
    from assistant.pipeline import Assistant

    assistant = Assistant(settings, embedder=embedder)
    out = []
    for q in questions:
        a = assistant.ask(q)
        out.append((a.answer, a.outcome, [c.model_dump() for c in a.citations], round(a.confidence, 4)))
    return out


def test_incremental_build_equals_a_full_build(tmp_path: Path, settings: Settings, built: Manifest) -> None:
    _change(settings.corpus_dir)
    embedder = CountingEmbedder()
    manifest = build_index(settings, embedder)
    assert manifest.texts_reused > 0 and manifest.texts_encoded > 0
    full = settings.model_copy(update={"index_dir": tmp_path / "full" / "index"})
    full_manifest = build_index(full, HashEmbedder())
    assert full_manifest.texts_reused == 0
    _same_index(settings.index_dir, full.index_dir)
    assert _answers(settings, QUESTIONS, HashEmbedder()) == _answers(full, QUESTIONS, HashEmbedder())
    load_index(settings, HashEmbedder.name)  # checksums and counts agree


def test_only_the_changed_pages_texts_are_encoded(settings: Settings, built: Manifest) -> None:
    before = set(_all_texts(settings))
    _change(settings.corpus_dir)
    embedder = CountingEmbedder()
    manifest = build_index(settings, embedder)
    after = set(_all_texts(settings))
    assert set(embedder.texts) == after - before  # nothing the old index had is encoded again
    assert len(embedder.texts) == len(set(embedder.texts)) == manifest.texts_encoded
    index = load_index(settings, HashEmbedder.name)
    changed = {"hours-page", "training-page"}
    page_texts = ({c.embed_text for c in index.chunks if c.doc_id in changed}
                  | {index.documents[s.doc_id].text[s.start:s.end] for s in index.sentences if s.doc_id in changed}
                  | {n.name for o in index.registry.occupations for n in o.names})
    assert set(embedder.texts) <= page_texts
    # A build with nothing changed encodes nothing.
    again = CountingEmbedder()
    assert build_index(settings, again).texts_encoded == 0 and again.texts == []


@pytest.mark.parametrize("change", ["model", "chunk size"])
def test_a_changed_model_or_chunking_reuses_nothing(settings: Settings, built: Manifest, change: str) -> None:
    if change == "model":
        embedder, s = CountingEmbedder(name="hash-384-other"), settings
    else:
        embedder, s = CountingEmbedder(), settings.model_copy(update={"max_chunk_tokens": 100})
    manifest = build_index(s, embedder)
    assert manifest.texts_reused == 0
    assert manifest.texts_encoded == len(set(embedder.texts)) > 0


def test_full_reuses_nothing(settings: Settings, built: Manifest) -> None:
    embedder = CountingEmbedder()
    manifest = build_index(settings, embedder, full=True)
    assert manifest.texts_reused == 0 and manifest.texts_encoded == built.texts_encoded > 0
    assert manifest.texts_encoded == len(set(embedder.texts))


def test_cli_full_flag_and_summary(settings: Settings, built: Manifest, monkeypatch, capsys) -> None:
    from assistant.cli import main

    monkeypatch.setenv("CAREERS_EMBEDDER", "hash")
    args = ["build", "--quiet", "--corpus", str(settings.corpus_dir), "--index", str(settings.index_dir)]
    assert main(args) == 0
    reused = Manifest.model_validate_json((settings.index_dir / "manifest.json").read_text()).texts_reused
    assert reused >= built.texts_encoded > 0
    assert f"(encoded 0, reused {reused:,})" in capsys.readouterr().out
    assert main([*args, "--full"]) == 0
    assert f"(encoded {built.texts_encoded:,}, reused 0)" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["truncate", "garbage", "delete", "manifest"])
def test_a_damaged_previous_index_means_a_full_encode(settings: Settings, built: Manifest, damage: str) -> None:
    folder = settings.index_dir
    target = folder / ("manifest.json" if damage == "manifest" else "sentence_vectors.npy")
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "delete":
        target.unlink()
    else:
        target.write_bytes(b"not what it was")
    manifest = build_index(settings, CountingEmbedder())
    assert manifest.texts_reused == 0 and manifest.texts_encoded == built.texts_encoded
    load_index(settings, HashEmbedder.name)


# --- the real model on the seed corpus -------------------------------------------------------------


@pytest.mark.slow
def test_real_model_incremental_after_one_added_page_answers_like_a_full_build(tmp_path: Path) -> None:
    from assistant.embedding import MiniLMEmbedder
    from assistant.evaluate import load_cases, run_case
    from assistant.pipeline import Assistant

    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    added = corpus / "bbc-bitesize-ot-technical-instructor.txt"
    held = added.read_bytes()
    added.unlink()
    embedder = MiniLMEmbedder()
    inc = Settings(corpus_dir=corpus, index_dir=tmp_path / "inc" / "index", embedder="minilm")
    build_index(inc, embedder)
    added.write_bytes(held)
    manifest = build_index(inc, embedder)
    assert manifest.texts_reused > 0 and 0 < manifest.texts_encoded < manifest.texts_reused
    full = inc.model_copy(update={"index_dir": tmp_path / "full" / "index"})
    build_index(full, embedder)
    cases = load_cases(REPO / "evals" / "cases.yaml")
    a, b = Assistant(inc, embedder=embedder), Assistant(full, embedder=embedder)
    for case in cases:
        x, y = run_case(a, case), run_case(b, case)
        assert (x.answer, x.abstained, x.cited_docs, x.ranked_docs) == (y.answer, y.abstained, y.cited_docs,
                                                                        y.ranked_docs), case.id
        assert x.confidence == pytest.approx(y.confidence, abs=1e-4), case.id
