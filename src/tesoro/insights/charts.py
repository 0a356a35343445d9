"""Charts as self-contained SVG, drawn on the server: no JavaScript, no CDN, no web fonts.

Names on these charts (brands, competitors, handles, display names) come from
settings and, mostly, from other people's profiles, so every piece of text goes
through `svg_text`: characters XML 1.0 cannot carry are dropped (a NUL would make
the whole image unreadable), long labels are shortened, and `& < > " '` are
escaped. Numbers are formatted by this module, never taken as text from outside.
Colours keep the same meaning everywhere (green positive, grey neutral, red
negative) and the charts carry a <title> per mark, which browsers show on hover
and screen readers read.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tesoro.insights.kpis import Bucket, SeriesPoint, VoiceShare

__all__ = [
    "BarItem",
    "LinePoint",
    "bar_chart",
    "line_chart",
    "nice_ticks",
    "share_of_voice_chart",
    "svg_text",
    "volume_chart",
]

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_COLORS = {
    "positive": "#2e9d5b",
    "neutral": "#9aa0a6",
    "negative": "#d64541",
    "unscored": "#d5d9de",
    "bar": "#3b6fb6",
    "brand": "#e08a1e",
    "grid": "#e6e8eb",
    "axis": "#5f6368",
    "text": "#202124",
}


def svg_text(value: object, *, limit: int = 48) -> str:
    """Any value as text that is safe inside an SVG element or a quoted attribute."""
    text = _INVALID_XML.sub("", str(value))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: max(limit - 1, 1)] + "\u2026"
    return html.escape(text, quote=True)


def _num(value: float) -> str:
    """A coordinate: finite, short, never scientific notation."""
    if not math.isfinite(value):
        value = 0.0
    return f"{value:.1f}".rstrip("0").rstrip(".") or "0"


def _fmt(value: float) -> str:
    """A value for a label: 1234 -> 1.2k, 0.1234 -> 0.12."""
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if magnitude >= 10_000:
        return f"{value / 1_000:.0f}k"
    if magnitude >= 1_000:
        return f"{value / 1_000:.1f}k"
    if magnitude >= 10 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2f}"


@dataclass
class _Svg:
    width: int
    height: int
    title: str
    parts: list[str] = field(default_factory=list)

    def rect(self, x: float, y: float, w: float, h: float, fill: str, tip: str | None = None) -> None:
        tip_el = f"<title>{svg_text(tip, limit=200)}</title>" if tip else ""
        self.parts.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0))}" height="{_num(max(h, 0))}" '
            f'fill="{fill}">{tip_el}</rect>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str, width: float = 1) -> None:
        self.parts.append(
            f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
            f'stroke="{stroke}" stroke-width="{_num(width)}"/>'
        )

    def text(
        self,
        x: float,
        y: float,
        value: object,
        *,
        size: int = 11,
        anchor: str = "start",
        limit: int = 48,
        color: str = _COLORS["text"],
        bold: bool = False,
    ) -> None:
        weight = ' font-weight="600"' if bold else ""
        self.parts.append(
            f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{color}"{weight}>{svg_text(value, limit=limit)}</text>'
        )

    def polyline(self, points: Sequence[tuple[float, float]], stroke: str) -> None:
        if len(points) == 1:
            x, y = points[0]
            self.parts.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3" fill="{stroke}"/>')
            return
        coords = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
        self.parts.append(f'<polyline points="{coords}" fill="none" stroke="{stroke}" stroke-width="2"/>')

    def render(self) -> str:
        title = svg_text(self.title, limit=120)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
            f'viewBox="0 0 {self.width} {self.height}" role="img" aria-label="{title}" '
            f'font-family="{_FONT}">'
            f"<title>{title}</title>"
            f'<rect width="{self.width}" height="{self.height}" fill="#ffffff"/>'
            + "".join(self.parts)
            + "</svg>"
        )


def _empty(svg: _Svg, message: str = "No data for this window") -> str:
    svg.text(svg.width / 2, svg.height / 2, message, size=13, anchor="middle", color=_COLORS["axis"])
    return svg.render()


def _bucket_label(start: datetime, bucket: Bucket) -> str:
    if bucket == "month":
        return start.strftime("%b %Y")
    return start.strftime("%b %d")


def nice_ticks(lo: float, hi: float, count: int = 5) -> tuple[list[float], int]:
    """Round ticks covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten apart) and the decimals that
    write each one differently: 55 to 57 is "55, 55.5, 56, 56.5, 57", never "57, 57, 56, 56, 55"."""
    if not hi > lo:
        pad = 1.0 if lo == 0 else abs(lo) * 0.1
        lo, hi = lo - pad, hi + pad
    rough = (hi - lo) / max(count - 1, 1)
    magnitude = 10.0 ** math.floor(math.log10(rough))
    step = next((m * magnitude for m in (1.0, 2.0, 2.5, 5.0) if m * magnitude >= rough), 10 * magnitude)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    ticks = [0.0 if abs(n * step) < step / 1e6 else n * step for n in range(first, last + 1)]
    decimals = next((d for d in range(8) if abs(step * 10**d - round(step * 10**d)) < 1e-6), 8)
    return ticks, decimals


def _tick(value: float, decimals: int) -> str:
    """A tick label: thousands as k and millions as M (12k, 1.5M), else the value with `decimals`."""
    magnitude = abs(value)
    if magnitude >= 1_000_000 and value % 100_000 == 0:
        return f"{value / 1_000_000:g}M"
    if magnitude >= 10_000 and value % 1_000 == 0:
        return f"{value / 1_000:g}k"
    return f"{value:.{decimals}f}"


def _y_axis(
    svg: _Svg, *, left: float, right: float, top: float, bottom: float, lo: float, hi: float
) -> tuple[float, float]:
    """Grid lines and labels at round values from `lo` to `hi`; returns the axis' ends (rounded out)."""
    ticks, decimals = nice_ticks(lo, hi)
    lo, hi = ticks[0], ticks[-1]
    for value in ticks:
        y = bottom - (bottom - top) * (value - lo) / (hi - lo)
        svg.line(left, y, right, y, _COLORS["grid"])
        svg.text(left - 6, y + 4, _tick(value, decimals), size=10, anchor="end", color=_COLORS["axis"])
    return lo, hi


