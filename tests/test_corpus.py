"""corpus.py: front matter, file-name ids, skipped files reported by name, duplicates, HTML, corpus hash."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.corpus import corpus_hash, load_corpus
from assistant.errors import CorpusError
from conftest import write_corpus

META_FIELDS = {"doc_id", "title", "publisher", "url", "last_updated", "retrieved", "date_note", "licence",
               "source_file"}


def metas(docs) -> list[dict]:
    return [d.meta.model_dump(include=META_FIELDS) for d in docs]


def test_tiny_corpus_front_matter(corpus_dir: Path) -> None:
    docs, skipped = load_corpus(corpus_dir)
    assert skipped == []
    assert metas(docs) == [
        {"doc_id": "pay-page", "title": "Support worker pay", "publisher": "Test Careers",
         "url": "https://example.org/pay", "last_updated": date(2020, 1, 15), "retrieved": date(2024, 5, 1),
         "date_note": None, "licence": None, "source_file": "a-pay.md"},
        {"doc_id": "hours-page", "title": "Working hours", "publisher": "Test Careers", "url": None,
         "last_updated": None, "retrieved": None, "date_note": None, "licence": None, "source_file": "b-hours.txt"},
        # No last_updated in the header: taken from the page's own "Last updated: 10 September 2018".
        {"doc_id": "entry-page", "title": "Entry requirements", "publisher": "Other Publisher", "url": None,
         "last_updated": date(2018, 9, 10), "retrieved": None, "date_note": None, "licence": None,
         "source_file": "c-entry.md"},
        # No title in the header: taken from the HTML <title>.
        {"doc_id": "skills-page", "title": "Skills and qualities", "publisher": "Web Publisher", "url": None,
         "last_updated": None, "retrieved": None, "date_note": None, "licence": None,
         "source_file": "d-skills.html"},
    ]
    assert [d.text for d in docs] == [
        "Pay\n\nSupport workers start on band 3. The starting salary is £20,000 a year.",
        "Hours\n\nMost support workers work 37.5 hours a week. Some work night shifts.\n\n"
        "Weekends\n\nYou may work weekends and bank holidays.",
        "There are no set entry requirements. Employers may ask for GCSEs in English and maths.\n\n"
        "Last updated: 10 September 2018",
        "Skills and qualities\n\nYou need patience and good communication.\n\n• Teamwork\n• Tact and sensitivity",
    ]


def test_header_date_note_and_licence(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"p.md": (
        "---\nid: p\ndate_note: \"Cites a source accessed 29 October 2024\"\nlicence: OGL v3.0\n"
        "last_updated: \"2019-03-04\"\n---\nSome text here.\n")})
    (doc,), _ = load_corpus(folder)
    assert (doc.meta.date_note, doc.meta.licence, doc.meta.last_updated) == (
        "Cites a source accessed 29 October 2024", "OGL v3.0", date(2019, 3, 4))


def test_missing_header_id_from_file_name_title_from_first_line(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"My Notes (v2).md": "Support workers help patients.\n\nThey work shifts.\n"})
    (doc,), skipped = load_corpus(folder)
    assert skipped == []
    assert doc.meta.model_dump(include=META_FIELDS) == {
        "doc_id": "my-notes-v2", "title": "Support workers help patients.", "publisher": "Unknown publisher",
        "url": None, "last_updated": None, "retrieved": None, "date_note": None, "licence": None,
        "source_file": "My Notes (v2).md"}
    assert doc.text == "Support workers help patients.\n\nThey work shifts."


def test_bom_utf16_and_upper_case_suffix_load_other_suffixes_ignored(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {
        "bom.txt": "\ufeff---\nid: bom-page\n---\nA page saved with a BOM.\n".encode("utf-8"),
        "wide.txt": "---\nid: wide-page\ntitle: Wide\n---\nA page saved as UTF-16.\n".encode("utf-16"),
        "UPPER.MD": "Upper case suffix page.\n",
        "notes.pdf": b"%PDF-1.4 not a corpus file",
        "image.png": b"\x89PNG\r\n\x1a\n\x00\x00",
    })
    docs, skipped = load_corpus(folder)
    assert [(d.meta.doc_id, d.meta.title, d.text) for d in docs] == [
        ("upper", "Upper case suffix page.", "Upper case suffix page."),
        ("bom-page", "A page saved with a BOM.", "A page saved with a BOM."),
        ("wide-page", "Wide", "A page saved as UTF-16."),
    ]
    assert skipped == []


def test_bad_files_are_reported_by_name_and_the_rest_still_load(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {
        "a-empty.md": b"",
        "b-blank.txt": b"  \n\n ",
        "c-binary.md": b"PK\x03\x04\x00\x00binary",
        "d-latin1.txt": b"Caf\xe9 au lait is nice.",
        "e-good.md": "---\nid: good\ntitle: Good page\n---\nSupport workers help patients.\n",
        "f-chrome.md": "Make a comment or report a problem with this page\n",
        "g-badyaml.md": "---\ntitle: [unclosed\n---\nText here is fine.\n",
        "h-baddate.md": "---\nlast_updated: 10 September 2018\n---\nText here is fine too.\n",
        "i-list.md": "---\n- just\n- a list\n---\nText in a file with a list header.\n",
    })
    docs, skipped = load_corpus(folder)
    assert [d.meta.doc_id for d in docs] == ["good"]
    assert [s.path for s in skipped] == ["a-empty.md", "b-blank.txt", "c-binary.md", "d-latin1.txt",
                                         "f-chrome.md", "g-badyaml.md", "h-baddate.md", "i-list.md"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["a-empty.md"] == "a-empty.md: the file is empty"
    assert reasons["b-blank.txt"] == "b-blank.txt: the file is empty"
    assert reasons["c-binary.md"] == ("c-binary.md: looks like a binary file, not text; "
                                      "save the page as .md, .txt or .html")
    assert reasons["d-latin1.txt"] == ("d-latin1.txt: not valid UTF-8 (byte 3: invalid continuation byte); "
                                       "re-save the file as UTF-8")
    assert reasons["f-chrome.md"] == ("f-chrome.md: no text left after cleaning "
                                      "(nothing but markup or page furniture)")
    assert reasons["g-badyaml.md"].startswith("g-badyaml.md: the metadata header is not valid YAML (")
    assert reasons["h-baddate.md"] == ("h-baddate.md: last_updated must be a date like 2018-09-10, "
                                       "not '10 September 2018'")
    assert reasons["i-list.md"] == "i-list.md: the metadata header must be `key: value` lines"


def test_duplicate_ids_and_duplicate_texts_are_skipped(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {
        "a.md": "---\nid: good\n---\nSupport workers help patients.\n",
        "b.md": "---\nid: good\n---\nA different text entirely.\n",
        "c.md": "---\nid: other\n---\nSupport workers help patients.\n",
        "d.md": "---\nid: third\n---\nA third text.\n",
    })
    docs, skipped = load_corpus(folder)
    assert [d.meta.doc_id for d in docs] == ["good", "third"]
    assert [(s.path, s.reason) for s in skipped] == [
        ("b.md", "b.md: id 'good' is already used by a.md"),
        ("c.md", "c.md: same text as a.md, skipped as a duplicate"),
    ]


def test_html_page(tmp_path: Path) -> None:
    page = (
        "<!doctype html><html><head><title>Skills &amp; qualities</title><style>body{color:red}</style>"
        "<script>var secret = 'alert(1)';</script></head><body><nav><a href='/'>Home</a></nav>"
        "<h1>Skills and qualities</h1><p>Support workers need <b>patience</b> and tact.</p>"
        "<ul><li>Good communication</li><li>Teamwork</li></ul>"
        "<script>document.write('evil')</script><footer>Cookie settings</footer></body></html>"
    )
    (doc,), _ = load_corpus(write_corpus(tmp_path / "c", {"skills.html": page}))
    assert doc.meta.title == "Skills & qualities"
    assert doc.meta.doc_id == "skills"
    assert doc.text == ("Skills and qualities\n\nSupport workers need patience and tact.\n\n"
                        "• Good communication\n• Teamwork")
    assert [(b.kind, doc.text[b.start : b.end]) for b in doc.blocks] == [
        ("heading", "Skills and qualities"),
        ("paragraph", "Support workers need patience and tact."),
        ("bullet", "Good communication"),
        ("bullet", "Teamwork"),
    ]


def test_corpus_error_when_nothing_is_usable(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"No corpus folder at .*missing"):
        load_corpus(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusError, match=r"the folder has no \.md, \.txt or \.html file$"):
        load_corpus(empty)
    bad = write_corpus(tmp_path / "bad", {"x.md": b"", "y.txt": b"\x00\x01\x02"})
    with pytest.raises(CorpusError) as err:
        load_corpus(bad)
    assert str(err.value) == (f"No usable document in {bad}: x.md: the file is empty; y.txt: looks like a binary "
                              "file, not text; save the page as .md, .txt or .html")


def test_corpus_hash_changes_with_any_corpus_file(corpus_dir: Path) -> None:
    first = corpus_hash(corpus_dir)
    assert corpus_hash(corpus_dir) == first
    (corpus_dir / "notes.pdf").write_bytes(b"not a corpus file")
    assert corpus_hash(corpus_dir) == first
    page = corpus_dir / "a-pay.md"
    original = page.read_bytes()
    page.write_bytes(original.replace(b"band 3", b"band 4"))
    edited = corpus_hash(corpus_dir)
    assert edited != first
    page.write_bytes(original)
    assert corpus_hash(corpus_dir) == first
    page.rename(corpus_dir / "a-pay2.md")
    renamed = corpus_hash(corpus_dir)
    assert len({first, edited, renamed}) == 3


def test_crlf_front_matter(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {
        "a.md": b"---\r\nid: alpha\r\ntitle: Alpha page\r\n---\r\nHello there. This is the body.\r\n"})
    (doc,), _ = load_corpus(folder)
    assert (doc.meta.doc_id, doc.meta.title, doc.text) == ("alpha", "Alpha page", "Hello there. This is the body.")


def test_non_string_header_value_does_not_break_the_corpus(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {
        "a.md": "---\nid: alpha\ndate_note: 2024-10-29\n---\nAlpha text.\n",
        "b.md": "---\nid: beta\n---\nBeta text.\n",
    })
    try:
        docs, skipped = load_corpus(folder)
    except Exception as err:  # noqa: BLE001 - the bug is that anything escapes
        raise AssertionError(f"load_corpus raised {type(err).__name__}") from err
    assert "beta" in [d.meta.doc_id for d in docs]
    assert sorted([d.meta.source_file for d in docs] + [s.path for s in skipped]) == ["a.md", "b.md"]
