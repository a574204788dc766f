"""Cut a small ESCO + O*NET sample for the occupation evals: the same file formats, ~20 occupations.

`careers-assistant import esco|onet` reads a whole taxonomy folder and has no option to pick a subset,
so this script writes one: the rows of the chosen occupations only, with the header, columns and
encoding of the originals, so the importer reads the sample exactly as it reads the full data.

    python evals/make_taxonomy_sample.py                      # reads ../shared/data, writes evals/taxonomy-sample
    python evals/make_taxonomy_sample.py --data DIR --out DIR

Then, for the eval corpus:

    careers-assistant import esco evals/taxonomy-sample/esco-1.0 --corpus <folder>
    careers-assistant import onet evals/taxonomy-sample/onet-27.0 --corpus <folder>

Why these occupations: see evals/corpus-occupations/TAXONOMY-SAMPLE.md (each one is there for a case in
evals/cases-occupations.yaml). The lists below are the single source of truth; the test
tests/test_eval_data.py checks the sample folder holds exactly them.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

ESCO_PREFIX = "http://data.europa.eu/esco/occupation/"
# ESCO concept URIs (last path segment) -> preferred label, for the reader's benefit only.
ESCO = {
    "499f80e3-860c-48ef-8286-be929a93e254": "sommelier",
    "f3fc11ca-9a72-40da-bf0f-b2aab7e33079": "stonemason",
    "d7e663b2-f042-47d8-9fda-b5b8ba30ca04": "aerospace engineer",
    "f8ab2e08-d14e-4938-a2cd-c04821556db7": "consumer electronics repair technician",
    "66d22b81-1b5e-42a1-b904-ac67b4a896c6": "mineral processing operator",
    "60f7eb23-a7ea-4cbe-98a5-1248291f62d5": "librarian",
    "aaa485d0-6787-45c0-8596-b266c0b687fd": "locksmith",
    "fa30c1cb-dbc5-409c-8124-7284592b123c": "tree surgeon",
    "64a68a43-24be-4929-95ce-5b14617199d1": "glass-blower",
    "1a07bd7d-2e1d-4930-a84a-1a442b8f2a44": "translator",
}
# O*NET-SOC codes -> title.
ONET = {
    "19-1023.00": "Zoologists and Wildlife Biologists",
    "17-3023.00": "Electrical and Electronic Engineering Technologists and Technicians",
    "17-3029.00": "Engineering Technologists and Technicians, Except Drafters, All Other",
    "53-2011.00": "Airline Pilots, Copilots, and Flight Engineers",
    "51-3011.00": "Bakers",
    "25-4013.00": "Museum Technicians and Conservators",
    "19-2021.00": "Atmospheric and Space Scientists",
    "47-2111.00": "Electricians",
    "33-2011.00": "Firefighters",
    "27-1024.00": "Graphic Designers",
}
# The O*NET files the importer reads (all keyed by O*NET-SOC Code in the first column), plus the
# release's read-me, which carries the CC BY 4.0 licence statement.
ONET_FILES = ["occupation-data.txt", "alternate-titles.txt", "sample-of-reported-titles.txt", "task-statements.txt"]

NOTICE = """\
# Taxonomy sample for the occupation evals

Cut from the full releases by `evals/make_taxonomy_sample.py`; the file formats are the originals'.
Which occupations and why: `evals/corpus-occupations/TAXONOMY-SAMPLE.md`.

- `esco-1.0/`: ESCO v1.0 occupations, English. © European Union, https://esco.ec.europa.eu/.
  Reuse is allowed with acknowledgement of the source (European Commission reuse policy,
  Decision 2011/833/EU).
- `onet-27.0/`: O*NET 27.0 Database (August 2022) by the U.S. Department of Labor, Employment and
  Training Administration (USDOL/ETA), used under the CC BY 4.0 licence (see `onet-27.0/read-me.txt`).
  O*NET® is a trademark of USDOL/ETA.

Evaluation data only: not part of the product's corpus.
"""


def cut_esco(source: Path, target: Path) -> int:
    with source.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fieldnames = list(reader.fieldnames or [])
        rows = [r for r in reader if r["conceptUri"].removeprefix(ESCO_PREFIX) in ESCO]
    found = {r["conceptUri"].removeprefix(ESCO_PREFIX) for r in rows}
    if found != set(ESCO):
        raise SystemExit(f"{source}: concept(s) not found: {', '.join(sorted(set(ESCO) - found))}")
    target.mkdir(parents=True, exist_ok=True)
    with (target / "occupations_en.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def cut_onet(source: Path, target: Path) -> dict[str, int]:
    target.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in ONET_FILES:
        # O*NET files are tab-separated with no quoting: a line is a record, so lines are copied as they are.
        lines = (source / name).read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [lines[0]] + [line for line in lines[1:] if line.split("\t", 1)[0] in ONET]
        (target / name).write_text("".join(kept), encoding="utf-8")
        counts[name] = len(kept) - 1
    codes = {line.split("\t", 1)[0] for line in (target / "occupation-data.txt").read_text(encoding="utf-8").splitlines()[1:]}
    if codes != set(ONET):
        raise SystemExit(f"{source}: code(s) not found: {', '.join(sorted(set(ONET) - codes))}")
    shutil.copyfile(source / "read-me.txt", target / "read-me.txt")
    return counts


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=root.parent / "shared" / "data",
                        help="folder holding esco-1.0/ and onet-27.0/ (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=root / "evals" / "taxonomy-sample")
    args = parser.parse_args(argv)
    for sub in ("esco-1.0", "onet-27.0"):
        if not (args.data / sub).is_dir():
            print(f"No {sub}/ in {args.data}: give --data the folder holding the taxonomy releases", file=sys.stderr)
            return 2
    n_esco = cut_esco(args.data / "esco-1.0" / "occupations_en.csv", args.out / "esco-1.0")
    n_onet = cut_onet(args.data / "onet-27.0", args.out / "onet-27.0")
    (args.out / "README.md").write_text(NOTICE, encoding="utf-8")
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"ESCO: {n_esco} occupations; O*NET: {n_onet}; {size:,} bytes in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
