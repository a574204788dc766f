"""Import occupation taxonomies (ESCO, O*NET) as corpus files: one page per occupation.

Each occupation becomes one markdown file in the corpus folder with the usual front-matter header, so
it goes through the same path as any page (corpus.py cleaning, chunking, embedding, BM25):

    ---
    id: onet-15-1252-00
    title: <the O*NET title>
    publisher: O*NET 27.0 Database (U.S. Department of Labor, Employment and Training Administration)
    url: https://www.onetonline.org/link/summary/15-1252.00
    licence: CC BY 4.0 ...           # and the attribution the licence asks for
    date_note: O*NET 27.0, August 2022 release
    passages: records                # every task and title is a passage of its own
    ---
    <description>

    Tasks
    • ...
    Alternate titles
    • ...

`fields` chooses what is written: "description" (always), "tasks", "titles" (ESCO alternative labels;
O*NET alternate and reported titles). The occupation-resolution benchmark imports descriptions only.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from .errors import CorpusError
from .generated import make_generated_folder

ALL_FIELDS = frozenset({"description", "tasks", "titles"})

ESCO_PUBLISHER = "ESCO (European Commission)"
ESCO_LICENCE = ("ESCO v1.0, © European Union; reuse is allowed with acknowledgement of the source "
                "(European Commission reuse policy, Decision 2011/833/EU)")
ONET_PUBLISHER = "O*NET 27.0 Database (U.S. Department of Labor, Employment and Training Administration)"
ONET_LICENCE = ("CC BY 4.0. This page includes information from the O*NET 27.0 Database by the U.S. "
                "Department of Labor, Employment and Training Administration (USDOL/ETA). Used under the "
                "CC BY 4.0 license. O*NET® is a trademark of USDOL/ETA.")
ONET_RELEASE = "O*NET 27.0, August 2022 release"


@dataclass
class ImportReport:
    source: str
    written: int = 0
    passages: dict[str, int] = field(default_factory=dict)  # records written per kind
    skipped: list[str] = field(default_factory=list)  # why a record was not written
    files: list[Path] = field(default_factory=list)


def label_variants(label: str) -> list[str]:
    """"waiter/waitress" -> ["waiter", "waitress"]; "head of sales/marketing" stays one name (only
    single words either side of the slash are alternatives)."""
    m = re.fullmatch(r"(.*?)(\b[^\W\d_]+)/([^\W\d_]+)\b(.*)", label)
    if not m:
        return [label]
    head, left, right, tail = m.groups()
    return [f"{head}{left}{tail}".strip(), f"{head}{right}{tail}".strip()]


def _singular_title(title: str) -> str:
    """O*NET titles are plural ("<Title>s"); an occupation's display name is singular. Only
    simple titles are changed; a list ("As, Bs, and Other Cs")
    stays as it is."""
    if re.search(r",|\band\b|\bor\b|/", title):
        return title
    from .occupations.names import singular

    head, _, last = title.rpartition(" ")
    one = singular(last) if not last.lower().endswith("men") else last[:-3] + "man"
    if one.lower() == last.lower():
        return title
    last = last[: len(one)] if last.lower().startswith(one) else one
    return f"{head} {last}".strip()


def _display(title: str) -> str:
    """Lower case except acronyms, as the registry shows names inside sentences."""
    return " ".join(w if sum(c.isupper() for c in w) > 1 else w.lower() for w in title.split())


def _names(groups: dict[str, Iterable[str]], exclude: str) -> dict[str, list[str]]:
    """Front matter `aliases:` by where each name came from, each name once across the groups."""
    seen = {exclude.lower()}
    out: dict[str, list[str]] = {}
    for source, names in groups.items():
        for raw in names:
            for name in label_variants(_clean_item(raw)):
                if name and name.lower() not in seen:
                    seen.add(name.lower())
                    out.setdefault(source, []).append(name)
    return out


def _clean_item(text: str) -> str:
    """One line of plain text: no line breaks, no leading list marker a reader would take for markup."""
    return re.sub(r"\s+", " ", text).strip().lstrip("-•*").strip()


def _page(meta: dict, description: str, sections: list[tuple[str, list[str]]]) -> str:
    header = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=100_000)
    parts = [description.strip()]
    for heading, items in sections:
        items = [i for i in (_clean_item(x) for x in items) if i]
        if items:
            parts.append(heading + "\n" + "\n".join(f"• {i}" for i in items))
    return f"---\n{header}---\n" + "\n\n".join(parts) + "\n"


def _unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = _clean_item(item).lower()
        if key and key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _check_fields(fields: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(fields) | {"description"}
    unknown = chosen - ALL_FIELDS
    if unknown:
        raise CorpusError(f"Unknown field(s) {', '.join(sorted(unknown))}: choose from {', '.join(sorted(ALL_FIELDS))}")
    return chosen


def _write(corpus_dir: Path, name: str, text: str, report: ImportReport) -> None:
    path = corpus_dir / name
    path.write_text(text, encoding="utf-8")
    report.files.append(path)
    report.written += 1


def _count(report: ImportReport, kind: str, n: int) -> None:
    report.passages[kind] = report.passages.get(kind, 0) + n


def esco_file(path: Path) -> Path:
    if path.is_dir():
        path = path / "occupations_en.csv"
    if not path.is_file():
        raise CorpusError(f"No ESCO occupations file at {path}: give occupations_en.csv or the folder holding it")
    return path


def import_esco(path: Path, corpus_dir: Path, fields: Iterable[str] = ALL_FIELDS) -> ImportReport:
    """ESCO occupations_en.csv (preferredLabel, altLabels newline-separated, description, conceptUri)."""
    chosen = _check_fields(fields)
    source = esco_file(path)
    make_generated_folder(corpus_dir)
    report = ImportReport(source=str(source))
    with source.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        needed = {"conceptUri", "preferredLabel", "altLabels", "description"}
        if not needed <= set(reader.fieldnames or []):
            raise CorpusError(f"{source}: not an ESCO occupations file (needs columns {', '.join(sorted(needed))})")
        for line, row in enumerate(reader, start=2):
            uri, label = row["conceptUri"].strip(), _clean_item(row["preferredLabel"])
            description = (row["description"] or "").strip()
            if not uri or not label or not description:
                report.skipped.append(f"row {line}: no {'concept URI' if not uri else 'label' if not label else 'description'}")
                continue
            key = uri.rstrip("/").rsplit("/", 1)[-1]
            # Every name ESCO gives goes into the front matter, whatever `fields` puts in the text: the
            # registry learns the occupation's names from there.
            names = _names({"ESCO preferred label": label_variants(label)[1:],
                            "ESCO alternative label": (row["altLabels"] or "").split("\n"),
                            "ESCO hidden label": (row.get("hiddenLabels") or "").split("\n")},
                           exclude=label_variants(label)[0])
            meta = {"id": f"esco-{key}", "title": label, "publisher": ESCO_PUBLISHER, "url": uri,
                    "licence": ESCO_LICENCE, "passages": "records", "occupation": label_variants(label)[0],
                    "occupation_id": f"esco-{key}", "aliases": names}
            modified = (row.get("modifiedDate") or "")[:10]
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", modified):
                meta["last_updated"] = date.fromisoformat(modified)
            sections = []
            if "titles" in chosen:
                alts = _unique(a for a in (row["altLabels"] or "").split("\n") if _clean_item(a).lower() != label.lower())
                sections.append(("Alternative labels", alts))
                _count(report, "alternative labels", len(alts))
            _count(report, "descriptions", 1)
            _write(corpus_dir, f"esco-{key}.md", _page(meta, description, sections), report)
    return report


def _read_tsv(path: Path, needed: set[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise CorpusError(f"No {path.name} in {path.parent}: give the O*NET text-database folder")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        if not needed <= set(reader.fieldnames or []):
            raise CorpusError(f"{path}: missing column(s) {', '.join(sorted(needed - set(reader.fieldnames or [])))}")
        return list(reader)


def import_onet(folder: Path, corpus_dir: Path, fields: Iterable[str] = ALL_FIELDS) -> ImportReport:
    """O*NET text database: occupation-data.txt (title, description), task-statements.txt,
    alternate-titles.txt and sample-of-reported-titles.txt (tab-separated, keyed by O*NET-SOC Code)."""
    chosen = _check_fields(fields)
    if not folder.is_dir():
        raise CorpusError(f"No O*NET folder at {folder}: give the folder holding occupation-data.txt")
    code = "O*NET-SOC Code"
    occupations = _read_tsv(folder / "occupation-data.txt", {code, "Title", "Description"})
    tasks: dict[str, list[str]] = {}
    alternates: dict[str, list[str]] = {}
    reported: dict[str, list[str]] = {}
    if "tasks" in chosen:
        for row in _read_tsv(folder / "task-statements.txt", {code, "Task"}):
            tasks.setdefault(row[code], []).append(row["Task"])
    short: dict[str, list[str]] = {}
    # Titles are read whatever `fields` says: the front matter carries every name the taxonomy gives.
    for row in _read_tsv(folder / "alternate-titles.txt", {code, "Alternate Title"}):
        alternates.setdefault(row[code], []).append(row["Alternate Title"])
        if (row.get("Short Title") or "n/a") != "n/a":
            short.setdefault(row[code], []).append(row["Short Title"])
    for row in _read_tsv(folder / "sample-of-reported-titles.txt", {code, "Reported Job Title"}):
        reported.setdefault(row[code], []).append(row["Reported Job Title"])
    make_generated_folder(corpus_dir)
    report = ImportReport(source=str(folder))
    for line, row in enumerate(occupations, start=2):
        soc, title, description = row[code].strip(), _clean_item(row["Title"]), (row["Description"] or "").strip()
        if not soc or not title or not description:
            report.skipped.append(f"occupation-data.txt line {line}: no {'code' if not soc else 'title' if not title else 'description'}")
            continue
        key = soc.replace(".", "-")
        display = _display(_singular_title(title))
        names = _names({"O*NET title": [title],
                        "O*NET alternate title": alternates.get(soc, []) + short.get(soc, []),
                        "O*NET reported title": reported.get(soc, [])}, exclude=display)
        meta = {"id": f"onet-{key}", "title": title, "publisher": ONET_PUBLISHER,
                "url": f"https://www.onetonline.org/link/summary/{soc}", "licence": ONET_LICENCE,
                "date_note": ONET_RELEASE, "passages": "records", "occupation": display,
                "occupation_id": f"onet-{key}", "aliases": names}
        sections = []
        if "tasks" in chosen:
            items = _unique(tasks.get(soc, []))
            sections.append(("Tasks", items))
            _count(report, "tasks", len(items))
        if "titles" in chosen:
            alt = _unique(a for a in alternates.get(soc, []) if _clean_item(a).lower() != title.lower())
            seen = {_clean_item(a).lower() for a in alt} | {title.lower()}
            rep = _unique(r for r in reported.get(soc, []) if _clean_item(r).lower() not in seen)
            sections += [("Alternate titles", alt), ("Reported job titles", rep)]
            _count(report, "alternate titles", len(alt))
            _count(report, "reported titles", len(rep))
        _count(report, "descriptions", 1)
        _write(corpus_dir, f"onet-{key}.md", _page(meta, description, sections), report)
    return report


IMPORTERS = {"esco": import_esco, "onet": import_onet}
