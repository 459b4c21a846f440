"""The kernel's charts (`saas.charts`): valid SVG, labelled for screen readers, text of at least 14 units,
the figures as a table fallback, hostile labels escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from saas.charts import FONT, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - the markup is our own


def font_sizes(svg: ET.Element) -> list[float]:
    inherited = float(svg.get("font-size", "0"))
    return [float(t.get("font-size", inherited)) for t in svg.iter(f"{SVG}text")]


@pytest.fixture
def ctx(app):
    with app.test_request_context("/"):
        yield


def test_bar_chart_is_valid_labelled_svg_with_its_table(ctx):
    rows = [(f"{i}号网格", 10 - i) for i in range(15)]
    chart = bar_chart("chart-grid", "按网格 · 上报", rows, limit=12, more="下表列出全部。", value_label="上报")
    svg = parse(chart.svg)
    assert svg.tag == f"{SVG}svg"
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "chart-grid-t chart-grid-d"
    assert svg.find(f"{SVG}title").text == "按网格 · 上报"
    assert "0号网格: 10" in svg.find(f"{SVG}desc").text
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert "0号网格" in labels
    assert "11号网格" in labels
    assert "12号网格" not in labels  # beyond the limit: in the table only
    assert "下表列出全部。" in labels
    assert min(font_sizes(svg)) >= FONT >= 14
    table = parse(chart.table)
    assert [th.text for th in table.iter("th")][:2] == [None, "上报"]
    assert len(table.find("tbody")) == 15  # every row, also those the picture leaves out
    assert table.find("caption").text == "按网格 · 上报"
    assert table.get("tabindex") == "0"  # it scrolls sideways on a phone: the keyboard must reach it
    page = str(chart)
    assert page.startswith('<figure class="chart-box" id="chart-grid">')
    parse(page)  # the whole figure is well-formed markup too


def test_line_chart_has_every_month_in_its_table_and_large_labels(ctx):
    months = [f"2026-{m:02d}" for m in range(1, 13)] + ["2027-01"]
    chart = line_chart("chart-months", "每月上报与结案", months,
                       [("上报", list(range(13))), ("结案", [0] * 13)])
    svg = parse(chart.svg)
    assert min(font_sizes(svg)) >= 14
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert "2026" in labels
    assert "2027" in labels
    assert len(list(svg.iter(f"{SVG}polyline"))) == 2
    assert len(list(svg.iter(f"{SVG}circle"))) == 26
    rows = parse(chart.table).find("tbody")
    assert [r[0].text for r in rows] == months
    assert [c.text for c in rows[12]] == ["2027-01", "12", "0"]


def test_hostile_labels_are_escaped(ctx):
    evil = '<script>alert(1)</script>"&'
    chart = bar_chart("c1", evil, [(evil, 3)])
    markup = str(chart)
    assert "<script" not in markup
    svg = parse(chart.svg)
    assert svg.find(f"{SVG}title").text == evil


def test_an_empty_chart_still_renders(ctx):
    svg = parse(bar_chart("c2", "空", []).svg)
    assert [t.text for t in svg.iter(f"{SVG}text")] == ["0"]
    line = parse(line_chart("c3", "空", [], []).svg)
    assert line.tag == f"{SVG}svg"
