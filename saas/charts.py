"""Charts for every module's statistics and the district's dashboard, drawn on the server as inline SVG.

Why SVG from the server and not a chart library in the browser (ECharts and the like): the page works with no
script at all (the CSP allows only our own scripts, and htmx is configured without eval), a grid worker's
phone downloads a few kilobytes instead of a library of a megabyte, the chart is in the HTML the tests and
the screen readers read, and a printed or saved page keeps it. What a script library adds (zoom, hover
tooltips, animation) is not what a district's monthly figures need; each point's figure is in its <title>.

Each chart is a `Chart`: an SVG with a `viewBox` 320 units wide that the page scales to its column (CSS
`width: 100%`, at most 36rem), so on a 375-pixel phone one unit is about one pixel and the labels, at 14
units, read as 14-pixel text or larger; every chart has a <title> and <desc>, and its figures follow as a
table (the fallback for a reader who cannot see the picture, folded under a "data" summary). Render it in a
template with `{{ chart }}`; `chart.svg` and `chart.table` are the parts. No request globals: titles and
labels come translated from the caller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup, escape

WIDTH = 320
FONT = 14  # the smallest text a chart draws, in units (about pixels on a phone)
BAR_ROW = 40  # a label line above a 14-unit bar
LINE_HEIGHT = 210
COLOURS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea")


@dataclass(frozen=True)
class Chart:
    """A chart with its figures: `svg` (inline, role img) and `table` (the same figures as a table)."""

    chart_id: str
    title: str
    svg: Markup
    table: Markup

    def __html__(self) -> str:
        summary = escape(_("The figures of this chart"))
        return (f'<figure class="chart-box" id="{escape(self.chart_id)}"><figcaption>{escape(self.title)}'
                f'</figcaption>{self.svg}<details class="chart-data"><summary>{summary}</summary>'
                f"{self.table}</details></figure>")

    def __str__(self) -> str:
        return self.__html__()


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


def _text_width(text: str) -> float:
    # a CJK character is about one em wide, a Latin letter or digit about half
    return sum(FONT if ord(ch) > 0x2E80 else FONT * 0.55 for ch in text)


def _short(text: str, room: float) -> str:
    if _text_width(text) <= room:
        return text
    while text and _text_width(text + "…") > room:
        text = text[:-1]
    return text + "…"


def _table(caption: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Markup:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    body = "".join("<tr>" + f'<th scope="row">{escape(row[0])}</th>'
                   + "".join(f"<td>{escape(v)}</td>" for v in row[1:]) + "</tr>" for row in rows)
    return Markup(f'<table class="chart-table" tabindex="0"><caption>{escape(caption)}</caption>'  # noqa: S704 - escaped
                  f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def _open(chart_id: str, kind: str, height: int, title: str, desc: str) -> list[str]:
    cid = escape(chart_id)
    return [f'<svg class="chart chart-{kind}" viewBox="0 0 {WIDTH} {height}" role="img" '
            f'aria-labelledby="{cid}-t {cid}-d" xmlns="http://www.w3.org/2000/svg" font-size="{FONT}">',
            f'<title id="{cid}-t">{escape(title)}</title>', f'<desc id="{cid}-d">{escape(desc)}</desc>']


def bar_chart(chart_id: str, title: str, rows: Sequence[tuple[str, int | float]], *, colour: str = COLOURS[0],
              limit: int = 12, more: str = "", value_label: str = "") -> Chart:
    """Horizontal bars, one per row (label above its bar, the value at its end), the largest `limit` rows;
    `more` is the line that says how many rows the chart leaves to the table, which holds them all."""
    shown = list(rows)[:limit]
    top = max((v for _label, v in shown), default=0) or 1
    room = WIDTH - 48
    height = max(len(shown), 1) * BAR_ROW + (FONT + 8 if len(rows) > limit and more else 4)
    parts = _open(chart_id, "bars", height, title, "; ".join(f"{label}: {v}" for label, v in shown))
    for i, (label, value) in enumerate(shown):
        y = i * BAR_ROW
        length = max(value / top * room, 1.5 if value else 0)
        parts.append(f'<text x="0" y="{y + FONT}" fill="#374151">{escape(_short(label, WIDTH))}</text>')
        parts.append(f'<rect x="0" y="{y + FONT + 6}" width="{room}" height="14" rx="2" fill="#f3f4f6"/>')
        parts.append(f'<rect x="0" y="{y + FONT + 6}" width="{_fmt(length)}" height="14" rx="2" fill="{colour}">'
                     f"<title>{escape(label)}: {escape(value)}</title></rect>")
        parts.append(f'<text x="{_fmt(room + 4)}" y="{y + FONT + 18}" fill="#111827">{escape(value)}</text>')
    if not shown:
        parts.append(f'<text x="0" y="{FONT + 2}" fill="#4b5563">0</text>')
    if len(rows) > limit and more:
        parts.append(f'<text x="0" y="{height - 6}" fill="#4b5563">{escape(more)}</text>')
    parts.append("</svg>")
    svg = Markup("".join(parts))  # noqa: S704 - every text above went through escape()
    table = _table(title, ["", value_label or title], [(label, value) for label, value in rows])
    return Chart(chart_id, title, svg, table)


def line_chart(chart_id: str, title: str, months: Sequence[str],
               series: Sequence[tuple[str, Sequence[int | float]]]) -> Chart:
    """One line per series over the months ("2026-11"), a legend above, month numbers below, years under them."""
    left, right, top, bottom = 34, 8, 30, 40
    plot_w, plot_h = WIDTH - left - right, LINE_HEIGHT - top - bottom
    step, ticks = _axis(math.ceil(max((v for _name, values in series for v in values), default=0)))
    peak = step * ticks
    n = len(months)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - v / peak * plot_h

    desc = "; ".join(f"{name}: " + ", ".join(f"{m} {v}" for m, v in zip(months, values, strict=True))
                     for name, values in series)
    parts = _open(chart_id, "line", LINE_HEIGHT, title, desc)
    legend_x: float = left
    for k, (name, _values) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        parts.append(f'<rect x="{_fmt(legend_x)}" y="8" width="14" height="5" fill="{colour}"/>')
        parts.append(f'<text x="{_fmt(legend_x + 18)}" y="16" fill="#374151">{escape(name)}</text>')
        legend_x += 30 + _text_width(name)
    for tick in range(ticks + 1):
        value = step * tick
        gy = y(value)
        parts.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{_fmt(gy)}" y2="{_fmt(gy)}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 4}" y="{_fmt(gy + 5)}" fill="#4b5563" text-anchor="end">{value}</text>')
    # month numbers under the axis, thinned so that 14-unit labels never overlap
    every = max(1, math.ceil(n * 22 / plot_w)) if n else 1
    for i, month in enumerate(months):
        year, _dash, mm = month.partition("-")
        if i % every == 0 or i == n - 1:
            parts.append(f'<text x="{_fmt(x(i))}" y="{LINE_HEIGHT - bottom + 17}" fill="#4b5563" '
                         f'text-anchor="middle">{escape(mm)}</text>')
        # the year under each January, and under the first month unless a January follows too closely
        if mm == "01" or (i == 0 and not any(m.endswith("-01") for m in months[1:4])):
            parts.append(f'<text x="{_fmt(x(i))}" y="{LINE_HEIGHT - bottom + 34}" fill="#374151" '
                         f'text-anchor="middle">{escape(year)}</text>')
    for k, (name, values) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(f"{_fmt(x(i))},{_fmt(y(v))}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2" '
                     f'stroke-linejoin="round"/>')
        for i, v in enumerate(values):
            parts.append(f'<circle cx="{_fmt(x(i))}" cy="{_fmt(y(v))}" r="3" fill="{colour}">'
                         f"<title>{escape(name)} {escape(months[i])}: {escape(v)}</title></circle>")
    parts.append("</svg>")
    svg = Markup("".join(parts))  # noqa: S704 - every text above went through escape()
    table = _table(title, ["", *(name for name, _v in series)],
                   [(month, *(values[i] for _n, values in series)) for i, month in enumerate(months)])
    return Chart(chart_id, title, svg, table)


__all__ = ["COLOURS", "FONT", "Chart", "bar_chart", "line_chart"]
