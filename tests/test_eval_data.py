"""The occupation eval set is consistent with the pages it is judged against (fast, no model).

evals/cases-occupations.yaml is scored on corpus/ (the seed pages) + evals/corpus-occupations/ + the pages
`careers-assistant import esco|onet` writes from evals/taxonomy-sample/. A must_contain phrase that no gold
page contains, or a gold id that no page has, would make a case fail for every assistant, right or wrong;
these tests catch that when the data is written, not when an eval run looks mysteriously bad.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import yaml

from assistant.corpus import load_corpus
from assistant.evaluate import load_cases
from assistant.importers import import_esco, import_onet

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "evals" / "cases-occupations.yaml"
PAGES = ROOT / "evals" / "corpus-occupations"
SAMPLE = ROOT / "evals" / "taxonomy-sample"
SEEDS = ROOT / "corpus"


def _norm(text: str) -> str:
    # must_contain is compared case-insensitively (metrics.missing_phrases); whitespace runs count as one.
    return re.sub(r"\s+", " ", text).strip().lower()


@pytest.fixture(scope="module")
def cases() -> list[dict]:
    return yaml.safe_load(CASES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> dict[str, str]:
    """Cleaned text of every page the eval corpus holds, by doc id, read by the product's own reader.
    The publisher's names head it: where sources disagree a case may require the publisher's name."""
    imported = tmp_path_factory.mktemp("taxonomy")
    import_esco(SAMPLE / "esco-1.0", imported)
    import_onet(SAMPLE / "onet-27.0", imported)
    out: dict[str, str] = {}
    for folder in (SEEDS, PAGES, imported):
        docs, skipped = load_corpus(folder)
        assert not skipped, f"{folder}: the reader skipped {skipped}"
        for doc in docs:
            assert doc.meta.doc_id not in out, f"doc id {doc.meta.doc_id} is used twice across the eval corpus"
            names = " | ".join([doc.meta.publisher, *doc.meta.publisher_aliases])
            out[doc.meta.doc_id] = _norm(names + " | " + doc.text)
    return out


def _front_matter(path: Path) -> dict:
    match = re.match(r"\A---\n(.*?)\n---\n", path.read_text(encoding="utf-8"), re.DOTALL)
    assert match, f"{path.name}: no front matter"
    return yaml.safe_load(match.group(1))


def test_cases_load_with_the_eval_schema_and_ids_are_unique(cases):
    loaded = load_cases(CASES)  # raises on a bad case or a repeated id
    assert len(loaded) == len(cases) >= 60
    splits = [c["split"] for c in cases]
    assert 0.5 <= splits.count("dev") / len(splits) <= 0.7


def test_every_gold_doc_exists_and_every_phrase_is_in_a_gold_doc(cases, texts):
    problems = []
    for case in cases:
        gold = case.get("gold_docs") or []
        problems += [f"{case['id']}: no page {d}" for d in gold if d not in texts]
        for phrase in case.get("must_contain") or []:
            if not any(_norm(phrase) in texts.get(d, "") for d in gold):
                problems.append(f"{case['id']}: {phrase!r} is in none of {gold}")
    assert not problems, "\n".join(problems)


def test_occupation_fields_name_known_occupations(cases, texts):
    known = {_front_matter(p)["occupation_id"] for p in PAGES.glob("*.txt")} | {"ot-support-worker"}
    known |= {d for d in texts if d.startswith(("esco-", "onet-"))}
    problems = []
    for case in cases:
        names = [case["occupation"]] if case.get("occupation") else []
        names += case.get("clarify_options") or []
        names += case.get("refuse_nearest") or []
        problems += [f"{case['id']}: unknown occupation {n}" for n in names if n not in known]
        if case.get("clarify"):
            if case.get("gold_docs") or case.get("must_contain") or case.get("abstain"):
                problems.append(f"{case['id']}: a clarify case expects no citations, phrases or refusal")
        if case.get("refuse_nearest") is not None and not case.get("abstain"):
            problems.append(f"{case['id']}: refuse_nearest is for refusals (abstain: true)")
    assert not problems, "\n".join(problems)


def test_gold_pages_are_about_the_asked_occupation(cases):
    """The gold lists must not leak themselves: a case's gold pages are its occupation's own pages."""
    owner = {p.stem: _front_matter(p)["occupation_id"] for p in PAGES.glob("*.txt")}
    owner |= {p.stem: "ot-support-worker" for p in SEEDS.glob("*.txt")}
    problems = []
    for case in cases:
        if not case.get("occupation"):
            continue  # an occupation named only in passing: its gold page is another occupation's
        for doc in case.get("gold_docs") or []:
            if owner.get(doc, doc) != case["occupation"]:
                problems.append(f"{case['id']}: gold page {doc} is not about {case['occupation']}")
    assert not problems, "\n".join(problems)


def test_pages_declare_their_occupation(texts):
    pages = sorted(PAGES.glob("*.txt"))
    assert len(pages) >= 6
    ids = set()
    for path in pages:
        meta = _front_matter(path)
        for key in ("id", "title", "publisher", "occupation", "occupation_id", "last_updated", "retrieved"):
            assert meta.get(key), f"{path.name}: no {key}"
        assert meta["id"] == path.stem and meta["id"] in texts
        assert isinstance(meta.get("aliases", []), list)
        ids.add(meta["occupation_id"])
    assert len(ids) >= 5


def test_taxonomy_sample_holds_exactly_the_listed_occupations():
    listed = (PAGES / "TAXONOMY-SAMPLE.md").read_text(encoding="utf-8")
    with (SAMPLE / "esco-1.0" / "occupations_en.csv").open(encoding="utf-8", newline="") as fh:
        esco = [row["conceptUri"].rsplit("/", 1)[-1] for row in csv.DictReader(fh)]
    onet = [line.split("\t", 1)[0] for line in
            (SAMPLE / "onet-27.0" / "occupation-data.txt").read_text(encoding="utf-8").splitlines()[1:]]
    assert len(esco) == len(onet) == 10
    missing = [k for k in esco + onet if k not in listed]
    assert not missing, f"in the sample but not in TAXONOMY-SAMPLE.md: {missing}"
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size < 1_000_000
