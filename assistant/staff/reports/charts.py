"""Charts drawn on the server as inline SVG: no script, no external file, readable as a table too.

Every label is escaped (esc); numbers are formatted here. Each bar and point carries a <title>, which
browsers show on hover and screen readers read.
"""

from __future__ import annotations

from pydantic import BaseModel

from ..base import esc


class Series(BaseModel):
    label: str
    colour: str  # a fixed palette colour chosen by the page, never user text
    values: list[int]


def stacked_bars(days: list[str], series: list[Series], *, title: str, width: int = 900, height: int = 240) -> str:
    """One stacked bar per day (oldest left), with the day's total above it and a legend."""
    left, bottom, top = 40, 40, 20
    plot_w, plot_h = width - left - 10, height - bottom - top
    totals = [sum(s.values[i] for s in series) for i in range(len(days))]
    peak = max(totals + [1])
    step = plot_w / max(len(days), 1)
    bar = max(step * 0.7, 1)
    parts = [f'<svg role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height + 24}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui,sans-serif" font-size="11">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#999"/>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{peak}</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>']
    for i, day in enumerate(days):
        x = left + i * step + (step - bar) / 2
        y = top + plot_h
        for s in series:
            h = plot_h * s.values[i] / peak
            if h > 0:
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{s.colour}">'
                             f"<title>{esc(day)}: {s.values[i]} {esc(s.label)}</title></rect>")
        if totals[i]:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{totals[i]}</text>')
        if i % max(1, len(days) // 10) == 0 or i == len(days) - 1:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle">'
                         f"{esc(day[5:])}</text>")
    x = left
    for s in series:
        parts.append(f'<rect x="{x}" y="{height}" width="12" height="12" fill="{s.colour}"/>'
                     f'<text x="{x + 16}" y="{height + 10}">{esc(s.label)}</text>')
        x += 24 + 7 * len(s.label)
    return "".join(parts + ["</svg>"])


def rate_line(days: list[str], rates: list[float | None], trend: list[float | None], *, title: str,
              trend_label: str, width: int = 900, height: int = 170) -> str:
    """Each day's rate (0 to 100 %) as a dot, and its trend (a rolling rate) as a line broken where
    there is nothing to rate."""
    left, bottom, top = 40, 38, 12
    plot_w, plot_h = width - left - 20, height - bottom - top
    step = plot_w / max(len(days) - 1, 1)
    parts = [f'<svg role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui,sans-serif" font-size="11">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#999"/>',
             f'<line x1="{left}" y1="{top}" x2="{left + plot_w}" y2="{top}" stroke="#ddd"/>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">100%</text>',
             f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0%</text>']
    run: list[str] = []

    def flush() -> None:
        if len(run) > 1:
            parts.append(f'<polyline fill="none" stroke="#b3261e" stroke-width="2.5" points="{" ".join(run)}"/>')
        elif run:  # a trend of one day is a point
            x, y = run[0].split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="#b3261e"/>')
        run.clear()

    def y_of(rate: float) -> float:
        return top + plot_h * (1 - rate)

    for i, (day, rate, smooth) in enumerate(zip(days, rates, trend)):
        x = left + i * step
        if rate is not None:
            parts.append(f'<circle cx="{x:.1f}" cy="{y_of(rate):.1f}" r="3" fill="#e8a39e"><title>{esc(day)}: '
                         f"{rate:.0%} declined</title></circle>")
        if smooth is None:
            flush()
        else:
            run.append(f"{x:.1f},{y_of(smooth):.1f}")
        if i % max(1, len(days) // 10) == 0 or i == len(days) - 1:
            anchor = "end" if i == len(days) - 1 else "middle"
            parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 14}" text-anchor="{anchor}">{esc(day[5:])}</text>')
    flush()
    parts.append(f'<circle cx="{left + 6}" cy="{height - 8}" r="3" fill="#e8a39e"/><text x="{left + 14}" '
                 f'y="{height - 4}">each day</text><line x1="{left + 90}" y1="{height - 8}" x2="{left + 110}" '
                 f'y2="{height - 8}" stroke="#b3261e" stroke-width="2.5"/><text x="{left + 116}" '
                 f'y="{height - 4}">{esc(trend_label)}</text>')
    return "".join(parts + ["</svg>"])
