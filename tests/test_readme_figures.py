"""The README's figure tables are made from the files that measured them (benchmarks/readme_figures.py)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("readme_figures", REPO / "benchmarks" / "readme_figures.py")
figures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(figures)


def test_the_committed_benchmark_tables_are_the_results_files() -> None:
    """Blocks made from committed files (benchmarks/results/) must match them now; the eval blocks are
    checked by .ci/run after the eval has written reports/."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = dict(re.findall(r"<!-- figures: ([\w-]+) -->\n(.*?)\n<!-- /figures -->", text, re.S))
    assert set(blocks) == set(figures.BLOCKS)
    for name in ("load", "benchmarks", "speed"):
        assert blocks[name] == figures.BLOCKS[name](REPO), f"run python benchmarks/readme_figures.py ({name})"


def test_a_block_whose_files_are_missing_is_left_alone_and_named(tmp_path: Path) -> None:
    text = "a\n<!-- figures: eval -->\n| typed | 1 |\n<!-- /figures -->\nb\n"
    fresh, skipped, unknown = figures.regenerate(text, repo=tmp_path)
    assert fresh == text and skipped == ["eval (reports/eval.json is missing)"] and unknown == []


def test_an_eval_block_is_written_from_the_report_and_the_gates(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "evals").mkdir()
    split = {"cases": 3, "accuracy": 2 / 3, "grounding_rate": 1.0}
    (tmp_path / "reports" / "eval.json").write_text(
        '{"summary": {"dev": %s, "heldout": %s, "all": %s}}' % ((str(split).replace("'", '"'),) * 3))
    (tmp_path / "evals" / "thresholds.yaml").write_text("minimum:\n  grounding_rate: 1.0\n")
    fresh, skipped, unknown = figures.regenerate("<!-- figures: eval -->\nold\n<!-- /figures -->", repo=tmp_path)
    assert skipped == [] and unknown == []
    assert "| cases | 3 | 3 | 3 |  |" in fresh and "| cases correct | 0.667 | 0.667 | 0.667 |  |" in fresh
    assert "| grounding rate | 1.000 | 1.000 | 1.000 | ≥ 1.0 |" in fresh and "old" not in fresh
    _, _, unknown = figures.regenerate("<!-- figures: nope -->\nx\n<!-- /figures -->", repo=tmp_path)
    assert unknown == ["nope"]
