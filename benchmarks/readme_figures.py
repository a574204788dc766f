"""Write the README's figure tables from the files that measured them, so no figure is typed by hand.

    python benchmarks/readme_figures.py            # rewrite every marked block whose files exist
    python benchmarks/readme_figures.py --check    # exit 1 when a block differs from its files

A block in README.md is the text between `<!-- figures: NAME -->` and `<!-- /figures -->`; NAME is a key
of BLOCKS below, which says which files it is made from. The eval blocks read `reports/` (written by
`careers-assistant eval`, as CI runs it); the benchmark blocks read `benchmarks/results/` (committed).
A block whose files are missing is left as it is and named, never emptied.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

# (row label, key in eval.json's summary) in the order the README shows them.
EVAL_ROWS = [
    ("cases", "cases"), ("cases correct", "accuracy"), ("fact accuracy (required phrases present)", "fact_accuracy"),
    ("grounding rate", "grounding_rate"), ("citation precision", "citation_precision"),
    ("citation recall", "citation_recall"), ("retrieval Recall@5", "recall@5"), ("MRR", "mrr"),
    ("wrong answers on unanswerable questions", "wrong_answer_rate"),
    ("false abstentions on answerable ones", "false_abstain_rate"),
    ("answers citing another occupation's page (leak)", "leak_rate"),
    ("clarifying questions right", "clarify_accuracy"),
    ("refusals offering a sensible covered occupation", "nearest_offered_rate"),
]


class Missing(Exception):
    """A file a block is made from does not exist (yet): the block is left alone."""


def _json(repo: Path, name: str) -> dict:
    if not (repo / name).is_file():
        raise Missing(name)
    return json.loads((repo / name).read_text(encoding="utf-8"))


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{value:,}" if isinstance(value, int) else f"{value:.3f}"


def eval_table(report: str, thresholds: str) -> Callable[[Path], str]:
    def make(repo: Path) -> str:
        summary = _json(repo, report)["summary"]
        gates = yaml.safe_load((repo / thresholds).read_text(encoding="utf-8")) or {}
        lines = ["| metric | dev | held-out | all | gate |", "|---|---|---|---|---|"]
        for label, key in EVAL_ROWS:
            gate = (f"≥ {gates['minimum'][key]}" if key in gates.get("minimum", {}) else
                    f"≤ {gates['maximum'][key]}" if key in gates.get("maximum", {}) else "")
            cells = " | ".join(_cell(summary[split].get(key)) for split in ("dev", "heldout", "all"))
            lines.append(f"| {label} | {cells} | {gate} |")
        return "\n".join(lines)

    return make


def load_table(repo: Path) -> str:
    data = _json(repo, "benchmarks/results/load.json")
    by = {(r["mode"], r["concurrency"]): r for r in data["levels"]}
    lines = ["| concurrency | chat answers/s | chat p50 / p95 / p99 ms | API answers/s | API p50 / p95 / p99 ms |",
             "| --- | --- | --- | --- | --- |"]
    for level in data["config"]["levels"]:
        cells = []
        for mode in ("chat", "api"):
            r = by.get((mode, level))
            cells += ([f"{r['throughput_qps']:.1f}", f"{r['p50_ms']:.0f} / {r['p95_ms']:.0f} / {r['p99_ms']:.0f}"]
                      if r else ["", ""])
        lines.append(f"| {level} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_table(repo: Path) -> str:
    ask = _json(repo, "benchmarks/results/ask.json")
    scale = _json(repo, "benchmarks/results/ask_scale.json")
    registry = _json(repo, "benchmarks/results/registry.json")
    found = registry["in_registry"]
    rows = [
        ("seed corpus: warm ask ÷ bare query encode, p50 (`ask.md`, measured side by side)",
         f"{ask['ratio_ask_p50_to_encode_p50']:.2f} ({ask['ask_ms']['p50']:.1f} ms ÷ {ask['encode_ms']['p50']:.1f} ms)"),
        ("ESCO + O*NET: warm ask p50 / p95 (`ask_scale.md`)", f"{scale['ask_p50_ms']:.1f} / {scale['ask_p95_ms']:.1f} ms"),
        ("ESCO + O*NET: build (`ask_scale.md`)", f"{scale['build_seconds']:,.0f} s"),
    ]
    rows.append((f"name lookup against all {registry['names']:,} ESCO + O*NET names, p50 / p95 (`registry.md`)",
                 f"{found['lookup_p50_ms']:.3f} / {found['lookup_p95_ms']:.3f} ms"))
    return "\n".join(["| measure (from `benchmarks/results/`) | value |", "|---|---|"]
                     + [f"| {name} | {value} |" for name, value in rows])


def speed_table(repo: Path) -> str:
    """Issue 11's targets: each figure beside the reference it was measured with in the same run."""
    lazy = _json(repo, "benchmarks/results/lazy_index.json")
    workers = _json(repo, "benchmarks/results/workers.json")["summary"]
    rows = []
    for corpus, label in (("scale", "ESCO + O*NET (105,925 passages)"), ("seed", "seed corpus")):
        b, a = lazy["corpora"][corpus]["before"], lazy["corpora"][corpus]["after"]
        rows += [
            (f"{label}: one-shot `ask`, median s", f"{b['one_shot_s_median']:.2f}", f"{a['one_shot_s_median']:.2f}"),
            (f"{label}: one-shot `ask`, peak RSS MiB", f"{b['one_shot_rss_mib_median']:,.0f}",
             f"{a['one_shot_rss_mib_median']:,.0f}"),
            (f"{label}: `serve` ready, median s", f"{b['serve_ready_s_median']:.2f}", f"{a['serve_ready_s_median']:.2f}"),
            (f"{label}: warm ask p50 / p95 ms", f"{b['warm']['ask_p50_ms']:.0f} / {b['warm']['ask_p95_ms']:.0f}",
             f"{a['warm']['ask_p50_ms']:.0f} / {a['warm']['ask_p95_ms']:.0f}"),
            (f"{label}: warm ask p50 ÷ bare query encode p50",
             f"{b['warm']['ask_p50_ms'] / b['warm']['encode_p50_ms']:.2f}",
             f"{a['warm']['ask_p50_ms'] / a['warm']['encode_p50_ms']:.2f}"),
        ]
    one, two = workers["1"], workers["2"]
    rows += [
        ("seed corpus: chat / API answers/s at 8 sessions, 1 worker → 2 workers",
         f"{one['chat_c8_qps']:.1f} / {one['api_c8_qps']:.1f}", f"{two['chat_c8_qps']:.1f} / {two['api_c8_qps']:.1f}"),
        ("2 workers ÷ 1 worker, answers/s at 8 sessions (chat / API)", "",
         f"{workers['ratios_2_to_1']['chat_c8_qps']:.2f} / {workers['ratios_2_to_1']['api_c8_qps']:.2f}"),
        ("seed corpus: chat / API p95 ms at 20 sessions, 1 worker → 2 workers",
         f"{one['chat_c20_p95']:.0f} / {one['api_c20_p95']:.0f}", f"{two['chat_c20_p95']:.0f} / {two['api_c20_p95']:.0f}"),
        ("errors under load, 1 worker → 2 workers", f"{one['errors']}", f"{two['errors']}"),
        ("seed corpus: server resident memory MiB (RSS; with 2 workers, server + workers)",
         f"{one['total_rss_mib']:.0f}", f"{two['total_rss_mib']:.0f}"),
    ]
    return "\n".join(["| measure (`lazy_index.md`: before = the eager index; `workers.md`) | before | after |",
                       "|---|---|---|"] + [f"| {name} | {b} | {a} |" for name, b, a in rows])


