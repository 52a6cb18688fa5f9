"""The report's SVG plots: nice ticks, scales, and what each kind of plot draws."""

from __future__ import annotations

import re

import pytest

from conceptlab.plots import (
    ForestRow,
    Scale,
    bar_chart,
    diverging_colour,
    forest_plot,
    line_chart,
    nice_ticks,
    sequential_colour,
)


def _labels(svg: str, anchor: str) -> list[str]:
    return re.findall(rf'text-anchor="{anchor}" class="tick-label">([^<]*)</text>', svg)


def _well_formed(svg: str) -> None:
    """Every element that is not self-closing is closed."""
    opened = re.findall(r"<(\w+)[^>]*(?<!/)>", svg)
    closed = re.findall(r"</(\w+)>", svg)
    assert sorted(opened) == sorted(closed)


@pytest.mark.parametrize(("lo", "hi", "expected"), [
    (0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (-0.3, 0.7, [-0.2, 0.0, 0.2, 0.4, 0.6]),
    (0.0, 96.0, [0.0, 20.0, 40.0, 60.0, 80.0]),
    (1.67, 1.75, [1.68, 1.7, 1.72, 1.74]),
    (3.0, 3.0, [3.0]),
])
def test_nice_ticks_are_round_and_inside_the_range(lo: float, hi: float, expected: list[float]) -> None:
    assert nice_ticks(lo, hi) == pytest.approx(expected)


def test_a_bad_range_is_refused_by_its_bounds() -> None:
    with pytest.raises(ValueError, match=r"bad range \[1.0, 0.0\]"):
        nice_ticks(1.0, 0.0)


def test_a_linear_scale_ends_on_ticks_and_a_log2_scale_ticks_powers_of_two() -> None:
    linear = Scale.covering([-0.375, 0.6875], 100, 500, include=[0.0])
    assert (linear.lo, linear.hi) == (-0.5, 1.0)
    assert linear(-0.5) == 100 and linear(1.0) == 500 and linear(0.25) == 300
    log = Scale.covering([1, 4, 512], 0, 90, log2=True)
    assert log.ticks() == [2.0 ** k for k in range(10)]
    assert log(1) == 0 and log(512) == 90 and log(8) == 30
    vertical = Scale(0.0, 2.0, 200, 0)  # pixels grow downwards
    assert vertical(0.5) == 150


def test_a_line_chart_has_both_axes_a_legend_and_every_point() -> None:
    svg = line_chart([("policy", [1, 2, 3], [2.0, 1.5, 1.25]), ("value", [1, 2, 3], [0.5, 0.25, 0.2])],
                     "iteration", "loss", "losses", integer_x=True)
    assert [t for t in _labels(svg, "middle") if t] == ["1", "2", "3"]
    assert _labels(svg, "end") == ["0", "0.5", "1", "1.5", "2", "2.5"]
    assert svg.count("<polyline") == 2 and svg.count("<circle") == 6
    assert ">iteration</text>" in svg and ">loss</text>" in svg and "<title>losses</title>" in svg
    assert "policy: 2, 1.5</title>" in svg
    _well_formed(svg)
    assert line_chart([("empty", [1.0], [float("nan")])], "x", "y", "t") == ""


def test_a_forest_plot_puts_legend_and_axis_on_top_and_marks_rows() -> None:
    rows = [ForestRow("a", [(0.25, 0.125, 0.375), None], marked=True), ForestRow("b", [None, (-0.5, -0.75, 0.25)])]
    svg = forest_plot(rows, ("first", "second"), "effect", "effects", mark_note="teachable")
    assert svg.index(">first</text>") < svg.index('class="axis"') < svg.index(">\u2713 a</text>")
    assert _labels(svg, "middle") == ["-1.000", "-0.500", "+0.000", "+0.500"]
    assert "a: first +0.250 [+0.125, +0.375]" in svg and "b: second -0.500 [-0.750, +0.250]" in svg
    assert 'stroke-dasharray="3 3"' in svg  # the zero line
    assert svg.count('fill="#e6f4ea"') == 2  # the legend swatch and row a's band
    _well_formed(svg)


def test_rates_on_a_fixed_axis_take_each_rows_colour() -> None:
    rows = [ForestRow("mined", [(0.5, 0.25, 0.75)], colour="#000001"),
            ForestRow("null", [(0.0, 0.0, 0.5)], colour="#000002")]
    svg = forest_plot(rows, ["share"], "share", "rates", reference=None, x_range=(0.0, 1.0), fmt=lambda v: f"{v:.0%}")
    assert _labels(svg, "middle") == ["0%", "20%", "40%", "60%", "80%", "100%"]
    assert 'fill="#000001"' in svg and 'fill="#000002"' in svg and "dasharray" not in svg


def test_a_bar_chart_labels_counts_with_whole_ticks() -> None:
    svg = bar_chart([("candidates", 96), ("teachable", 2), ("exported", 0)], "concepts", "funnel")
    assert re.findall(r'class="value">([^<]*)</text>', svg) == ["96", "2", "0"]
    assert _labels(svg, "middle") == ["0", "20", "40", "60", "80", "100"]
    widths = [float(w) for w in re.findall(r'<rect x="200" y="\d+" width="([\d.]+)"', svg)]
    assert widths == [pytest.approx(380 * 0.96), pytest.approx(380 * 0.02), 0.0]


def test_colour_scales_end_where_documented() -> None:
    assert sequential_colour(0.0) == "#ffffff" and sequential_colour(1.0) == "#2166ac"
    assert sequential_colour(-3.0) == "#ffffff" and sequential_colour(float("nan")) == "#ffffff"
    assert diverging_colour(0.0) == "#ffffff" and diverging_colour(1.0) == "#2166ac"
    assert diverging_colour(-1.0) == "#b2182b" and diverging_colour(-5.0) == "#b2182b"


def test_a_long_legend_wraps_inside_the_plot_and_pushes_the_axes_down() -> None:
    names = [f"c{i:04d}-p{i:03d}-block5-active-all" for i in range(6)]
    svg = line_chart([(name, [1, 2], [0.0, float(i)]) for i, name in enumerate(names)], "k", "score", "many")
    width = float(re.search(r'width="(\d+)"', svg).group(1))
    swatches = [(float(x), float(y)) for x, y in re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="10"', svg)]
    assert len(swatches) == 6 and len({y for _, y in swatches}) == 3  # two names a row
    assert all(x + 24 + 6.5 * len(names[0]) <= width for x, _ in swatches)
    top_tick = min(float(y) for y in re.findall(r'<line class="tick" x1="[\d.]+" y1="([\d.]+)"', svg))
    assert top_tick > max(y for _, y in swatches) + 10  # the plot starts below the legend
