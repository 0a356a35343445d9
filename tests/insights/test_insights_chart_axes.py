"""The server's SVG charts read like charts: round y ticks, each written differently, and a series of
one point drawn as its value (the API's /api/charts/*.svg; the web UI draws its own in the browser)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tesoro.insights.charts import LinePoint, line_chart, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    return [node.text or "" for node in ET.fromstring(svg).iter(f"{SVG}text")]


def _y_labels(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [n.text or "" for n in root.iter(f"{SVG}text") if n.get("text-anchor") == "end"]


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (55.2, 57.1, ["55.0", "55.5", "56.0", "56.5", "57.0", "57.5"]),
        (0, 13, ["0", "5", "10", "15"]),
        (-1, 1, ["-1.0", "-0.5", "0.0", "0.5", "1.0"]),
        (0, 0.9, ["0.00", "0.25", "0.50", "0.75", "1.00"]),
        (42, 42, ["37.5", "40.0", "42.5", "45.0", "47.5"]),  # a flat series: 10 % either side
    ],
)
def test_ticks_are_round_and_each_is_written_differently(lo: float, hi: float, expected: list[str]) -> None:
    ticks, decimals = nice_ticks(lo, hi)
    labels = [f"{t:.{decimals}f}" for t in ticks]
    assert labels == expected
    assert ticks[0] <= lo and ticks[-1] >= hi


def test_a_narrow_ror_history_has_distinct_y_ticks() -> None:
    # What the issue saw: scores between 55 and 57 labelled "57, 57, 56, 56, 55".
    points = [LinePoint(f"Month {n}", v) for n, v in enumerate((55.3, 56.1, 56.8, 57.0))]
    labels = _y_labels(line_chart(points, title="ROR"))
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels


def test_a_one_point_series_is_its_value_not_a_lone_dot() -> None:
    svg = line_chart([LinePoint("Dec 2026", 36.2186)], title="ROR of Ana")
    root = ET.fromstring(svg)
    assert not list(root.iter(f"{SVG}circle")) and not list(root.iter(f"{SVG}polyline"))
    assert "36" in _texts(svg) and "Dec 2026 (one point so far)" in _texts(svg)
    assert _y_labels(svg) == []  # no axis for a single value


def test_gaps_still_split_the_line_and_the_axis_covers_every_value() -> None:
    points = [LinePoint("a", 1.0), LinePoint("b", None), LinePoint("c", 3.0), LinePoint("d", 4.0)]
    svg = line_chart(points, title="net")
    root = ET.fromstring(svg)
    assert len(list(root.iter(f"{SVG}circle"))) == 1  # "a" stands alone between its gaps
    assert len(list(root.iter(f"{SVG}polyline"))) == 1
    labels = [float(x) for x in _y_labels(svg)]
    assert labels[0] <= 1.0 and labels[-1] >= 4.0