# Which block is made from what: one line per table in the README.
BLOCKS: dict[str, Callable[[Path], str]] = {
    "eval": eval_table("reports/eval.json", "evals/thresholds.yaml"),
    "eval-occupations": eval_table("reports/occupations/eval.json", "evals/thresholds-occupations.yaml"),
    "load": load_table,
    "benchmarks": summary_table,
    "speed": speed_table,
}

_BLOCK = re.compile(r"(<!-- figures: ([\w-]+) -->\n)(.*?)(<!-- /figures -->)", re.S)


def regenerate(text: str, repo: Path = REPO) -> tuple[str, list[str], list[str]]:
    """The text with every block made afresh; the names of the blocks left alone (files missing) and of
    the markers naming no known block."""
    skipped: list[str] = []
    unknown: list[str] = []

    def fill(m: re.Match) -> str:
        name = m.group(2)
        if name not in BLOCKS:
            unknown.append(name)
            return m.group(0)
        try:
            body = BLOCKS[name](repo)
        except Missing as missing:
            skipped.append(f"{name} ({missing} is missing)")
            return m.group(0)
        return f"{m.group(1)}{body}\n{m.group(4)}"

    return _BLOCK.sub(fill, text), skipped, unknown


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 if the README differs from the files")
    p.add_argument("--readme", type=Path, default=REPO / "README.md")
    args = p.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    fresh, skipped, unknown = regenerate(text)
    for name in skipped:
        print(f"left as it is: {name}", file=sys.stderr)
    if unknown:
        print(f"unknown figure blocks: {', '.join(unknown)} (known: {', '.join(BLOCKS)})", file=sys.stderr)
        return 1
    if args.check:
        if fresh != text:
            print(f"{args.readme} is out of date: run python benchmarks/readme_figures.py", file=sys.stderr)
            return 1
        return 0
    if fresh != text:
        args.readme.write_text(fresh, encoding="utf-8")
        print(f"rewrote the figure blocks of {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
