"""ESCO and O*NET importers on tiny hand-made samples: files written, metadata kept, read back by the
corpus reader, and chunked one record per passage."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.chunking import chunk_document
from assistant.cli import main
from assistant.corpus import load_corpus
from assistant.embedding import HashEmbedder
from assistant.errors import CorpusError
from assistant.importers import ESCO_PUBLISHER, ONET_PUBLISHER, import_esco, import_onet

ESCO_CSV = (
    "conceptType,conceptUri,iscoGroup,preferredLabel,altLabels,hiddenLabels,status,modifiedDate,"
    "regulatedProfessionNote,scopeNote,definition,inScheme,description\n"
    'Occupation,http://data.europa.eu/esco/occupation/aaa-111,2166,technical director,'
    '"head of technical\ntechnical manager\ntechnical director",,released,2016-07-05T13:58:41Z,,,,,'
    '"Technical directors realise the artistic visions of the creators. They coordinate production units."\n'
    'Occupation,http://data.europa.eu/esco/occupation/bbb-222,5120,cook,"chef de partie\n- line cook",,released,'
    '2017-01-02T00:00:00Z,,,,,"Cooks prepare and present food."\n'
    'Occupation,http://data.europa.eu/esco/occupation/ccc-333,1111,no description,,,released,,,,,,\n'
)

ONET = {
    "occupation-data.txt": "O*NET-SOC Code\tTitle\tDescription\n"
    "15-1252.00\tSoftware Developers\tResearch, design, and develop computer software.\n"
    "29-1141.00\tRegistered Nurses\tAssess patient health problems and needs.\n",
    "task-statements.txt": "O*NET-SOC Code\tTask ID\tTask\tTask Type\n"
    "15-1252.00\t1\tAnalyze user needs and software requirements.\tCore\n"
    "15-1252.00\t2\tModify existing software to correct errors.\tCore\n"
    "29-1141.00\t3\tRecord patients' medical information and vital signs.\tCore\n",
    "alternate-titles.txt": "O*NET-SOC Code\tAlternate Title\tShort Title\tSource(s)\n"
    "15-1252.00\tApplication Developer\tn/a\t08\n"
    "15-1252.00\tSoftware Developers\tn/a\t08\n"
    "29-1141.00\tStaff Nurse\tn/a\t08\n",
    "sample-of-reported-titles.txt": "O*NET-SOC Code\tReported Job Title\tShown in My Next Move\n"
    "15-1252.00\tApplication Developer\tY\n"
    "29-1141.00\tCharge Nurse\tN\n",
}


@pytest.fixture
def esco_csv(tmp_path: Path) -> Path:
    path = tmp_path / "esco" / "occupations_en.csv"
    path.parent.mkdir()
    path.write_text(ESCO_CSV, encoding="utf-8")
    return path


@pytest.fixture
def onet_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "onet"
    folder.mkdir()
    for name, text in ONET.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_esco_import_keeps_source_and_licence(esco_csv: Path, tmp_path: Path) -> None:
    report = import_esco(esco_csv.parent, tmp_path / "corpus")
    assert report.written == 2 and report.skipped == ["row 4: no description"]
    assert report.passages == {"alternative labels": 4, "descriptions": 2}  # the preferred label is not repeated
    docs, skipped = load_corpus(tmp_path / "corpus")
    assert skipped == []
    by_id = {d.meta.doc_id: d for d in docs}
    director = by_id["esco-aaa-111"]
    assert director.meta.title == "technical director"
    assert director.meta.publisher == ESCO_PUBLISHER
    assert director.meta.url == "http://data.europa.eu/esco/occupation/aaa-111"
    assert "acknowledgement of the source" in director.meta.licence
    assert str(director.meta.last_updated) == "2016-07-05"
    assert director.meta.passages == "records"
    assert "• head of technical\n• technical manager" in director.text
    assert "• line cook" in by_id["esco-bbb-222"].text  # a list marker in the data is not doubled


def test_onet_import_sections_and_dedupe(onet_dir: Path, tmp_path: Path) -> None:
    report = import_onet(onet_dir, tmp_path / "corpus")
    assert report.written == 2
    assert report.passages == {"tasks": 3, "alternate titles": 2, "reported titles": 1, "descriptions": 2}
    docs, _ = load_corpus(tmp_path / "corpus")
    dev = {d.meta.doc_id: d for d in docs}["onet-15-1252-00"]
    assert dev.meta.url == "https://www.onetonline.org/link/summary/15-1252.00"
    assert dev.meta.publisher == ONET_PUBLISHER and dev.meta.licence.startswith("CC BY 4.0")
    assert dev.meta.date_note == "O*NET 27.0, August 2022 release"
    sections = [dev.text[b.start:b.end] for b in dev.blocks if b.kind == "heading"]
    assert sections == ["Tasks", "Alternate titles"]  # no reported titles left once duplicates go


def test_descriptions_only(onet_dir: Path, esco_csv: Path, tmp_path: Path) -> None:
    import_onet(onet_dir, tmp_path / "c", fields=["description"])
    import_esco(esco_csv, tmp_path / "c", fields=[])
    docs, _ = load_corpus(tmp_path / "c")
    assert len(docs) == 4 and all(len(d.blocks) == 1 and d.blocks[0].kind == "paragraph" for d in docs)


def test_records_are_one_passage_each(onet_dir: Path, tmp_path: Path) -> None:
    import_onet(onet_dir, tmp_path / "corpus")
    docs, _ = load_corpus(tmp_path / "corpus")
    dev = {d.meta.doc_id: d for d in docs}["onet-15-1252-00"]
    chunks = chunk_document(dev, HashEmbedder().count_tokens, 200)
    assert [c.text for c in chunks] == [
        "Research, design, and develop computer software.", "Analyze user needs and software requirements.",
        "Modify existing software to correct errors.", "Application Developer"]
    assert chunks[1].embed_text == "Software Developers — Tasks\nAnalyze user needs and software requirements."
    assert all(dev.text[c.start:c.end] == c.text for c in chunks)


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="No ESCO occupations file"):
        import_esco(tmp_path / "missing.csv", tmp_path / "c")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="not an ESCO occupations file"):
        import_esco(tmp_path / "x.csv", tmp_path / "c")
    with pytest.raises(CorpusError, match="occupation-data.txt"):
        import_onet(tmp_path, tmp_path / "c")
    with pytest.raises(CorpusError, match="Unknown field"):
        import_onet(tmp_path, tmp_path / "c", fields=["salaries"])


def test_cli_import_then_build(onet_dir: Path, esco_csv: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CAREERS_EMBEDDER", "hash")
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    assert main(["import", "onet", str(onet_dir), "--corpus", str(corpus)]) == 0
    assert main(["import", "esco", str(esco_csv), "--corpus", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "Imported 2 ONET occupations" in out and "Imported 2 ESCO occupations" in out
    assert main(["build", "--quiet", "--corpus", str(corpus), "--index", str(index)]) == 0
    from assistant.index import load_index
    from assistant.settings import Settings

    loaded = load_index(Settings(corpus_dir=corpus, index_dir=index, embedder="hash"), "hash-384")
    assert loaded.manifest.document_count == 4
    assert loaded.manifest.chunk_count == (2 + 3 + 2 + 1) + (2 + 4)  # O*NET, then ESCO records


def test_import_hint_names_an_index_of_its_own_and_git_ignores_both(onet_dir: Path, tmp_path: Path, capsys,
                                                                     monkeypatch) -> None:
    """Following the hint must not replace the default index, and nothing generated lands in git."""
    monkeypatch.setenv("CAREERS_EMBEDDER", "hash")
    monkeypatch.delenv("CAREERS_INDEX_DIR", raising=False)
    corpus = tmp_path / "careers-corpus"
    assert main(["import", "onet", str(onet_dir), "--corpus", str(corpus)]) == 0
    out = capsys.readouterr().out
    index = tmp_path / "careers-index"
    assert f"--corpus {corpus} --index {index}`" in out
    assert (corpus / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    assert main(["build", "--quiet", "--corpus", str(corpus), "--index", str(index)]) == 0
    assert (index / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    # An index named on the command line is the one the hint names; an existing folder keeps its git status.
    (tmp_path / "curated").mkdir()
    assert main(["import", "onet", str(onet_dir), "--corpus", str(tmp_path / "curated"), "--index", "mine"]) == 0
    assert "--index mine`" in capsys.readouterr().out
    assert not (tmp_path / "curated" / ".gitignore").exists()
