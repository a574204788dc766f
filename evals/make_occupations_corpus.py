"""Assemble the corpus the occupation eval set (evals/cases-occupations.yaml) runs on, in a folder:

    the five seed pages (corpus/) + the test pages (evals/corpus-occupations/*.txt)
    + the ESCO and O*NET sample (evals/taxonomy-sample/) imported with the product's own importers.

    python evals/make_occupations_corpus.py OUT_DIR
    careers-assistant build --corpus OUT_DIR --index OUT_INDEX
    careers-assistant eval --cases evals/cases-occupations.yaml --corpus OUT_DIR --index OUT_INDEX

.ci/run does exactly this; nothing here is part of the product's corpus/.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from assistant.importers import import_esco, import_onet

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def assemble(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    pages = sorted((REPO / "corpus").iterdir()) + sorted((HERE / "corpus-occupations").glob("*.txt"))
    for page in pages:
        if page.is_file():
            shutil.copy2(page, out / page.name)
    sample = HERE / "taxonomy-sample"
    written = import_esco(sample / "esco-1.0", out).written + import_onet(sample / "onet-27.0", out).written
    return len(pages) + written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python evals/make_occupations_corpus.py OUT_DIR")
    print(f"{assemble(Path(sys.argv[1]))} pages in {sys.argv[1]}")
