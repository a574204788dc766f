"""Folders the product writes (imported corpora, indexes): kept out of version control wherever they are."""

from __future__ import annotations

from pathlib import Path

GITIGNORE = "# Written by careers-assistant: generated files, kept out of version control.\n*\n"


def make_generated_folder(folder: Path) -> None:
    """Make `folder` for generated pages; a folder made here ignores itself in git (a .gitignore of `*`),
    so an import inside a checkout is never committed by accident. An existing folder is left as it is:
    importing into a curated corpus must not hide its pages from git."""
    if folder.exists():
        return
    folder.mkdir(parents=True)
    (folder / ".gitignore").write_text(GITIGNORE, encoding="utf-8")


def index_for(corpus_dir: Path, index_dir: Path, index_given: bool) -> Path:
    """Where the import's hint builds: the index folder given (flag or environment), else an index named
    after the corpus beside it (careers-corpus -> careers-index), so following the hint never replaces
    the default index of the default corpus."""
    if index_given or Path(corpus_dir) == Path("corpus"):
        return index_dir
    name = Path(corpus_dir).name
    return Path(corpus_dir).with_name(name.replace("corpus", "index") if "corpus" in name else f"{name}-index")
