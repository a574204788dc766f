"""The numpy MiniLM (fastencode.py) gives the same vectors and token counts as sentence-transformers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact" / "corpus.jsonl"

TEXTS = [
    "What band do OT support workers start on?",
    "and the pay?",
    "How much does a paramedic earn?",
    "occupational therapy support worker hours, weekends & bank holidays",
    "Salary: £15,250 to £22,500 average per year",
    "Café résumé naïve — “quoted” text, 你好",
    "x",
    "",
    "word " * 600,  # longer than the 256-token window: truncated the same way
]


def test_erf_matches_math() -> None:
    import math

    from assistant.fastencode import _erf

    xs = np.linspace(-6, 6, 2001)
    assert np.max(np.abs(_erf(xs) - np.array([math.erf(x) for x in xs]))) < 2e-7


@pytest.mark.slow
def test_same_vectors_as_sentence_transformers() -> None:
    from assistant.embedding import MiniLMEmbedder
    from assistant.fastencode import NumpyMiniLM

    texts = list(TEXTS)
    if SCIFACT.exists():  # many real passages of every length
        with SCIFACT.open(encoding="utf-8") as fh:
            for _, line in zip(range(60), fh):
                d = json.loads(line)
                texts += [d["title"], f"{d['title']} {d['text']}"]
    fast, reference = NumpyMiniLM(), MiniLMEmbedder()
    a, b = fast.encode(texts, batch_size=16), reference.encode(texts)
    assert a.shape == b.shape == (len(texts), 384)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() >= 0.9999, (cosines.min(), texts[int(cosines.argmin())][:80])
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    # One at a time (as a question is asked) gives the same as in a batch.
    assert np.allclose(fast.encode([texts[0]])[0], a[0], atol=1e-5)
    assert [fast.count_tokens(t) for t in texts[:20]] == [reference.count_tokens(t) for t in texts[:20]]


@pytest.mark.slow
def test_query_encoder_does_not_import_torch(tmp_path: Path) -> None:
    import subprocess

    code = ("import sys; from assistant.embedding import make_embedder; "
            "e = make_embedder('minilm', query_encoder='numpy'); e.encode(['hello']); "
            "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.split() == ["False", "False"]


def test_memory_mapped_safetensors_match_the_reference_reader(tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    from assistant.fastencode import load_safetensors

    rng = np.random.default_rng(7)
    tensors = {"a.weight": rng.standard_normal((3, 5)).astype(np.float32), "b.bias": np.arange(4, dtype=np.int64),
               "c": rng.standard_normal((2, 2, 2)).astype(np.float16)}
    save_file(tensors, str(tmp_path / "m.safetensors"), metadata={"format": "np"})
    mapped, reference = load_safetensors(tmp_path / "m.safetensors"), load_file(str(tmp_path / "m.safetensors"))
    assert sorted(mapped) == sorted(reference)
    for name in reference:
        assert mapped[name].dtype == reference[name].dtype and np.array_equal(mapped[name], reference[name])
