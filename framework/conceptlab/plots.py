"""Small SVG plots with axes, ticks and labels, for the report.

Why our own rather than a plotting library: the report is one HTML file that
must open offline, years later, with nothing beside it. JavaScript chart
libraries need a script the page would have to carry or fetch; matplotlib
would add a large dependency to the core and writes SVG with embedded glyph
paths and per-figure ids that bloat the page and collide when figures are
inlined side by side. The report needs four kinds of plot (lines, intervals
per row, horizontal bars and colour scales), each with a linear or log2 axis
carrying "nice" ticks (steps of 1, 2 or 5 times a power of ten); this module
draws exactly those as plain inline SVG, and nothing else.

Every function returns an ``<svg class="plot">`` element (no XML namespace:
HTML implies it) with a ``<title>`` for screen readers and a ``<title>`` on
each mark, so hovering a point shows its numbers.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "PALETTE",
    "ForestRow",
    "Scale",
    "bar_chart",
    "diverging_colour",
    "forest_plot",
    "line_chart",
    "nice_ticks",
    "sequential_colour",
]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
"""Series colours, cycled (the colour-blind-safe "tab10" order)."""

MARK = "#e6f4ea"
"""Background of a marked row (a concept that passed)."""

_TICK = 4  # tick length in pixels


def _e(value: object) -> str:
    return html.escape(str(value))


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{_e(text)}</text>'


def _svg(width: float, height: float, body: Sequence[str], title: str) -> str:
    return (f'<svg class="plot" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
            f'height="{height:.0f}" role="img"><title>{_e(title)}</title>{"".join(body)}</svg>')


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round values covering ``[lo, hi]``: multiples of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise ValueError(f"nice_ticks: bad range [{lo}, {hi}]")
    if hi == lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    while (value := (first + len(ticks)) * step) <= hi + 1e-9 * step:
        ticks.append(round(value, 12) + 0.0)  # + 0.0 turns -0.0 into 0.0
    return ticks


def _tick_label(value: float) -> str:
    return f"{value:.4g}"


def _integer_label(value: float) -> str:
    """A tick label for counts and iterations: whole numbers only (other ticks stay unlabelled)."""
    return f"{value:.0f}" if float(value).is_integer() else ""


@dataclass(frozen=True)
class Scale:
    """A data range mapped onto a pixel range, linear or in log2 (for sizes that double)."""

    lo: float
    """Smallest data value shown."""
    hi: float
    """Largest data value shown (greater than ``lo``)."""
    start: float
    """Pixel of ``lo``."""
    end: float
    """Pixel of ``hi`` (below ``start`` for a vertical axis, whose pixels grow downwards)."""
    log2: bool = False
    """Whether values are placed by their base-2 logarithm (all must then be positive)."""

    @classmethod
    def covering(cls, values: Sequence[float], start: float, end: float, *, log2: bool = False,
                 include: Sequence[float] = (), pad: float = 0.05) -> Scale:
        """A scale over ``values`` (and ``include``), widened by ``pad`` of the range on each side.

        A linear scale is then extended to its outer nice ticks, so the axis
        starts and ends on a labelled value.
        """
        data = [float(v) for v in (*values, *include) if math.isfinite(v) and (v > 0 or not log2)]
        if not data:
            data = [1.0] if log2 else [0.0]
        lo, hi = min(data), max(data)
        if log2:
            return cls(lo, hi if hi > lo else lo * 2, start, end, log2=True)
        if hi == lo:
            lo, hi = lo - 0.5, hi + 0.5
        span = hi - lo
        lo, hi = lo - pad * span, hi + pad * span
        ticks = nice_ticks(lo, hi)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else hi - lo
        return cls(math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step, start, end)

    def _t(self, value: float) -> float:
        return math.log2(value) if self.log2 else value

    def __call__(self, value: float) -> float:
        """The pixel of ``value``."""
        t0, t1 = self._t(self.lo), self._t(self.hi)
        return self.start + (self.end - self.start) * (self._t(value) - t0) / (t1 - t0)

    def ticks(self, count: int = 5) -> list[float]:
        """Labelled values: nice ticks (linear) or the powers of two in range (log2, thinned to ``count``+)."""
        if not self.log2:
            return [t for t in nice_ticks(self.lo, self.hi, count) if self.lo - 1e-9 <= t <= self.hi + 1e-9]
        first, last = math.ceil(math.log2(self.lo) - 1e-9), math.floor(math.log2(self.hi) + 1e-9)
        powers = [2.0 ** k for k in range(first, last + 1)]
        stride = max(1, math.ceil(len(powers) / (2 * count)))
        return powers[::stride]


def _x_axis(scale: Scale, y: float, label: str, grid_to: float | None = None,
            fmt: Callable[[float], str] = _tick_label, on_top: bool = False) -> list[str]:
    """A horizontal axis at pixel row ``y``: line, ticks with labels, the axis label; grid lines up to ``grid_to``.

    With ``on_top`` the ticks and labels sit above the line (an axis heading a
    long plot) and the label is left to the caller.
    """
    sign = -1 if on_top else 1
    body = [f'<line class="axis" x1="{scale.start:.1f}" y1="{y:.1f}" x2="{scale.end:.1f}" y2="{y:.1f}" stroke="#444"/>']
    for tick in scale.ticks():
        x = scale(tick)
        if grid_to is not None:
            body.append(f'<line x1="{x:.1f}" y1="{grid_to:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        body += [f'<line class="tick" x1="{x:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y + sign * _TICK:.1f}" '
                 'stroke="#444"/>',
                 _text(x, y + (_TICK + 11 if not on_top else -_TICK - 3), fmt(tick), "middle", ' class="tick-label"')]
    if not on_top:
        body.append(_text((scale.start + scale.end) / 2, y + _TICK + 27, label, "middle", ' class="axis-label"'))
    return body


def _y_axis(scale: Scale, x: float, label: str, grid_to: float | None = None) -> list[str]:
    """A vertical axis at pixel column ``x``, its label written upwards; grid lines across to ``grid_to``."""
    body = [f'<line class="axis" x1="{x:.1f}" y1="{scale.start:.1f}" x2="{x:.1f}" y2="{scale.end:.1f}" stroke="#444"/>']
    for tick in scale.ticks():
        y = scale(tick)
        if grid_to is not None:
            body.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{grid_to:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        body += [f'<line class="tick" x1="{x - _TICK:.1f}" y1="{y:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="#444"/>',
                 _text(x - _TICK - 3, y + 4, _tick_label(tick), "end", ' class="tick-label"')]
    middle = (scale.start + scale.end) / 2
    body.append(_text(14, middle, label, "middle", f' class="axis-label" transform="rotate(-90 14 {middle:.1f})"'))
    return body


def _legend(names: Sequence[str], x: float, y: float, width: float) -> tuple[list[str], float, float]:
    """Legend entries from ``(x, y)`` (a text baseline), wrapped onto rows ``width`` pixels wide.

    Returns the marks, the baseline of the last row and the width that row
    uses (where a caller may append an entry of its own).
    """
    body, at = [], x
    for j, name in enumerate(names):
        size = 24 + 6.5 * len(name)
        if at > x and at + size > x + width:
            at, y = x, y + 16
        body += [f'<rect x="{at:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>',
                 _text(at + 14, y, name)]
        at += size
    return body, y, at - x


def line_chart(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], x_label: str, y_label: str,
               title: str, *, log2_x: bool = False, integer_x: bool = False) -> str:
    """Lines of ``(name, xs, ys)`` series over shared axes, legend on top; ``""`` when nothing is finite.

    A dashed line marks zero when the y range spans it. With ``integer_x`` the
    x ticks are whole numbers only (iterations, steps).
    """
    pts = [(x, y) for _, xs, ys in series for x, y in zip(xs, ys, strict=False)
           if math.isfinite(x) and math.isfinite(y) and (x > 0 or not log2_x)]
    if not pts:
        return ""
    left, width, height = 64, 420, 190
    body, last, _ = _legend([name for name, _, _ in series], left, 14, width)
    top = last + 16
    sx = Scale.covering([x for x, _ in pts], left, left + width, log2=log2_x, pad=0.0 if log2_x else 0.02)
    sy = Scale.covering([y for _, y in pts], top + height, top)
    fmt: Callable[[float], str] = _integer_label if integer_x else _tick_label
    body += _y_axis(sy, left, y_label, grid_to=left + width)
    body += _x_axis(sx, top + height, x_label, fmt=fmt)
    if sy.lo < 0 < sy.hi:
        body.append(f'<line x1="{left}" y1="{sy(0):.1f}" x2="{left + width}" y2="{sy(0):.1f}" stroke="#888" '
                    'stroke-dasharray="3 3"/>')
    for j, (name, xs, ys) in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        kept = [(x, y) for x, y in zip(xs, ys, strict=False)
                if math.isfinite(x) and math.isfinite(y) and (x > 0 or not log2_x)]
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                    + " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in kept) + '"/>')
        body += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"><title>'
                 f"{_e(f'{name}: {x:g}, {y:.4g}')}</title></circle>" for x, y in kept]
    return _svg(left + width + 20, top + height + 40, body, title)


@dataclass(frozen=True)
class ForestRow:
    """One row of a forest plot: a label and, per series, an estimate with its interval (or ``None``)."""

    label: str
    """Row label (a concept id)."""
    estimates: Sequence[tuple[float, float, float] | None]
    """Per series, ``(estimate, low, high)``, or ``None`` where the series has no value."""
    marked: bool = False
    """Whether the row is highlighted (and prefixed with a check mark): it passed."""
    colour: str | None = field(default=None)
    """Colour of this row's marks, overriding the series colours (rows that are groups of their own)."""


