"""The FAQ check as a self-contained HTML page a careers adviser can read: no script, no external
font or style. Every piece of text (questions, answers, quotes) is escaped before any formatting."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from datetime import datetime, timezone

from .faq import FaqResult
from .render import date_label

_STYLE = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:60rem;
color:#1d1d1f;padding:0 1rem}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
.summary{display:flex;gap:1rem;flex-wrap:wrap}.stat{border:1px solid #ddd;border-radius:8px;padding:.6rem 1rem}
.stat b{display:block;font-size:1.5rem}.case{border:1px solid #ddd;border-radius:8px;margin:1rem 0;padding:1rem}
.case.fail{border-left:6px solid #b3261e}.case.pass{border-left:6px solid #1b7f3b}
.verdict{font-weight:600}.fail .verdict{color:#b3261e}.pass .verdict{color:#1b7f3b}
.answer{background:#f6f7f9;border-radius:6px;padding:.6rem .9rem;margin:.6rem 0}
blockquote{margin:.3rem 0 .3rem .2rem;padding-left:.7rem;border-left:3px solid #c9ccd1;color:#333}
.sources{font-size:.9rem;color:#444}.muted{color:#666;font-size:.9rem}ul{margin:.3rem 0}
"""


def inline(text: str) -> str:
    """Escape, then the few marks answers use: **bold**, _italic_, *italic*."""
    out = html.escape(text, quote=True)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w*])_(.+?)_(?![\w*])", r"<em>\1</em>", out)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", out)


def answer_html(markdown: str) -> str:
    """Paragraphs, "> " quotes and "- " lists (two levels), as the chat shows them."""
    parts: list[str] = []
    depth = 0  # 0: no list open; 1: a top-level item open; 2: a nested list open inside it

    def close_to(level: int) -> None:
        nonlocal depth
        while depth > level:  # depth 2 -> 1 closes the nested list; 1 -> 0 closes the item and the list
            parts.append("</ul>" if depth == 2 else "</li></ul>")
            depth -= 1

    for line in markdown.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if line.startswith("  - ") and depth >= 1:
            if depth == 1:
                parts.append("<ul>")
                depth = 2
            parts.append(f"<li>{inline(stripped[2:])}</li>")
        elif stripped.startswith("- "):
            close_to(1)
            if depth == 1:
                parts.append("</li>")
            else:
                parts.append("<ul>")
            parts.append(f"<li>{inline(stripped[2:])}")
            depth = 1
        else:
            close_to(0)
            tag = "blockquote" if stripped.startswith(">") else "p"
            parts.append(f"<{tag}>{inline(stripped.lstrip('> ') if tag == 'blockquote' else stripped)}</{tag}>")
    close_to(0)
    return "\n".join(parts)


def _chart(results: list[FaqResult]) -> str:
    groups: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        facet = r.row.facet or ("should decline" if r.row.should_decline else
                                r.answer.facet.value if r.answer.facet else "not answered")
        groups[facet].append(r.passed)
    rows = sorted(groups.items())
    bar_h, width, label_w = 26, 640, 150
    svg = [f'<svg role="img" aria-label="Pass rate by topic" width="{width}" height="{bar_h * len(rows) + 10}" '
           f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui,sans-serif" font-size="13">']
    for i, (facet, passes) in enumerate(rows):
        rate = sum(passes) / len(passes)
        y = 5 + i * bar_h
        full = width - label_w - 90
        svg.append(f'<text x="0" y="{y + 16}">{html.escape(facet)}</text>')
        svg.append(f'<rect x="{label_w}" y="{y + 3}" width="{full}" height="18" fill="#eceef1"/>')
        svg.append(f'<rect x="{label_w}" y="{y + 3}" width="{full * rate:.1f}" height="18" '
                   f'fill="{"#1b7f3b" if rate == 1 else "#c77700" if rate >= 0.5 else "#b3261e"}"/>')
        svg.append(f'<text x="{label_w + full + 8}" y="{y + 16}">{sum(passes)}/{len(passes)} '
                   f'({rate:.0%})</text>')
    return "\n".join(svg + ["</svg>"])


def report(results: list[FaqResult], problems: list[str], source: str) -> str:
    passed = sum(r.passed for r in results)
    cases = []
    for r in results:
        cites = "".join(
            f"<li>[{n}] {html.escape(c.publisher)}: {html.escape(c.title)} ({html.escape(date_label(c))})"
            + (f' — <a href="{html.escape(c.url)}">{html.escape(c.url)}</a>' if c.url and c.url.startswith(
                ("https://", "http://")) else "") + "</li>"
            for n, c in enumerate(r.answer.citations, start=1))
        expected = "no answer (should decline)" if r.row.should_decline else "; ".join(r.row.expected) or "any answer"
        cases.append(
            f'<section class="case {"pass" if r.passed else "fail"}"><h3>{html.escape(r.row.id)}: '
            f'{html.escape(r.row.question)}</h3><div class="verdict">{"PASS" if r.passed else "FAIL"} — '
            f'{html.escape(r.verdict)}</div><div class="muted">Why: {html.escape(r.why)}<br>Expected: '
            f'{html.escape(expected)}{" · Notes: " + html.escape(r.row.notes) if r.row.notes else ""} · '
            f'row {r.row.row}</div><div class="answer">{answer_html(r.answer.answer)}</div>'
            + (f'<div class="sources">Sources:<ul>{cites}</ul></div>' if cites else "") + "</section>")
    notes = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>FAQ check</title>"
            f"<style>{_STYLE}</style></head><body><h1>FAQ check: {html.escape(source)}</h1>"
            f"<p class=\"muted\">Run {datetime.now(timezone.utc):%d %B %Y %H:%M} UTC. Each question was put "
            f"to the assistant on its own; an answer passes when every expected phrase appears in it (or, "
            f"for “no answer”, when the assistant declines).</p>"
            f"<div class=\"summary\"><div class=\"stat\"><b>{passed}/{len(results)}</b>passed</div>"
            f"<div class=\"stat\"><b>{len(results) - passed}</b>failed</div>"
            f"<div class=\"stat\"><b>{sum(r.answer.abstained for r in results)}</b>declined</div></div>"
            + (f"<h2>Rows that could not be read</h2><ul>{notes}</ul>" if notes else "")
            + f"<h2>Pass rate by topic</h2>{_chart(results)}<h2>Questions</h2>{''.join(cases)}</body></html>")
