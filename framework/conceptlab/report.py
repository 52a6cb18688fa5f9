"""The HTML report of a run: one self-contained page (no external scripts, styles or fonts).

It shows the spec and each stage's figures and timings; the funnel from mined
candidates to exported concepts; every candidate with its filter numbers and
reasons; plots of the teachability effects (with their confidence intervals,
against both controls) and of the novelty scores over the basis sizes; for
each exported concept, boards drawn by the domain with the agent's chosen move
against the rejected ones, its numbers and its amplification curve; and, when
the run has a ``probe`` stage, the known-concept accuracy table and the probing
heatmaps. Plots are inline SVG; every number shown comes from the run's artifacts.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conceptlab.errors import ConceptlabError, RunDirError
from conceptlab.plugins import Registry
from conceptlab.rundir import atomic_write_bytes, read_json
from conceptlab.spec import STAGES, resolve_spec, spec_from_dict

__all__ = ["render_report", "write_report"]

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;
color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;
text-align:left;vertical-align:top;font-size:.9rem}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#176f2c;font-weight:600}.fail{color:#a12020}.boards{display:flex;flex-wrap:wrap;gap:1rem}
.board{max-width:260px}.board svg{width:100%;height:auto}pre{background:#f7f7f7;padding:.75rem;
overflow-x:auto;font-size:.8rem}code{font-size:.85rem}.absent{color:#666;font-style:italic}
svg.plot{font-family:inherit;font-size:11px;max-width:100%;height:auto}
"""

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
"""Series colours of the plots, cycled."""

_XMLNS = re.compile(r'\sxmlns(?::\w+)?="[^"]*"')


def _e(value: Any) -> str:
    return html.escape(str(value))


def _f(value: Any, digits: int = 3) -> str:
    """A number for a table cell (``-`` for missing or not finite)."""
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _read(path: Path, default: Any) -> Any:
    return read_json(path) if path.exists() else default


def _inline_svg(svg: str) -> str:
    """A domain's SVG for inlining in HTML: namespace declarations dropped (HTML implies them)."""
    return _XMLNS.sub("", svg)


# -- plots --------------------------------------------------------------------------------------
def _cell_colour(value: Any) -> str:
    """A ``style`` for a heatmap cell: white (0 or below) to dark blue (1 or above)."""
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return ""
    t = min(1.0, max(0.0, float(value)))
    rgb = [round(255 + (end - 255) * t) for end in (33, 102, 172)]
    text = "#fff" if t > 0.55 else "#222"
    return f' style="background:#{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x};color:{text}"'


def _svg(width: int, height: int, body: Sequence[str], title: str) -> str:
    return (f'<svg class="plot" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img"><title>{_e(title)}</title>{"".join(body)}</svg>')


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{_e(text)}</text>'


def _funnel_svg(steps: Sequence[tuple[str, int]]) -> str:
    """Horizontal bars, one per step, longest first."""
    top = max((n for _, n in steps), default=0) or 1
    body = []
    for i, (label, count) in enumerate(steps):
        y = 10 + 28 * i
        width = 360 * count / top
        body += [_text(190, y + 15, label, "end"),
                 f'<rect x="200" y="{y}" width="{width:.1f}" height="20" fill="{PALETTE[0]}"/>',
                 _text(206 + width, y + 15, str(count))]
    return _svg(620, 20 + 28 * len(steps), body, "concepts kept at each step")


