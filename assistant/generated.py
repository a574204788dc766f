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
