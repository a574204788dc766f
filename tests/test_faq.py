"""faq-check: reading careers staff's CSVs (good and broken) and the HTML report they read."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.embedding import HashEmbedder
from assistant.errors import AssistantError
from assistant.faq import check, read_faq
from assistant.faqreport import answer_html, report
from assistant.index import build_index
from assistant.pipeline import Assistant
from assistant.settings import Settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    settings = Settings(corpus_dir=REPO / "corpus", index_dir=tmp_path_factory.mktemp("faq") / "index",
                        embedder="hash", abstain_threshold=0.0)
    embedder = HashEmbedder()
    build_index(settings, embedder)
    return Assistant(settings, embedder=embedder)


def write(tmp_path: Path, content: str | bytes, name: str = "faq.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_the_example_csv_reads_cleanly() -> None:
    faq = read_faq(REPO / "evals" / "faq-example.csv")
    assert faq.problems == [] and len(faq.rows) == 16
    assert faq.rows[1].expected == ["£15,250", "£20,329", "£24,000", "National Careers Service", "BBC Bitesize",
                                    "Coursera"]
    assert [r.id for r in faq.rows if r.should_decline] == ["faq-14", "faq-15", "faq-16"]


def test_bad_rows_are_named_and_the_good_rows_still_run(tmp_path: Path) -> None:
    faq = read_faq(write(tmp_path, "id,question,expected\na,What band?,band 3\nb,,band 3\nc,Pay?,\n"
                                   "d,Hours?,37.5,extra,cells\n"))
    assert [r.id for r in faq.rows] == ["a", "c", "d"]
    assert faq.problems == ["row 3: no question; skipped", "row 4: no expected phrase; only checked that it answers",
                            "row 5: more cells than columns; extra cells ignored (quote cells with commas)"]


@pytest.mark.parametrize("content, message", [
    (b"", "faq.csv is empty"),
    (b"   \n", "faq.csv is empty"),
    (b"id,prompt,answer\n1,x,y\n", "faq.csv has no question or expected column (columns found: 'id', 'prompt', "
                                   "'answer')"),
    (b"\x00\x01binary", "faq.csv is not a CSV file"),
])
def test_unreadable_files_get_a_clear_message(tmp_path: Path, content: bytes, message: str) -> None:
    with pytest.raises(AssistantError) as err:
        read_faq(write(tmp_path, content))
    assert str(err.value).startswith(message)


def test_a_windows_1252_file_is_read_with_a_warning(tmp_path: Path) -> None:
    faq = read_faq(write(tmp_path, "question,expected\nHow much?,£15,250\n".replace(",£15,250", ',"£15,250"')
                         .encode("cp1252")))
    assert faq.rows[0].expected == ["£15,250"]
    assert faq.problems[0].startswith("faq.csv is not UTF-8 (byte ")


def test_verdicts_say_why(assistant: Assistant, tmp_path: Path) -> None:
    faq = read_faq(write(tmp_path, "question,expected\nWhat band do OT support workers start on?,band 3\n"
                                   "How much does a paramedic earn?,no answer\n"
                                   "How much are OT support workers paid?,no answer\n"
                                   "What band do OT support workers start on?,band 9\n"))
    results = [check(assistant, row) for row in faq.rows]
    assert [(r.passed, r.verdict) for r in results] == [
        (True, "pass"), (True, "pass"), (False, "answered when it should have declined"),
        (False, "expected phrase missing")]
    assert results[3].why == "missing band 9; no source page contains band 9"


def test_report_is_self_contained_and_renders_hostile_text_as_text(assistant: Assistant, tmp_path: Path) -> None:
    faq = read_faq(write(tmp_path, 'question,expected,notes\n"<script>alert(1)</script> what band?",band 3,'
                                   '"<img src=x onerror=alert(1)>"\n'))
    page = report([check(assistant, row) for row in faq.rows], faq.problems, "faq.csv")
    assert "<script" not in page and "<img" not in page and "onerror=alert(1)&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; what band?" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//(?!nationalcareers)""", page)  # nothing fetched
    assert "<svg" in page and "Pass rate by topic" in page


def test_answer_markdown_becomes_nested_lists_quotes_and_bold() -> None:
    assert answer_html("Lead **x**\n\n- **1**\n  - a [1]\n- **2**\n\n> “q” [1]") == (
        "<p>Lead <strong>x</strong></p>\n<ul>\n<li><strong>1</strong>\n<ul>\n<li>a [1]</li>\n</ul>\n</li>\n"
        "<li><strong>2</strong>\n</li></ul>\n<blockquote>“q” [1]</blockquote>")


def test_cli_exit_code_and_report(tmp_path: Path) -> None:
    index = tmp_path / "index"
    env = {"CAREERS_EMBEDDER": "hash", "PATH": "/usr/bin:/bin"}
    build = subprocess.run([sys.executable, "-m", "assistant", "build", "--quiet", "--index", str(index)],
                           cwd=REPO, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    csv_path = write(tmp_path, "question,expected\nWhat band do OT support workers start on?,band 3\n,\n")
    done = subprocess.run([sys.executable, "-m", "assistant", "faq-check", str(csv_path), "--report",
                           str(tmp_path / "r.html"), "--index", str(index)], cwd=REPO, env=env,
                          capture_output=True, text=True)
    assert "Traceback" not in done.stderr and "PASS" in done.stdout
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!doctype html>")