def volume_chart(points: Sequence[SeriesPoint], *, bucket: Bucket, title: str) -> str:
    """Mentions per bucket as stacked bars: positive, neutral, negative, not yet scored."""
    svg = _Svg(760, 300, title)
    svg.text(16, 22, title, size=14, bold=True, limit=80)
    if not points or all(p.posts == 0 for p in points):
        return _empty(svg)
    left, right, top, bottom = 56.0, 744.0, 40.0, 250.0
    peak = max(p.posts for p in points)
    _, hi = _y_axis(svg, left=left, right=right, top=top, bottom=bottom, lo=0.0, hi=float(max(peak, 4)))
    slot = (right - left) / len(points)
    width = max(slot * 0.8, 1.0)
    every = max(1, math.ceil(len(points) / 12))
    for i, point in enumerate(points):
        x = left + i * slot + (slot - width) / 2
        y = bottom
        s = point.sentiment
        label = _bucket_label(point.start, bucket)
        for name, count in (
            ("positive", s.positive),
            ("neutral", s.neutral),
            ("negative", s.negative),
            ("unscored", s.unscored),
        ):
            if count <= 0:
                continue
            h = (bottom - top) * count / hi
            y -= h
            svg.rect(x, y, width, h, _COLORS[name], f"{label}: {count} {name}")
        if i % every == 0:
            svg.text(x + width / 2, bottom + 16, label, size=10, anchor="middle", color=_COLORS["axis"])
    for j, name in enumerate(("positive", "neutral", "negative", "unscored")):
        lx = left + j * 110
        svg.rect(lx, 276, 10, 10, _COLORS[name])
        svg.text(lx + 14, 285, name, size=11)
    return svg.render()


@dataclass(frozen=True, slots=True)
class LinePoint:
    label: str
    value: float | None


