"""The SVG chart helper: well-formed, accessible, CSP-clean inline SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from ktt_market.core.charts import bar_chart, column_chart, line_chart

pytestmark = pytest.mark.core

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314  (markup we produced)


def check_clean(svg: str) -> ET.Element:
    assert "style=" not in svg and "<script" not in svg and "on" + "load" not in svg
    root = parse(svg)
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text and desc is not None
    # The labels point at the title and the description.
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return root


def test_bar_chart_has_a_bar_and_a_label_per_item():
    svg = bar_chart([("HTX", 12), ("THT", 3), ("QTDND", 0)], title="Units by kind")
    root = check_clean(svg)
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 3
    widths = [float(b.get("width")) for b in bars]
    assert widths[0] > widths[1] > widths[2] == 0
    texts = [t.text for t in root.findall(f"{SVG}text")]
    assert {"HTX", "THT", "QTDND", "12", "3", "0"} <= set(texts)
    assert root.find(f"{SVG}desc").text == "HTX: 12; THT: 3; QTDND: 0"


def test_labels_and_titles_are_escaped():
    svg = bar_chart([('<b>"A & B"</b>', 1)], title="<script>x</script>", desc="a & b")
    root = check_clean(svg)
    assert root.find(f"{SVG}title").text == "<script>x</script>"
    assert '<b>"A & B"</b>' in [t.text for t in root.findall(f"{SVG}text")]


def test_column_chart_and_custom_format():
    svg = column_chart([("01", 1500), ("02", 0), ("03", 3000)], title="Sales", fmt=lambda v: f"{int(v)} ₫")
    root = check_clean(svg)
    heights = [float(r.get("height")) for r in root.findall(f"{SVG}rect")]
    assert heights[2] == 2 * heights[0] and heights[1] == 0
    assert "3000 ₫" in [t.text for t in root.findall(f"{SVG}text")]


def test_line_chart_breaks_at_missing_values():
    svg = line_chart([("1", 4.0), ("2", 5.0), ("3", None), ("4", 3.0), ("5", 2.5)], title="Rating")
    root = check_clean(svg)
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 2
    assert len(root.findall(f"{SVG}circle")) == 4


def test_empty_charts_still_render():
    for chart in (bar_chart, column_chart, line_chart):
        check_clean(chart([], title="Nothing"))


def test_ids_differ_between_charts_on_one_page():
    ids = re.findall(r'<title id="([^"]+)"', bar_chart([("a", 1)], title="A") + bar_chart([("a", 1)], title="B"))
    assert len(set(ids)) == 2
