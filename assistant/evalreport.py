"""Eval results as people read them: console tables, a markdown report and a JSON report."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from .evaluate import CaseResult, Thresholds, by_facet, failures


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + [
        "| " + " | ".join(r) + " |" for r in rows]


def _fmt(value: float) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(summaries: dict[str, dict[str, float]], results: list[CaseResult], thresholds: Thresholds,
             settings_note: str) -> str:
    splits = list(summaries)
    metric_names = list(next(iter(summaries.values())))
    rows = []
    for name in metric_names:
        limit = (f"≥ {thresholds.minimum[name]}" if name in thresholds.minimum else
                 f"≤ {thresholds.maximum[name]}" if name in thresholds.maximum else "")
        rows.append([name] + [_fmt(summaries[s][name]) for s in splits] + [limit])
    lines = [f"# Eval report ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)", "", settings_note, "",
             "## Metrics", ""] + _table(["metric"] + splits + ["threshold"], rows)
    lines += ["", "## Pass rate by facet", ""]
    facet_rows = [[f, str(int(v["cases"])), _fmt(v["pass_rate"])] for f, v in by_facet(results).items()]
    lines += _table(["facet", "cases", "pass rate"], facet_rows)
    failed = [r for r in results if not r.correct]
    lines += ["", f"## Cases that failed ({len(failed)})", ""]
    for r in failed:
        why = ("should have declined" if r.expected_abstain else "declined" if r.abstained else
               "; ".join(r.grounding_problems) or f"missing {', '.join(r.missing)}")
        lines.append(f"- `{r.id}` ({r.split}) {r.question} — {why}")
    gate = failures(summaries.get("all", next(iter(summaries.values()))), thresholds)
    lines += ["", "## Gate", "", "PASS" if not gate else "FAIL: " + "; ".join(gate)]
    return "\n".join(lines) + "\n"


def console(summaries: dict[str, dict[str, float]], results: list[CaseResult]) -> str:
    splits = list(summaries)
    names = list(next(iter(summaries.values())))
    width = max(len(n) for n in names) + 2
    out = ["metric".ljust(width) + "".join(s.rjust(10) for s in splits)]
    out += [n.ljust(width) + "".join(_fmt(summaries[s][n]).rjust(10) for s in splits) for n in names]
    out += ["", "facet".ljust(18) + "cases".rjust(7) + "pass".rjust(8)]
    out += [f.ljust(18) + str(int(v["cases"])).rjust(7) + _fmt(v["pass_rate"]).rjust(8)
            for f, v in by_facet(results).items()]
    return "\n".join(out)


def write(folder: Path, summaries: dict, results: list[CaseResult], md: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "eval.json", folder / "eval.md"
    payload = {"summary": summaries, "by_facet": by_facet(results),
               "cases": [r.model_dump() | {"correct": r.correct} for r in results]}
    json_path.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    md_path.write_text(md, encoding="utf-8")
    return json_path, md_path
