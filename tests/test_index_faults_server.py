"""The real server while its index files are damaged in place: sentence_vectors.npy truncated (it is
memory-mapped here, as for a large index), then random bytes in vectors.faiss with a changed manifest.
The server never dies, answers exactly as before, and logs an ERROR for each. Hash embedder: ~15 s."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest
from conftest import stop_server

from assistant.embedding import HashEmbedder
from assistant.index import build_index, read_manifest
from assistant.settings import Settings

from test_durable_server import free_port, wait_for
from test_integrity import scribble

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
QUESTIONS = ["What skills do OT support workers need?", "What band do OT support workers start on?"]


def ask(base: str, question: str) -> dict:
    req = urllib.request.Request(f"{base}/api/ask", data=json.dumps({"question": question}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def test_damaged_index_files_never_kill_the_server_and_change_no_answer():
    root = Path(tempfile.mkdtemp(prefix="careers-index-faults-"))
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=root / "index", embedder="hash")
    build_index(settings, HashEmbedder())
    (root / ".chainlit").mkdir()
    shutil.copy(REPO / ".chainlit" / "config.toml", root / ".chainlit" / "config.toml")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREERS_")}
    env.update(CAREERS_INDEX_DIR=str(settings.index_dir), CAREERS_CORPUS_DIR=str(settings.corpus_dir),
               CAREERS_EMBEDDER="hash", CAREERS_DATABASE_URL=f"sqlite+aiosqlite:///{root}/data/assistant.db",
               CAREERS_RATE_PER_MINUTE="0", CAREERS_RELOAD_SECONDS="0.2",
               CAREERS_SENTENCE_VECTORS_IN_MEMORY_MAX_MB="0",  # memory-mapped, with the guard
               PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]))
    log_path = root / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)

    def healthy() -> bool:
        assert proc.poll() is None, f"the server died ({proc.returncode}):\n{log_path.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, 60, "/health")
        before = {q: ask(base, q) for q in QUESTIONS}
        assert all(a["citations"] for a in before.values())

        vectors = settings.index_dir / "sentence_vectors.npy"
        original = vectors.read_bytes()
        with vectors.open("r+b") as fh:
            fh.truncate(128)  # past the .npy header: every mapped row is gone (SIGBUS without the guard)
        assert {q: ask(base, q) for q in QUESTIONS} == before
        assert healthy()

        vectors.write_bytes(original)  # put back: what the reload below must refuse is the FAISS file alone
        scribble(settings.index_dir / "vectors.faiss")
        manifest = read_manifest(settings.index_dir)
        (settings.index_dir / "manifest.json").write_text(
            manifest.model_copy(update={"build_seconds": manifest.build_seconds + 1}).model_dump_json())
        wait_for(lambda: "cannot be served" in log_path.read_text(), 20, "the reload to be refused")
        assert {q: ask(base, q) for q in QUESTIONS} == before
        assert healthy()

        server_log = log_path.read_text()
        errors = [line for line in server_log.splitlines() if " ERROR " in line]
        assert any("sentence_vectors.npy changed on disk while being served" in line for line in errors)
        assert any("vectors.faiss does not match its checksum" in line for line in errors)
    finally:
        stop_server(proc)
        log.close()
        shutil.rmtree(root, ignore_errors=True)
