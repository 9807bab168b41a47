"""Small accessible charts drawn as inline SVG on the server.

The Content-Security-Policy forbids inline scripts and style attributes, so the charts use
presentation attributes only (fill, stroke, font-size). Every chart carries role="img", a
<title> and a <desc>; pages follow each chart with a table of the same figures.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart", "column_chart", "line_chart"]

# Dark enough on white for text and bars (contrast over 4.5:1).
BAR = "#1f6f43"
AXIS = "#4a4a4a"
TEXT = "#1a1a1a"
GRID = "#d0d5d2"
FONT = "system-ui, sans-serif"

_ids = itertools.count(1)
Formatter = Callable[[float], str]


def _fmt(value: float) -> str:
    return f"{int(value):,}".replace(",", ".") if float(value).is_integer() else f"{value:.1f}"


def _num(value: float) -> str:
    """Coordinates with at most one decimal, so the markup stays short."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _clip(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _open(width: int, height: int, title: str, desc: str) -> list[str]:
    n = next(_ids)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-labelledby="chart{n}-t chart{n}-d" '
        f'font-family="{FONT}" font-size="12" fill="{TEXT}">',
        f'<title id="chart{n}-t">{escape(title)}</title>',
        f'<desc id="chart{n}-d">{escape(desc)}</desc>',
    ]


def _describe(items: Sequence[tuple[str, float]], fmt: Formatter) -> str:
    return "; ".join(f"{label}: {fmt(value)}" for label, value in items)


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    desc: str | None = None,
    fmt: Formatter = _fmt,
    width: int = 560,
) -> Markup:
    """Render horizontal bars, one per (label, value), labels on the left and values at the bar's end."""
    row, label_w, value_w, top = 24, 170, 90, 6
    height = top * 2 + row * max(len(items), 1)
    peak = max((v for _, v in items), default=0) or 1
    span = width - label_w - value_w
    out = _open(width, height, title, desc or _describe(items, fmt))
    for i, (label, value) in enumerate(items):
        y = top + i * row
        bar = max(span * value / peak, 0)
        out.append(
            f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end">{escape(_clip(str(label), 26))}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{_num(bar)}" height="{row - 8}" fill="{BAR}"/>'
            f'<text x="{_num(label_w + bar + 4)}" y="{y + 16}">{escape(fmt(value))}</text>'
        )
    out.append(f'<line x1="{label_w}" y1="{top}" x2="{label_w}" y2="{height - top}" stroke="{AXIS}"/>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text in it went through escape)


def column_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    desc: str | None = None,
    fmt: Formatter = _fmt,
    width: int = 560,
    height: int = 220,
) -> Markup:
    """Render vertical columns, one per (label, value), the peak value marked on the axis."""
    left, bottom, top = 10, 34, 22
    plot_h = height - bottom - top
    peak = max((v for _, v in items), default=0) or 1
    slot = (width - left * 2) / max(len(items), 1)
    out = _open(width, height, title, desc or _describe(items, fmt))
    base = height - bottom
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - left}" y2="{base}" stroke="{AXIS}"/>')
    for i, (label, value) in enumerate(items):
        h = max(plot_h * value / peak, 0)
        x = left + i * slot
        mid = x + slot / 2
        out.append(
            f'<rect x="{_num(x + slot * 0.15)}" y="{_num(base - h)}" width="{_num(slot * 0.7)}" '
            f'height="{_num(h)}" fill="{BAR}"/>'
            f'<text x="{_num(mid)}" y="{base + 16}" text-anchor="middle">{escape(_clip(str(label), 10))}</text>'
        )
        if value:
            out.append(
                f'<text x="{_num(mid)}" y="{_num(base - h - 4)}" text-anchor="middle" font-size="10">'
                f"{escape(fmt(value))}</text>"
            )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text in it went through escape)


def line_chart(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    desc: str | None = None,
    fmt: Formatter = _fmt,
    width: int = 560,
    height: int = 200,
    floor: float = 0,
    ceiling: float | None = None,
) -> Markup:
    """Render a line through (label, value) points on [floor, ceiling]; a None value breaks the line there."""
    left, right, bottom, top = 40, 16, 30, 16
    plot_w, plot_h = width - left - right, height - bottom - top
    values = [v for _, v in points if v is not None]
    peak = ceiling if ceiling is not None else max(values, default=floor + 1)
    span = (peak - floor) or 1
    step = plot_w / max(len(points) - 1, 1)
    base = height - bottom
    described = [(label, v) for label, v in points if v is not None]
    out = _open(width, height, title, desc or _describe(described, fmt))
    out.append(
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="{AXIS}"/>'
        f'<line x1="{left}" y1="{top}" x2="{width - right}" y2="{top}" stroke="{GRID}"/>'
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{escape(fmt(peak))}</text>'
        f'<text x="{left - 4}" y="{base + 4}" text-anchor="end">{escape(fmt(floor))}</text>'
    )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, (label, value) in enumerate(points):
        x = left + i * step
        out.append(f'<text x="{_num(x)}" y="{base + 18}" text-anchor="middle">{escape(_clip(str(label), 8))}</text>')
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        y = base - plot_h * (value - floor) / span
        segment.append(f"{_num(x)},{_num(y)}")
        out.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3" fill="{BAR}"/>')
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text in it went through escape)