def forest_plot(rows: Sequence[ForestRow], series: Sequence[str], x_label: str, title: str, *,
                reference: float | None = 0.0, x_range: tuple[float, float] | None = None,
                fmt: Callable[[float], str] = lambda v: f"{v:+.3f}", mark_note: str = "passed") -> str:
    """Each row's estimates with intervals (dot and whisker), legend and axis on top.

    ``reference`` draws a dashed vertical line (no effect); ``x_range`` fixes
    the axis (rates on ``(0, 1)``). Marked rows get a tinted band and a check
    mark, explained in the legend as ``mark_note``.
    """
    values = [v for row in rows for est in row.estimates if est for v in est]
    left, width, step = 240, 440, 13 * len(series) + 7
    names = list(series) if len(series) > 1 or any(r.colour is None for r in rows) else []
    marked = any(r.marked for r in rows)
    legend, last, used = _legend(names, left, 14, width)
    if marked and used + 30 + 6.5 * len(mark_note) > width:
        last, used = last + 16, 0.0
    axis_y = last + 38 if names or marked else 30
    if x_range is not None:
        sx = Scale(x_range[0], x_range[1], left, left + width)
    else:
        sx = Scale.covering(values, left, left + width, include=[] if reference is None else [reference])
    height = axis_y + 8 + step * len(rows)
    body: list[str] = []
    for i, row in enumerate(rows):
        if row.marked:
            body.append(f'<rect x="0" y="{axis_y + 5 + step * i}" width="{left + width}" height="{step - 1}" '
                        f'fill="{MARK}"/>')
    body += legend
    if marked:
        body += [f'<rect x="{left + used:.1f}" y="{last - 9}" width="14" height="12" fill="{MARK}" stroke="#9c9"/>',
                 _text(left + used + 18, last, f"\u2713 {mark_note}")]
    body += _x_axis(sx, axis_y, x_label, grid_to=height, fmt=fmt, on_top=True)
    body.append(_text(left + width + 6, axis_y + 4, x_label, "start", ' class="axis-label"'))
    if reference is not None and sx.lo <= reference <= sx.hi:
        body.append(f'<line x1="{sx(reference):.1f}" y1="{axis_y}" x2="{sx(reference):.1f}" y2="{height}" '
                    'stroke="#888" stroke-dasharray="3 3"/>')
    for i, row in enumerate(rows):
        y0 = axis_y + 8 + step * i
        label = ("\u2713 " if row.marked else "") + row.label
        body.append(_text(left - 8, y0 + 8 + 6.5 * (len(series) - 1), label, "end",
                          ' font-weight="bold"' if row.marked else ""))
        for j, est in enumerate(row.estimates):
            if est is None:
                continue
            y, colour = y0 + 6 + 13 * j, row.colour or PALETTE[j % len(PALETTE)]
            lo, hi = (min(max(v, sx.lo), sx.hi) for v in (est[1], est[2]))
            body += [f'<line x1="{sx(lo):.1f}" y1="{y}" x2="{sx(hi):.1f}" y2="{y}" stroke="{colour}" '
                     'stroke-width="2"/>',
                     f'<circle cx="{sx(est[0]):.1f}" cy="{y}" r="4" fill="{colour}"><title>'
                     f"{_e(f'{row.label}: {series[j]} {fmt(est[0])} [{fmt(est[1])}, {fmt(est[2])}]')}"
                     "</title></circle>"]
    return _svg(left + width + 16 + 6.5 * len(x_label), height + 6, body, title)


