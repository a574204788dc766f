"""The occupation registry: names, learning occupations from pages, resolution, filtered dense search.

Small exact cases, no model: the dense match gets hand-made unit vectors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.corpus import parse
from assistant.models import Occupation, OccupationName
from assistant.occupations.names import display_name, name_key, names_in_text, plural_of, singular
from assistant.occupations.registry import Registry, build_registry
from assistant.occupations.resolve import occupation_phrase, resolve
from assistant.text import STOPWORDS, common_words


def page(name: str, header: str, body: str):
    return parse(f"---\nid: {name}\npublisher: P\n{header}---\n{body}\n", Path(f"{name}.md"))


@pytest.mark.parametrize(("word", "one"), [("workers", "worker"), ("nurses'", "nurse"), ("OTs", "ot"),
                                           ("secretaries", "secretary"), ("boss", "boss"), ("nurse's", "nurse"),
                                           ("analysis", "analysis"), ("coaches", "coach")])
def test_singular(word: str, one: str) -> None:
    assert singular(word) == one


def test_name_keys_meet_across_spellings() -> None:
    assert {name_key("health-care assistants'"), name_key("Healthcare assistant"),
            name_key("health care assistants")} == {"healthcareassistant"}
    assert (plural_of("paramedic"), plural_of("secretary"), plural_of("fireman"), plural_of("coach")) == (
        "paramedics", "secretaries", "firemen", "coaches")


@pytest.mark.parametrize(("title", "name"), [
    ("Become an occupational therapy support worker", "occupational therapy support worker"),
    ("What Is an Occupational Therapy Support Worker?", "occupational therapy support worker"),
    ("Amy: occupational therapy technical instructor (world of work)", "occupational therapy technical instructor"),
    ("Paramedic (job profile)", "paramedic"), ("OT support worker", "OT support worker")])
def test_display_name_from_a_title(title: str, name: str) -> None:
    assert display_name(title) == name


def test_names_a_page_gives() -> None:
    assert names_in_text("Roles are sometimes referred to by different titles, including OT support worker, "
                         "OT assistant or rehabilitation assistant.") == [
        "OT support worker", "OT assistant", "rehabilitation assistant"]
    assert names_in_text("A medic, sometimes called a field medic or combat medic, works under fire.") == [
        "field medic", "combat medic"]  # the list ends with its "or" item, not at "works"


def test_pages_declare_derive_and_merge_occupations() -> None:
    docs = [
        page("a", "occupation: paramedic\naliases: [ambulance paramedic]\n", "Paramedic\n\nPay is £30,000 a year."),
        page("b", "title: Paramedic\n", "Paramedics work 37.5 hours a week."),  # same name: same occupation
        page("c", "title: Dental nurse\n", "Dental nurses are also known as dental surgery assistants."),
        page("d", "title: Working hours\n", "Most dental nurses work 37.5 hours a week."),  # a topic, not a name
        page("e", "occupation: healthcare assistant\nmentions: [{occupation: emergency care assistant}]\n",
             "HCAs help nurses. Emergency care assistants crew ambulances."),
    ]
    occs = {o.id: o for o in build_registry(docs)}
    assert set(occs) == {"paramedic", "dental-nurse", "healthcare-assistant", "emergency-care-assistant"}
    assert occs["paramedic"].pages == ["a", "b"]
    assert [(n.name, n.source) for n in occs["paramedic"].names] == [("paramedic", "occupation"),
                                                                     ("ambulance paramedic", "aliases")]
    assert occs["dental-nurse"].pages == ["c", "d"]
    assert ("dental surgery assistants", "also known as line") in [(n.name, n.source) for n in occs["dental-nurse"].names]
    assert occs["emergency-care-assistant"].pages == [] and occs["emergency-care-assistant"].mentioned_in == ["e"]


def test_a_mention_of_a_described_occupation_is_that_occupation() -> None:
    docs = [page("a", "occupation: healthcare assistant\naliases: [healthcare support worker, HCA]\n", "Text."),
            page("b", "occupation: OT support worker\nmentions: [{occupation: healthcare support worker, aliases: [HCA]}]\n",
                 "Text about healthcare support workers.")]
    occs = {o.id: o for o in build_registry(docs)}
    assert set(occs) == {"healthcare-assistant", "ot-support-worker"}
    assert occs["healthcare-assistant"].mentioned_in == ["b"]


def registry() -> Registry:
    def occ(id_: str, *names: str, pages: bool = True) -> Occupation:
        return Occupation(id=id_, name=names[0], plural=plural_of(names[0]), pages=[id_] if pages else [],
                          names=[OccupationName(name=n, source="aliases") for n in names])
    return Registry([occ("dental-nurse", "dental nurse"), occ("adult-nurse", "adult nurse", "staff nurse"),
                     occ("nurse", "nurse", pages=False), occ("ota", "OT support worker", "support worker"),
                     occ("hca", "healthcare assistant", "healthcare support worker", "HCA"),
                     occ("paramedic", "paramedic")])


def ordinary(word: str) -> bool:
    return word in STOPWORDS or word in common_words()


@pytest.mark.parametrize(("question", "kind", "answer"), [
    ("How much do paramedics earn?", "named", "paramedic"),
    ("What do HCAs get paid?", "named", "hca"),
    ("what does a health-care assistant do", "named", "hca"),
    ("How much do support workers earn?", "clarify", ["ota", "hca"]),  # an alias of one, the end of another's
    ("How much do nurses earn?", "clarify", ["nurse", "adult-nurse", "dental-nurse"]),  # only mentioned + covered
    ("What band do staff nurses start on?", "named", "adult-nurse"),
    ("How much does an astronaut earn?", "uncovered", None),
    ("What band do they start on?", "none", None),
])
def test_resolve_by_name(question: str, kind: str, answer) -> None:
    res = resolve(question, registry(), ordinary=ordinary)
    assert res.kind == kind
    if kind == "named":
        assert res.occupation == answer
    if kind == "clarify":
        assert res.candidates == answer


def test_resolve_densely_when_no_name_matches() -> None:
    reg = registry()
    rows = len(reg.name_rows)
    vectors = np.eye(rows, dtype=np.float32)  # name row r points along axis r
    paramedic_row = next(r for r, (o, _) in enumerate(reg.name_rows) if reg.occupations[o].id == "paramedic")
    near = np.zeros(rows, dtype=np.float32)
    near[paramedic_row] = 0.9
    near[0] = np.sqrt(1 - 0.81)
    encode = {"paramedik": near}.get
    res = resolve("How much does a paramedik earn?", reg, ordinary=ordinary, encode=encode, vectors=vectors,
                  threshold=0.8)
    assert (res.kind, res.occupation, res.method) == ("named", "paramedic", "dense")
    far = resolve("How much does a paramedik earn?", reg, ordinary=ordinary, encode=encode, vectors=vectors,
                  threshold=0.95)
    assert far.kind == "uncovered" and far.candidates[0] == "paramedic"  # the nearest covered one is offered


@pytest.mark.parametrize(("question", "phrase"), [
    ("How much does a paramedic earn?", "paramedic"), ("what about dental nurses?", "dental nurses"),
    ("How do I become a tree surgeon?", "tree surgeon"), ("What does the job involve?", None),
    ("what do they do", None), ("what about the pay?", None)])
def test_occupation_phrase(question: str, phrase: str | None) -> None:
    assert occupation_phrase(question, ordinary) == phrase


def test_filtered_dense_search_equals_brute_force_for_flat_and_hnsw() -> None:
    import faiss

    from assistant.filtered import dense_among

    rng = np.random.default_rng(7)
    data = rng.normal(size=(500, 16)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    query = data[3] + 0.1 * rng.normal(size=16).astype(np.float32)
    rows = np.array(sorted(rng.choice(500, size=40, replace=False)), dtype=np.int64)
    expected = sorted(rows, key=lambda r: -float(data[r] @ query))[:5]
    flat = faiss.IndexFlatIP(16)
    flat.add(data)
    hnsw = faiss.IndexHNSWFlat(16, 8, faiss.METRIC_INNER_PRODUCT)
    hnsw.add(data)
    for index in (flat, hnsw):
        got = dense_among(index, query, rows, 5)
        assert list(got) == [int(r) for r in expected]
        assert all(abs(got[int(r)] - float(data[r] @ query)) < 1e-5 for r in expected)
    assert dense_among(flat, query, np.array([], dtype=np.int64), 5) == {}


def test_a_licensed_source_shows_its_attribution_in_the_panel_and_the_cli() -> None:
    from assistant.models import Citation
    from assistant.render import source_line
    from assistant.web.present import source_panel

    c = Citation(doc_id="esco-x", title="x", publisher="ESCO (European Commission)", url=None, last_updated=None,
                 snippet="Xs do things.", score=1.0, start=0, end=13, licence="ESCO v1.0, © European Union")
    assert "_ESCO v1\\.0, © European Union_" in source_panel(1, c).content  # escaped markdown
    assert source_line(1, c).endswith("\n    ESCO v1.0, © European Union")
