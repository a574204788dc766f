"""Shared fixtures: a tiny four-document corpus, settings that use the hash embedder, a built index.

Everything here is fast and exact: no real model, no network. Each test gets its own tmp folders.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.embedding import HashEmbedder
from assistant.settings import Settings

# CI checks the repository out with shared/ beside it, as on a developer machine.
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

# Four documents, one per kind of file the corpus accepts; sorted by file name they are a, b, c, d,
# which is the order load_corpus reads them and the order their chunks get rows.
TINY_CORPUS: dict[str, str] = {
    "a-pay.md": (
        "---\n"
        "id: pay-page\n"
        "title: Support worker pay\n"
        "publisher: Test Careers\n"
        "url: https://example.org/pay\n"
        "last_updated: 2020-01-15\n"
        "retrieved: 2024-05-01\n"
        "---\n"
        "Pay\n"
        "\n"
        "Support workers start on band 3. The starting salary is £20,000 a year.\n"
    ),
    "b-hours.txt": (
        "---\n"
        "id: hours-page\n"
        "title: Working hours\n"
        "publisher: Test Careers\n"
        "---\n"
        "Hours\n"
        "\n"
        "Most support workers work 37.5 hours a week. Some work night shifts.\n"
        "\n"
        "Weekends\n"
        "\n"
        "You may work weekends and bank holidays.\n"
    ),
    "c-entry.md": (
        "---\n"
        "id: entry-page\n"
        "title: Entry requirements\n"
        "publisher: Other Publisher\n"
        "---\n"
        "There are no set entry requirements. Employers may ask for GCSEs in English and maths.\n"
        "\n"
        "Last updated: 10 September 2018\n"
    ),
    "d-skills.html": (
        "---\n"
        "id: skills-page\n"
        "publisher: Web Publisher\n"
        "---\n"
        "<html><head><title>Skills and qualities</title><script>var x = 1;</script></head>\n"
        "<body><h2>Skills and qualities</h2><p>You need patience and good communication.</p>\n"
        "<ul><li>Teamwork</li><li>Tact and sensitivity</li></ul></body></html>\n"
    ),
}


def write_corpus(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            (folder / name).write_text(content, encoding="utf-8")
    return folder


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus", TINY_CORPUS)


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    return Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index", embedder="hash")


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def built(settings: Settings, hash_embedder: HashEmbedder):
    """The tiny corpus built into tmp_path/index with the hash embedder; returns the manifest."""
    from assistant.index import build_index

    return build_index(settings, hash_embedder)


@pytest.fixture(scope="module")
def hash_assistant(tmp_path_factory: pytest.TempPathFactory):
    """The real five-page corpus behind the hash embedder: a small real Assistant, built once per module."""
    from assistant.index import build_index
    from assistant.pipeline import Assistant

    repo = Path(__file__).resolve().parents[1]
    settings = Settings(corpus_dir=repo / "corpus", index_dir=tmp_path_factory.mktemp("idx") / "index",
                        embedder="hash")
    embedder = HashEmbedder()
    build_index(settings, embedder)
    return Assistant(settings, embedder=embedder)


@pytest.fixture(scope="session")
def seed_registry():
    """The occupation registry the five seed pages declare (front matter only: no model, no index)."""
    from assistant.chunking import sentences_of
    from assistant.corpus import load_corpus
    from assistant.index import enrich
    from assistant.occupations.registry import Registry, build_registry

    documents, _ = load_corpus(Path(__file__).resolve().parents[1] / "corpus")
    sentences = [s for d in documents for s in sentences_of(d)]
    return Registry(enrich(build_registry(documents), documents, sentences))


def stop_server(proc) -> None:
    """Stop a server a test started with subprocess.Popen, by its PID: politely, then for sure."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load_test_module():
    """benchmarks/load_test.py as a module (it is a script, not part of the package); loaded once."""
    import importlib.util
    import sys

    if "load_test" in sys.modules:
        return sys.modules["load_test"]
    spec = importlib.util.spec_from_file_location("load_test", Path(__file__).resolve().parents[1] / "benchmarks"
                                                  / "load_test.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["load_test"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def loopback_only(page, base: str, blocked: list[str] | None = None) -> list[str]:
    """Let `page` reach only the server at `base` (its http and websocket URLs); every other request is
    aborted and its URL appended to the returned list, for the test to assert on."""
    blocked = [] if blocked is None else blocked
    allowed = (base + "/", base.replace("http", "ws", 1) + "/")

    def route(r):
        if r.request.url.startswith(allowed):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return blocked