def _forest_svg(rows: Sequence[tuple[str, Sequence[tuple[float, float, float] | None]]],
                series: Sequence[str], title: str) -> str:
    """Per row, each series' estimate with its interval (a dot and a whisker), with a zero line."""
    values = [v for _, ests in rows for est in ests if est for v in est] + [0.0]
    lo, hi = min(values), max(values)
    pad = 0.05 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    left, width, step = 250, 420, 14 * len(series) + 8

    def x(v: float) -> float:
        return left + width * (v - lo) / (hi - lo)

    height = 30 + step * len(rows) + 16 * len(series)
    body = [f'<line x1="{x(0):.1f}" y1="8" x2="{x(0):.1f}" y2="{20 + step * len(rows)}" '
            'stroke="#888" stroke-dasharray="3 3"/>']
    for i, (label, ests) in enumerate(rows):
        y0 = 14 + step * i
        body.append(_text(left - 8, y0 + 4 + 7 * (len(series) - 1), label, "end"))
        for j, est in enumerate(ests):
            if est is None:
                continue
            y, colour = y0 + 14 * j, PALETTE[j % len(PALETTE)]
            body += [f'<line x1="{x(est[1]):.1f}" y1="{y}" x2="{x(est[2]):.1f}" y2="{y}" '
                     f'stroke="{colour}" stroke-width="2"/>',
                     f'<circle cx="{x(est[0]):.1f}" cy="{y}" r="4" fill="{colour}"><title>'
                     f'{_e(f"{label}: {series[j]} {est[0]:+.3f} [{est[1]:+.3f}, {est[2]:+.3f}]")}'
                     "</title></circle>"]
    axis = 20 + step * len(rows)
    body += [f'<line x1="{left}" y1="{axis}" x2="{left + width}" y2="{axis}" stroke="#444"/>',
             _text(left, axis + 14, f"{lo:+.2f}", "start"), _text(left + width, axis + 14, f"{hi:+.2f}", "end")]
    if left + 40 < x(0) < left + width - 40:  # the zero label, where it does not overlap the ends
        body.append(_text(x(0), axis + 14, "0", "middle"))
    for j, name in enumerate(series):
        y = axis + 30 + 16 * j
        body += [f'<circle cx="{left + 5}" cy="{y - 4}" r="4" fill="{PALETTE[j % len(PALETTE)]}"/>',
                 _text(left + 14, y, name)]
    return _svg(left + width + 40, height + 30, body, title)


def _lines_svg(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], x_label: str,
               y_label: str, title: str, log2_x: bool = False) -> str:
    """Line chart of ``(name, xs, ys)`` series, with a zero line when the range spans zero."""
    points = [(x, y) for _, xs, ys in series for x, y in zip(xs, ys, strict=False)
              if math.isfinite(y) and (x > 0 or not log2_x)]
    if not points:
        return ""
    tx = (lambda v: math.log2(v)) if log2_x else (lambda v: v)
    x_lo, x_hi = min(tx(x) for x, _ in points), max(tx(x) for x, _ in points)
    y_lo, y_hi = min(min(y for _, y in points), 0.0), max(max(y for _, y in points), 0.0)
    x_hi, y_hi = (x_hi if x_hi > x_lo else x_lo + 1), (y_hi if y_hi > y_lo else y_lo + 1)
    left, top, width, height = 60, 10, 380, 180

    def px(v: float) -> float:
        return left + width * (tx(v) - x_lo) / (x_hi - x_lo)

    def py(v: float) -> float:
        return top + height * (1 - (v - y_lo) / (y_hi - y_lo))

    body = [f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#bbb"/>',
            f'<line x1="{left}" y1="{py(0):.1f}" x2="{left + width}" y2="{py(0):.1f}" stroke="#888" '
            'stroke-dasharray="3 3"/>',
            _text(left - 4, top + 4, f"{y_hi:.3g}", "end"), _text(left - 4, top + height, f"{y_lo:.3g}", "end"),
            _text(left - 4, py(0) + 4, "0", "end") if y_lo < 0 < y_hi else "",
            _text(left + width / 2, top + height + 30, x_label, "middle"),
            _text(14, top + height / 2, y_label, "middle", f' transform="rotate(-90 14 {top + height / 2})"')]
    ticks = sorted({x for x, _ in points})
    for x in ticks if len(ticks) <= 12 else ticks[:: math.ceil(len(ticks) / 12)]:
        body.append(_text(px(x), top + height + 14, f"{x:g}", "middle"))
    for j, (name, xs, ys) in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        pts = [(px(x), py(y)) for x, y in zip(xs, ys, strict=False) if math.isfinite(y) and (x > 0 or not log2_x)]
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
                    + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + '"/>')
        body += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{colour}"/>' for a, b in pts]
        body += [f'<rect x="{left + width + 12}" y="{top + 16 * j}" width="10" height="10" fill="{colour}"/>',
                 _text(left + width + 26, top + 9 + 16 * j, name)]
    legend = max((len(name) for name, _, _ in series), default=0)
    return _svg(left + width + 40 + 7 * legend, top + height + 40, body, title)