def line_chart(
    points: Sequence[LinePoint], *, title: str, lo: float | None = None, hi: float | None = None
) -> str:
    """One series over time; a None value leaves a gap. `lo`/`hi` fix the axis (net sentiment: -1..1)."""
    svg = _Svg(760, 280, title)
    svg.text(16, 22, title, size=14, bold=True, limit=80)
    finite = [p for p in points if p.value is not None and math.isfinite(p.value)]
    values = [p.value for p in finite if p.value is not None]
    if not values:
        return _empty(svg)
    if len(finite) == 1:
        # One point is a value, not a lone dot on an axis of its own: the number, large, and its label.
        only = finite[0]
        assert only.value is not None
        svg.text(svg.width / 2, svg.height / 2, _fmt(only.value), size=40, anchor="middle", bold=True)
        svg.text(
            svg.width / 2,
            svg.height / 2 + 28,
            f"{only.label} (one point so far)",
            anchor="middle",
            color=_COLORS["axis"],
        )
        return svg.render()
    bottom_value = min(values) if lo is None else lo
    top_value = max(values) if hi is None else hi
    left, right, top, bottom = 56.0, 744.0, 40.0, 240.0
    bottom_value, top_value = _y_axis(
        svg, left=left, right=right, top=top, bottom=bottom, lo=bottom_value, hi=top_value
    )
    if bottom_value < 0 < top_value:
        zero = bottom - (bottom - top) * (0 - bottom_value) / (top_value - bottom_value)
        svg.line(left, zero, right, zero, _COLORS["axis"])
    step = (right - left) / max(len(points) - 1, 1)
    every = max(1, math.ceil(len(points) / 10))
    run: list[tuple[float, float]] = []
    for i, point in enumerate(points):
        x = left + i * step if len(points) > 1 else (left + right) / 2
        if i % every == 0 or i == len(points) - 1:
            svg.text(x, bottom + 16, point.label, size=10, anchor="middle", color=_COLORS["axis"])
        if point.value is None or not math.isfinite(point.value):
            if run:
                svg.polyline(run, _COLORS["bar"])
            run = []
            continue
        y = bottom - (bottom - top) * (point.value - bottom_value) / (top_value - bottom_value)
        run.append((x, y))
    if run:
        svg.polyline(run, _COLORS["bar"])
    return svg.render()


@dataclass(frozen=True, slots=True)
class BarItem:
    label: str
    value: float
    note: str = ""
    highlight: bool = False


def bar_chart(items: Sequence[BarItem], *, title: str, value_format: str = "number") -> str:
    """Horizontal bars with their labels (negative values extend left of the zero line)."""
    row = 26
    svg = _Svg(760, max(90, 56 + row * len(items)), title)
    svg.text(16, 22, title, size=14, bold=True, limit=80)
    if not items:
        return _empty(svg)
    label_w, left, right = 220.0, 236.0, 680.0
    lo = min(0.0, min(i.value for i in items))
    hi = max(0.0, max(i.value for i in items))
    if hi - lo < 1e-12:
        hi = lo + 1
    zero = left + (right - left) * (0 - lo) / (hi - lo)
    for n, item in enumerate(items):
        y = 40 + n * row
        svg.text(label_w, y + 15, item.label, anchor="end", limit=34)
        x_end = left + (right - left) * (item.value - lo) / (hi - lo)
        x, w = min(zero, x_end), abs(x_end - zero)
        color = _COLORS["brand"] if item.highlight else _COLORS["bar"]
        if item.value < 0:
            color = _COLORS["negative"]
        shown = f"{item.value * 100:.1f}%" if value_format == "percent" else _fmt(item.value)
        svg.rect(x, y + 4, w, row - 8, color, f"{item.label}: {shown}{' ' + item.note if item.note else ''}")
        svg.text(max(x_end, zero) + 6, y + 15, shown, size=10, color=_COLORS["axis"])
    svg.line(zero, 36, zero, 40 + row * len(items), _COLORS["axis"])
    return svg.render()


def share_of_voice_chart(shares: Sequence[VoiceShare], *, title: str) -> str:
    items = [
        BarItem(label=s.name, value=s.share or 0.0, note=f"({s.mentions} posts)", highlight=s.is_brand)
        for s in shares
    ]
    if all(s.mentions == 0 for s in shares):
        items = []
    return bar_chart(items, title=title, value_format="percent")
