"""Charts of the statistics page drawn on the server as inline SVG: no script, nothing for the CSP to refuse.

Each chart is a `viewBox` 320 units wide that the page scales to its column (CSS `width: 100%`), so on a
375-pixel phone one unit is about one pixel and the 12-unit labels read as 12-pixel text. Colours are
presentation attributes; every chart has a <title> and <desc>, and the table below it carries the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 320
BAR_ROW = 34  # a label line above a 12-unit bar
LINE_HEIGHT = 190
COLOURS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea")


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _axis(value: int) -> tuple[int, int]:
    """(step, ticks): the smallest step of 1, 2 or 5 times a power of ten that reaches `value` in at most
    5 ticks above zero, so the axis reads in whole numbers."""
    if value <= 1:
        return 1, 1
    power = 10 ** max(math.floor(math.log10(value / 5)), 0)
    while True:
        for step in (power, 2 * power, 5 * power):
            ticks = math.ceil(value / step)
            if ticks <= 5:
                return step, ticks
        power *= 10


def _short(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(chart_id: str, title: str, rows: Sequence[tuple[str, int]], *, colour: str = COLOURS[0],
              limit: int = 12, more: str = "") -> Markup:
    """Horizontal bars, one per row (label above its bar, the value at its end), the largest `limit` rows;
    `more` is the line that says how many rows the chart leaves to the table."""
    shown = list(rows)[:limit]
    top = max((v for _label, v in shown), default=0) or 1
    room = WIDTH - 44
    height = max(len(shown), 1) * BAR_ROW + (16 if len(rows) > limit and more else 4)
    parts = [f'<svg class="chart chart-bars" viewBox="0 0 {WIDTH} {height}" role="img" '
             f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{chart_id}-t">{escape(title)}</title>',
             f'<desc id="{chart_id}-d">{escape("; ".join(f"{label}: {v}" for label, v in shown))}</desc>']
    for i, (label, value) in enumerate(shown):
        y = i * BAR_ROW
        length = max(value / top * room, 1.5 if value else 0)
        parts.append(f'<text x="0" y="{y + 12}" font-size="12" fill="#374151">{escape(_short(label))}</text>')
        parts.append(f'<rect x="0" y="{y + 17}" width="{room}" height="12" rx="2" fill="#f3f4f6"/>')
        parts.append(f'<rect x="0" y="{y + 17}" width="{_fmt(length)}" height="12" rx="2" fill="{colour}">'
                     f'<title>{escape(label)}: {value}</title></rect>')
        parts.append(f'<text x="{_fmt(room + 4)}" y="{y + 27}" font-size="12" fill="#111827">{value}</text>')
    if not shown:
        parts.append('<text x="0" y="14" font-size="12" fill="#6b7280">0</text>')
    if len(rows) > limit and more:
        parts.append(f'<text x="0" y="{height - 4}" font-size="11" fill="#6b7280">{escape(more)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def line_chart(chart_id: str, title: str, months: Sequence[str],
               series: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """One line per series over the months ("2026-11"), a legend above, month numbers below, years under them."""
    left, right, top, bottom = 30, 8, 26, 34
    plot_w, plot_h = WIDTH - left - right, LINE_HEIGHT - top - bottom
    step, ticks = _axis(max((v for _name, values in series for v in values), default=0))
    peak = step * ticks
    n = len(months)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - v / peak * plot_h

    desc = "; ".join(f"{name}: " + ", ".join(f"{m} {v}" for m, v in zip(months, values, strict=True))
                     for name, values in series)
    parts = [f'<svg class="chart chart-line" viewBox="0 0 {WIDTH} {LINE_HEIGHT}" role="img" '
             f'aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{chart_id}-t">{escape(title)}</title>', f'<desc id="{chart_id}-d">{escape(desc)}</desc>']
    legend_x = left
    for k, (name, _values) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        parts.append(f'<rect x="{legend_x}" y="6" width="12" height="4" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 16}" y="12" font-size="11" fill="#374151">{escape(name)}</text>')
        legend_x += 24 + 12 * len(name) if any(ord(ch) > 0x2E80 for ch in name) else 24 + 6 * len(name)
    for tick in range(ticks + 1):
        value = step * tick
        gy = y(value)
        parts.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{_fmt(gy)}" y2="{_fmt(gy)}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 4}" y="{_fmt(gy + 4)}" font-size="10" fill="#6b7280" '
                     f'text-anchor="end">{value}</text>')
    for i, month in enumerate(months):
        year, _dash, mm = month.partition("-")
        parts.append(f'<text x="{_fmt(x(i))}" y="{LINE_HEIGHT - bottom + 14}" font-size="10" fill="#6b7280" '
                     f'text-anchor="middle">{escape(mm)}</text>')
        # the year under each January, and under the first month unless a January follows too closely
        if mm == "01" or (i == 0 and not any(m.endswith("-01") for m in months[1:3])):
            parts.append(f'<text x="{_fmt(x(i))}" y="{LINE_HEIGHT - bottom + 27}" font-size="10" fill="#374151" '
                         f'text-anchor="middle">{escape(year)}</text>')
    for k, (name, values) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(f"{_fmt(x(i))},{_fmt(y(v))}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
                     f'stroke-linejoin="round"/>')
        for i, v in enumerate(values):
            parts.append(f'<circle cx="{_fmt(x(i))}" cy="{_fmt(y(v))}" r="2.5" fill="{colour}">'
                         f'<title>{escape(name)} {escape(months[i])}: {v}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