# -- sections ----------------------------------------------------------------------------------
def _stage_table(manifest: dict[str, Any]) -> str:
    rows = ["<tr><th>stage</th><th>status</th><th>seconds</th><th>units</th><th>figures</th></tr>"]
    for stage in STAGES:
        rec = manifest["stages"].get(stage, {})
        figures = json.dumps(rec.get("figures", {}), sort_keys=True)
        rows.append(
            f"<tr><td>{stage}</td><td>{_e(rec.get('status', 'pending'))}</td>"
            f"<td>{_e(rec.get('seconds', ''))}</td><td>{_e(rec.get('units', ''))}</td>"
            f"<td><code>{_e(figures)}</code></td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _roles(manifest: dict[str, Any]) -> str:
    """Which agent played each role of the run (from the collect and teach stages' figures)."""
    collect = manifest["stages"].get("collect", {}).get("figures", {})
    teach = manifest["stages"].get("teach", {}).get("figures", {})
    rows = [
        ("weaker player of the disagreement search", collect.get("weaker_player")),
        ("reference of the novelty filter", collect.get("reference_source")),
        ("student of the teachability filter", teach.get("student")),
    ]
    items = "".join(f"<li>{_e(role)}: {_e(who)}</li>" for role, who in rows if who)
    return f"<ul>{items}</ul>" if items else "<p>The collect and teach stages have not run.</p>"


def _verdict_cell(verdict: dict[str, Any] | None) -> str:
    if verdict is None:
        return "<td>-</td>"
    cls, word = ("pass", "passed") if verdict["passed"] else ("fail", "failed")
    return f'<td><span class="{cls}">{word}</span>: {_e(verdict["reason"])}</td>'


def _funnel(index: list[dict[str, Any]], teach: dict[str, Any], novelty: dict[str, Any], run: Path) -> str:
    steps = [
        ("candidates", len(index)),
        ("mined (solver succeeded)", sum(1 for r in index if r.get("ok", r.get("status") == "optimal"))),
        ("teachable", sum(1 for v in teach.values() if v["passed"])),
        ("novel", sum(1 for v in novelty.values() if v["passed"])),
        ("exported", len(list((run / "export" / "cards").glob("*.json")))),
    ]
    return _funnel_svg(steps)


def _null_rates(manifest: dict[str, Any]) -> str:
    """The teach stage's pass rate beside its null's: random sparse and dense directions through the same filter."""
    figures = manifest["stages"].get("teach", {}).get("figures", {})
    if "null_teachable_share" not in figures:
        return "<p>No null calibration was recorded for the teachability filter.</p>"

    def rate(share: dict[str, Any]) -> str:
        if share["share"] is None:
            return "none assessed"
        return f"{share['share']:.1%} (95% CI {share['ci_low']:.1%} to {share['ci_high']:.1%})"

    n = figures.get("null_directions", 0)
    rows = [
        ("mined concepts", figures["assessed"], rate(figures["teachable_share"])),
        ("random sparse directions (the mined concepts' sparsity)", n, rate(figures["null_teachable_share"])),
        ("random dense directions", n, rate(figures["null_dense_teachable_share"])),
    ]
    table = "".join(f"<tr><td>{_e(label)}</td><td>{count}</td><td>{_e(text)}</td></tr>" for label, count, text in rows)
    return (
        f"<p>Teachable at a false-discovery rate of {figures['fdr_q']:g} over the candidates (Benjamini-Hochberg, "
        f"p-value cutoff {figures['p_cutoff']:.3g}); a null direction counts as passing when its test clears the "
        f"same cutoff. Median held-out prototypes per verdict: {figures['test_prototypes_median']}; the student "
        f"fell back to the oldest checkpoint for {figures['student_fallbacks']} of {figures['assessed']}.</p>"
        f"<table><tr><th>directions</th><th>n</th><th>teachable</th></tr>{table}</table>"
    )


def _concept_table(index: list[dict[str, Any]], teach: dict[str, Any], novelty: dict[str, Any]) -> str:
    if not index:
        return "<p>No candidate concepts were mined.</p>"
    rows = ["<tr><th>concept</th><th>miner status</th><th>metrics</th><th>teachability</th>"
            "<th>novelty</th></tr>"]
    for rec in index:
        metrics = ", ".join(f"{k}={v:.3g}" for k, v in sorted(rec.get("metrics", {}).items()))
        status = _e(rec["status"]) + (f"<br><small>{_e(rec['reason'])}</small>" if rec.get("reason") else "")
        rows.append(
            f"<tr><td><code>{_e(rec['id'])}</code></td><td>{status}</td><td>{_e(metrics)}</td>"
            f"{_verdict_cell(teach.get(rec['id']))}{_verdict_cell(novelty.get(rec['id']))}</tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _interval(scores: dict[str, Any], key: str) -> tuple[float, float, float] | None:
    parts = (scores.get(key), scores.get(f"{key}_ci_low"), scores.get(f"{key}_ci_high"))
    if all(isinstance(p, (int, float)) and math.isfinite(p) for p in parts):
        return (float(parts[0]), float(parts[1]), float(parts[2]))  # type: ignore[arg-type]
    return None


def _teach_plot(teach: dict[str, Any]) -> str:
    rows = [(cid, [_interval(v["scores"], "effect"), _interval(v["scores"], "effect_vs_random_concept")])
            for cid, v in teach.items()]
    rows = [r for r in rows if any(r[1])]
    if not rows:
        return '<p class="absent">No teachability effects with confidence intervals in this run.</p>'
    level = next((v["scores"].get("confidence") for v in teach.values() if "confidence" in v["scores"]), None)
    note = f"{level:.0%} confidence intervals" if isinstance(level, (int, float)) else "confidence intervals"
    return (f"<p>Held-out agreement of the concept-taught student minus that of each control, with {note}; "
            "a concept helps the student when its interval lies right of zero.</p>"
            + _forest_svg(rows, ("vs a student taught on random positions", "vs a student taught on a random concept"),
                          "teachability effect per concept"))


def _novelty_plot(novelty: dict[str, Any]) -> str:
    series = []
    for cid, verdict in novelty.items():
        ks = sorted((int(key.split("=", 1)[1]), float(value)) for key, value in verdict["scores"].items()
                    if key.startswith("score_k=") and isinstance(value, (int, float)))
        if ks:
            series.append((cid, [k for k, _ in ks], [s for _, s in ks]))
    if not series:
        return '<p class="absent">No novelty scores over a basis-size grid in this run.</p>'
    return ("<p>score_k above zero: the agent's leading directions explain the concept better than the "
            "reference's.</p>"
            + _lines_svg(series, "k (basis size, log scale)", "score_k", "novelty score over k", log2_x=True))


def _move_boards(domain: Any, card: dict[str, Any]) -> list[str]:
    """Boards of the source position and of each branching point: the chosen move vs the rejected ones."""
    lines = card["agent_lines"]
    chosen = lines["chosen"]
    depths = sorted({r["branch_depth"] for r in lines["rejected"] if r["moves"]} | {0})
    boards, state = [], domain.from_text(card["provenance"]["position"])
    try:
        for depth in range(max(depths) + 1):
            if depth in depths:
                rejected = [r["moves"][0] for r in lines["rejected"] if r["branch_depth"] == depth and r["moves"]]
                arrows = [(domain.action_from_text(state, m), "red") for m in rejected]
                if depth < len(chosen):
                    arrows.append((domain.action_from_text(state, chosen[depth]), "green"))
                where = "source position" if depth == 0 else f"after {' '.join(chosen[:depth])}"
                boards.append(
                    f'<div class="board">{_inline_svg(domain.render_svg(state, arrows))}<br>{_e(where)}: '
                    f'agent plays <b>{_e(chosen[depth] if depth < len(chosen) else "-")}</b> (green); '
                    f'rejected {_e(", ".join(rejected) or "-")} (red)</div>')
            if depth < len(chosen):
                state = domain.apply(state, domain.action_from_text(state, chosen[depth]))
    except ConceptlabError as exc:
        boards.append(f"<p class=\"fail\">The agent's lines could not be drawn: {_e(exc)}</p>")
    return boards


def _card_numbers(card: dict[str, Any]) -> str:
    rows = [f"<tr><th>layer</th><td><code>{_e(card['layer'])}</code></td></tr>",
            "<tr><th>miner metrics</th><td>" + _e(", ".join(
                f"{k}={_f(v)}" for k, v in sorted(card.get("metrics", {}).items()))) + "</td></tr>"]
    for name in ("teachability", "novelty"):
        verdict = card.get(name)
        rows.append(f"<tr><th>{name}</th>{_verdict_cell(verdict)}</tr>")
    rows.append("<tr><th>agent's line</th><td>" + _e(" ".join(card["agent_lines"]["chosen"])) + "</td></tr>")
    for rejected in card["agent_lines"]["rejected"]:
        rows.append(f"<tr><th>rejected at ply {_e(rejected['branch_depth'])}</th><td>"
                    + _e(" ".join(rejected["moves"])) + "</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _amplification_plot(curve: dict[str, Any] | None) -> str:
    if not curve or "alphas" not in curve:
        return ""
    series = [(f"{name} direction", curve["alphas"], curve[name]["target_mass"])
              for name in ("concept", "random") if isinstance(curve.get(name), dict) and "target_mass" in curve[name]]
    return _lines_svg(series, "a (amplification)", "policy mass on the line", "amplification curve") if series else ""


def _cards(run: Path, domain: Any) -> str:
    cards = sorted((run / "export" / "cards").glob("*.json"))
    if not cards:
        return "<p>No concept passed both filters, so none was exported. Every candidate's numbers are in the table above.</p>"
    index = {c["id"]: c for c in _read(run / "export" / "puzzles" / "index.json", {}).get("concepts", [])}
    parts = []
    for path in cards:
        card = read_json(path)
        boards = _move_boards(domain, card)
        for text in card["prototypes"][:4]:
            boards.append(f'<div class="board">{_inline_svg(domain.render_svg(domain.from_text(text)))}'
                          "<br>prototype</div>")
        label = " (control)" if card["control"] else ""
        files = index.get(card["id"], {}).get("files", [])
        listing = (f"<p>Puzzle files in <code>export/puzzles/{_e(card['id'])}/</code>: "
                   + ", ".join(f"<code>{_e(f)}</code>" for f in files) + "</p>") if files else ""
        parts.append(f"<h3><code>{_e(card['id'])}</code>{label}</h3>{_card_numbers(card)}"
                     f'<div class="boards">{"".join(boards)}</div>'
                     f"{_amplification_plot(card.get('amplification'))}{listing}")
    return "".join(parts)


def _known_concepts(run: Path) -> str:
    path = run / "probe" / "known_concepts.json"
    if not path.exists():
        return '<p class="absent">This run has no known-concept validation (no probe/known_concepts.json).</p>'
    data = read_json(path)
    rows = data.get("rows", [])
    layers = list(dict.fromkeys([r["layer"] for r in rows] + [
        layer for fam in data.get("families", {}).values() for layer in fam]))
    out = [f"<p>{_e(data.get('method', ''))}; checkpoint <code>{_e(data.get('checkpoint', '?'))}</code>.</p>",
           "<h3>Mean test accuracy per family and layer</h3><table><tr><th>family</th>"
           + "".join(f"<th>{_e(layer)}</th>" for layer in layers) + "</tr>"]
    for family, by_layer in sorted(data.get("families", {}).items()):
        out.append(f"<tr><td>{_e(family)}</td>" + "".join(
            f'<td class="num"{_cell_colour(by_layer.get(layer))}>{_f(by_layer.get(layer))}</td>'
            for layer in layers) + "</tr>")
    out.append("</table>")
    best = data.get("best", {})
    out.append("<h3>Test accuracy per concept and layer</h3><p>In each cell: held-out accuracy "
               "(random-direction baseline); the best layer of each concept in bold.</p><table><tr>"
               "<th>concept</th><th>family</th>" + "".join(f"<th>{_e(layer)}</th>" for layer in layers)
               + "<th>n train</th><th>n test</th></tr>")
    by_concept: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_concept.setdefault(r["concept"], {})[r["layer"]] = r
    for concept, mine in by_concept.items():
        first = next(iter(mine.values()))
        cells = []
        for layer in layers:
            r = mine.get(layer)
            if r is None:
                cells.append("<td>-</td>")
                continue
            text = f"{_f(r['test_accuracy'])} ({_f(r['baseline_accuracy'])})"
            if best.get(concept, {}).get("layer") == layer:
                text = f"<b>{text}</b>"
            cells.append(f'<td class="num"{_cell_colour(r["test_accuracy"])}>{text}</td>')
        out.append(f"<tr><td>{_e(concept)}</td><td>{_e(first['family'])}</td>{''.join(cells)}"
                   f"<td class=\"num\">{_f(first.get('n_train'))}</td>"
                   f"<td class=\"num\">{_f(first.get('n_test'))}</td></tr>")
    out.append("</table>")
    failures = data.get("failures", [])
    if failures:
        out.append("<p>Not fitted: " + "; ".join(
            f"{_e(f.get('concept'))} at {_e(f.get('layer'))}: {_e(f.get('reason'))}" for f in failures) + "</p>")
    return "".join(out)


def _probing(run: Path) -> str:
    path = run / "probe" / "probing.json"
    if not path.exists():
        return '<p class="absent">This run has no probing results (no probe/probing.json).</p>'
    data = read_json(path)
    concepts, checkpoints, layers = data["concepts"], data["checkpoints"], data["layers"]
    score, baseline, task = data["score"], data.get("baseline"), data.get("task", {})
    meaning = data.get("score_meaning")
    # each concept's best baseline (input planes, untrained net or the trivial predictor), when the run has them
    reference = {name: best for name, best in data.get("best", {}).items() if best.get("baseline_score") is not None}
    out = [f"<p>{_e(meaning)}</p>" if isinstance(meaning, str) else
           "<p>Held-out score of a sparse linear probe from each layer to each concept.</p>",
           "<p>One grid per checkpoint; darker is higher (scores at or below 0 are white).</p>" if not reference else
           "<p>One grid per checkpoint. Each cell is the layer's test score minus the concept's best baseline "
           "(in the last column: the best of the input planes, an untrained net's layers and the majority class "
           "or training mean, each chosen on validation games); darker is a larger gain (+0.2 or more), white "
           "no gain. The cell's tooltip has the score itself.</p>"]
    for c, checkpoint in enumerate(checkpoints):
        out.append(f"<h3>checkpoint <code>{_e(checkpoint)}</code></h3><table><tr><th>concept</th><th>task</th>"
                   + "".join(f"<th>{_e(layer)}</th>" for layer in layers)
                   + ("<th>best baseline</th>" if reference else "") + "</tr>")
        for i, concept in enumerate(concepts):
            cells = []
            ref = reference.get(concept)
            for j in range(len(layers)):
                value = score[i][c][j]
                if ref is not None and value is not None:
                    gain = value - ref["baseline_score"]
                    cells.append(f'<td class="num"{_cell_colour(gain / 0.2)} title="score {_f(value)}">'
                                 f"{gain:+.3f}</td>")
                    continue
                tip = ""
                if baseline is not None:
                    tip = f' title="baseline {_f(baseline[i][c][j])}"'
                cells.append(f'<td class="num"{_cell_colour(value)}{tip}>{_f(value)}</td>')
            if reference:
                cells.append(f"<td>{_e(ref['baseline'])} {_f(ref['baseline_score'])}</td>" if ref else "<td>-</td>")
            out.append(f"<tr><td>{_e(concept)}</td><td>{_e(task.get(concept, ''))}</td>{''.join(cells)}</tr>")
        out.append("</table>")
    return "".join(out)


def render_report(run: Path, registry: Registry) -> str:
    """The report page of run directory ``run``, as HTML text."""
    if not (run / "manifest.json").exists():
        raise RunDirError(f"{str(run)!r} is not a conceptlab run directory (no manifest.json)")
    manifest = read_json(run / "manifest.json")
    spec = spec_from_dict(read_json(run / "spec.json"), source=str(run / "spec.json"))
    resolved = resolve_spec(spec, registry)
    domain = resolved.classes["domain"](resolved.params["domain"])
    index = _read(run / "mine" / "concepts.json", [])
    teach = {v["concept_id"]: v for v in _read(run / "teach" / "summary.json", [])}
    novelty = {v["concept_id"]: v for v in _read(run / "novelty" / "summary.json", [])}
    title = f"conceptlab run {spec.name}"
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(spec.description)}</p>" if spec.description else "",
        f"<p>seed {spec.seed}; spec hash <code>{manifest['spec_hash'][:12]}</code>; "
        f"created {_e(manifest['created'])}</p>",
        "<h2>Stages</h2>", _stage_table(manifest),
        "<h2>Who played each role</h2>", _roles(manifest),
        "<h2>From candidates to concepts</h2>", _funnel(index, teach, novelty, run),
        "<h2>Candidate concepts</h2>", _concept_table(index, teach, novelty),
        "<h2>Teachability</h2>", _null_rates(manifest), _teach_plot(teach),
        "<h2>Novelty</h2>", _novelty_plot(novelty),
        "<h2>Exported concepts</h2>", _cards(run, domain),
        "<h2>Known concepts</h2>", _known_concepts(run),
        "<h2>Probing</h2>", _probing(run),
        "<h2>Spec</h2>", f"<pre>{_e(json.dumps(spec.model_dump(mode='json'), indent=2))}</pre>",
        "<h2>Versions</h2>", f"<pre>{_e(json.dumps(manifest['versions'], indent=2))}</pre>",
    ]
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def write_report(run: Path, out: Path | None, registry: Registry) -> Path:
    """Write the report of ``run`` to ``out`` (default ``run/report.html``); return the path."""
    out = out or run / "report.html"
    atomic_write_bytes(out, render_report(run, registry).encode())
    return out