def bar_chart(bars: Sequence[tuple[str, float]], x_label: str, title: str) -> str:
    """Horizontal bars, one per ``(label, value)`` in the given order, each labelled with its value."""
    left, width, step = 200, 380, 26
    top = 8
    sx = Scale.covering([v for _, v in bars], left, left + width, include=[0.0], pad=0.0)
    sx = Scale(0.0, max(sx.hi, 1.0), left, left + width)
    axis = top + step * len(bars) + 2
    counts = all(float(v).is_integer() for _, v in bars)
    body = _x_axis(sx, axis, x_label, grid_to=top, fmt=_integer_label if counts else _tick_label)
    for i, (label, value) in enumerate(bars):
        y = top + step * i
        body += [_text(left - 8, y + 14, label, "end"),
                 f'<rect x="{left}" y="{y}" width="{sx(value) - left:.1f}" height="19" fill="{PALETTE[0]}"/>',
                 _text(sx(value) + 5, y + 14, f"{value:g}", extra=' class="value"')]
    return _svg(left + width + 50, axis + 40, body, title)


def sequential_colour(t: float) -> str:
    """White (``t <= 0``) to dark blue (``t >= 1``), as ``#rrggbb``."""
    t = min(1.0, max(0.0, t)) if math.isfinite(t) else 0.0
    rgb = [round(255 + (end - 255) * t) for end in (33, 102, 172)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def diverging_colour(t: float) -> str:
    """Red (``t <= -1``) through white (0) to blue (``t >= 1``), as ``#rrggbb``: for values against a baseline."""
    t = min(1.0, max(-1.0, t)) if math.isfinite(t) else 0.0
    end = (33, 102, 172) if t >= 0 else (178, 24, 43)
    rgb = [round(255 + (e - 255) * abs(t)) for e in end]
    return "#{:02x}{:02x}{:02x}".format(*rgb)
