"""The HTML report of a run: one self-contained page (no external scripts, styles or fonts).

It opens with a table of contents and then shows: each stage's status,
timing and figures, with the error of a stage that failed; the training
losses; who played each role; the funnel from mined candidates to exported
concepts; every candidate in one compact table that sorts by any column and
filters by text or verdict (a few lines of inline JavaScript); the filters'
pass rates beside their nulls' (random sparse and dense directions), with
Wilson intervals; the teachability effects as a forest plot sorted by effect,
passing concepts marked; the novelty scores over the basis sizes; a board of
every teachable or novel candidate with the concept's footprint on it (where
the concept's layer is spatial); for each exported concept, boards of the
agent's chosen move against the rejected ones, its numbers and its
amplification curve; and, when the run has a ``probe`` stage, the
known-concept accuracies (coloured against their random-direction baselines)
and the probing heatmaps. Plots are inline SVG drawn by
:mod:`conceptlab.plots`; every number shown comes from the run's artifacts.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.errors import ConceptlabError, RunDirError
from conceptlab.plots import ForestRow, bar_chart, diverging_colour, forest_plot, line_chart, sequential_colour
from conceptlab.plugins import Registry
from conceptlab.run.store import read_candidates
from conceptlab.rundir import atomic_write_bytes, read_json
from conceptlab.spec import STAGES, ResolvedSpec, resolve_spec, spec_from_dict

__all__ = ["MAX_FOOTPRINTS", "render_report", "write_report"]

MAX_FOOTPRINTS = 60
"""Most candidate boards drawn in the footprint section (teachable and novel first by effect)."""

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:76rem;
color:#222;line-height:1.45;padding:0 1rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.2rem .45rem;
text-align:left;vertical-align:top;font-size:.85rem}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pass{color:#176f2c;font-weight:600}.fail{color:#a12020}.boards{display:flex;flex-wrap:wrap;gap:1rem}
.board{max-width:260px}.board svg{width:100%;height:auto}pre{background:#f7f7f7;padding:.75rem;
overflow-x:auto;font-size:.8rem}code{font-size:.85rem}.absent{color:#666;font-style:italic}
svg.plot{font-family:inherit;font-size:11px;max-width:100%;height:auto}
nav.toc{background:#f7f7f7;padding:.5rem 1rem;display:inline-block}nav.toc ol{margin:.25rem 0;columns:2}
table.candidates td{white-space:nowrap}table.candidates th{cursor:pointer;user-select:none;position:sticky;top:0}
table.candidates th[aria-sort=ascending]::after{content:" \\25B2"}
table.candidates th[aria-sort=descending]::after{content:" \\25BC"}
table.candidates details{white-space:normal;max-width:28rem}table.candidates summary{cursor:pointer}
.scroll{max-height:36rem;overflow:auto;display:inline-block}.controls{margin:.5rem 0}
.footprint{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-start;border-top:1px solid #ddd;
padding:.5rem 0}.footprint .board{max-width:240px;font-size:.8rem}
.footprint .board svg{width:auto;max-width:100%;max-height:240px}.footprint p{width:22rem;margin:0;font-size:.85rem}
tr.failed td{background:#fdecea}.rates{display:flex;flex-wrap:wrap;gap:2rem}
"""

SCRIPT = """
(function () {
  var table = document.getElementById("candidate-table");
  if (!table) { return; }
  var body = table.tBodies[0], text = document.getElementById("candidate-filter");
  var show = document.getElementById("candidate-show"), count = document.getElementById("candidate-count");
  function filter() {
    var needle = text.value.toLowerCase(), tag = show.value, shown = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var ok = (!needle || row.textContent.toLowerCase().indexOf(needle) >= 0) &&
               (!tag || (" " + row.getAttribute("data-tags") + " ").indexOf(" " + tag + " ") >= 0);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + body.rows.length + " candidates shown";
  }
  function key(row, column) { return row.cells[column].getAttribute("data-sort"); }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
    header.addEventListener("click", function () {
      var ascending = header.getAttribute("aria-sort") !== "ascending";
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, column), y = key(b, column);
        if (x === "" || y === "") { return (x === "") - (y === ""); }  /* blanks last either way */
        var nx = Number(x), ny = Number(y);
        var order = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
      header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    });
  });
  text.addEventListener("input", filter);
  show.addEventListener("change", filter);
  filter();
})();
"""
"""Sorting and filtering of the candidate table: a click on a header sorts by that column (numbers as
numbers, blanks last), the text box and the verdict menu filter rows."""

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


def _cell_colour(value: Any) -> str:
    """A ``style`` for a heatmap cell: white (0 or below) to dark blue (1 or above)."""
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return ""
    t = min(1.0, max(0.0, float(value)))
    return f' style="background:{sequential_colour(t)};color:{"#fff" if t > 0.55 else "#222"}"'


def _relative_colour(value: Any, baseline: Any) -> str:
    """A ``style`` colouring ``value`` against ``baseline``: white at the baseline, dark blue at 1, red at 0.

    The scale is the share of the way from the baseline to a perfect score (or
    down to zero), so a cell is as blue as the probe is better than chance.
    """
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (value, baseline)):
        return _cell_colour(value)
    room = (1.0 - baseline) if value >= baseline else baseline
    t = (value - baseline) / room if room > 0 else 0.0
    return f' style="background:{diverging_colour(t)};color:{"#fff" if abs(t) > 0.55 else "#222"}"'


def _mean(values: Sequence[float] | None) -> float | None:
    return sum(values) / len(values) if values else None


def _figure_text(value: Any) -> str:
    """A stage figure as short text: rates with their intervals, mappings as ``key value`` pairs."""
    if isinstance(value, dict) and {"share", "ci_low", "ci_high"} <= set(value):
        if value["share"] is None:
            return "none assessed"
        return f"{value['share']:.1%} [{value['ci_low']:.1%}, {value['ci_high']:.1%}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} {_figure_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return ", ".join(_figure_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{"".join(parts)}</section>'


def _toc(sections: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<li><a href="#{anchor}">{_e(title)}</a></li>' for anchor, title in sections)
    return f'<nav class="toc" aria-label="contents"><b>Contents</b><ol>{items}</ol></nav>'


# -- sections ----------------------------------------------------------------------------------
def _stage_table(manifest: dict[str, Any]) -> str:
    """Each stage's status, seconds, units and figures; a failed stage's error under its row."""
    rows = ["<tr><th>stage</th><th>status</th><th>time (s)</th><th>units</th><th>figures</th></tr>"]
    for stage in STAGES:
        rec = manifest["stages"].get(stage, {})
        status = rec.get("status", "pending")
        figures = "; ".join(f"{k}: {_figure_text(v)}" for k, v in sorted(rec.get("figures", {}).items()))
        seconds = rec.get("seconds")
        cls = ' class="failed"' if status == "failed" else ""
        word = f'<span class="fail">{_e(status)}</span>' if status == "failed" else _e(status)
        rows.append(
            f"<tr{cls}><td>{stage}</td><td>{word}</td><td class=\"num\">"
            f"{_e(f'{seconds:.1f}') if isinstance(seconds, (int, float)) else ''}</td>"
            f"<td class=\"num\">{_e(rec.get('units', ''))}</td><td><small>{_e(figures)}</small></td></tr>"
        )
        if status == "failed":
            error = rec.get("error") or "(the manifest records no error)"
            rows.append(f'<tr class="failed"><td colspan="5"><b>{stage} failed:</b>'
                        f'<pre class="error">{_e(error)}</pre></td></tr>')
    return "<table>" + "".join(rows) + "</table>"


def _training(run: Path) -> str:
    """The train stage's losses per iteration, one line per loss."""
    rows = _read(run / "train" / "losses.json", [])
    if not rows:
        return ('<p class="absent">No training losses in this run (no train/losses.json: the agent was '
                "not trained here, or training has not run).</p>")
    rows = sorted(rows, key=lambda r: r["iteration"])
    names = sorted({k for r in rows for k, v in r.items() if k != "iteration" and isinstance(v, (int, float))})
    series = [(name.replace("_", " "), [float(r["iteration"]) for r in rows if name in r],
               [float(r[name]) for r in rows if name in r]) for name in names]
    last = rows[-1]
    figures = ", ".join(f"{n.replace('_', ' ')} {last[n]:.4g}" for n in names if n in last)
    return (f"<p>Mean loss over the last epoch of each iteration's fit on its replay buffer; after "
            f"iteration {last['iteration']}: {_e(figures)}.</p>"
            + line_chart(series, "iteration", "loss", "training losses per iteration", integer_x=True))


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


def _expected_under_null(entering: int, figure: Any) -> str:
    """``entering`` x the null's pass rate (with its 95% interval): what the step would keep by chance."""
    share = _share(figure)
    if share is None or entering == 0:
        return "-"
    rate, low, high = share
    return f"{entering * rate:.1f} ({entering * low:.1f} to {entering * high:.1f})"


def _funnel(index: list[dict[str, Any]], teach: dict[str, Any], novelty: dict[str, Any], run: Path,
            manifest: dict[str, Any] | None = None) -> str:
    """The candidates kept at each step, with the count the step's null would keep beside it."""
    teachable = sum(1 for v in teach.values() if v["passed"])
    steps = [
        ("candidates", len(index)),
        ("mined (solver succeeded)", sum(1 for r in index if r.get("ok", r.get("status") == "optimal"))),
        ("teachable", teachable),
        ("novel", sum(1 for v in novelty.values() if v["passed"])),
        ("exported", len(list((run / "export" / "cards").glob("*.json")))),
    ]
    stages = (manifest or {}).get("stages", {})
    teach_figures = stages.get("teach", {}).get("figures", {})
    novelty_figures = stages.get("novelty", {}).get("figures", {})
    expected = {
        "teachable": _expected_under_null(int(teach_figures.get("assessed") or 0),
                                          teach_figures.get("null_teachable_share")),
        "novel": _expected_under_null(int(novelty_figures.get("assessed") or 0),
                                      novelty_figures.get("null_novel_share")),
    }
    rows = "".join(
        f"<tr><td>{_e(label)}</td><td class=\"num\">{count}</td><td>{_e(expected.get(label, ''))}</td></tr>"
        for label, count in steps)
    return (
        "<p>Beside each filter, the count its null would keep from the concepts it assessed: their number "
        "times the pass rate of random sparse directions (the mined concepts' sparsity) through the same "
        "filter, with the 95% interval of that rate. A step that keeps no more than its null has found "
        "nothing the null does not.</p>"
        f'<table class="funnel"><tr><th>step</th><th>kept</th><th>expected under the null (95% CI)</th></tr>'
        f"{rows}</table>"
        + bar_chart(steps, "concepts", "concepts kept at each step")
    )


def _share(figure: Any) -> tuple[float, float, float] | None:
    """A pass-rate figure (``share``, ``ci_low``, ``ci_high``) as an interval, or ``None``."""
    if not isinstance(figure, dict) or not isinstance(figure.get("share"), (int, float)):
        return None
    return (float(figure["share"]), float(figure["ci_low"]), float(figure["ci_high"]))


def _rate_text(figure: Any) -> str:
    share = _share(figure)
    if share is None:
        return "none assessed"
    return f"{share[0]:.1%} (95% CI {share[1]:.1%} to {share[2]:.1%})"


MINED_COLOUR, NULL_COLOUR = "#1f77b4", "#8c8c8c"
"""Pass rates of the mined concepts are drawn in blue, those of their null directions in grey."""


def _rates_plot(rows: Sequence[tuple[str, Any, bool]], what: str) -> str:
    """Pass rates (mined and null, ``(label, figure, is_null)``) with Wilson intervals on a 0-100% axis."""
    drawn = [ForestRow(label, [_share(figure)], colour=NULL_COLOUR if null else MINED_COLOUR)
             for label, figure, null in rows if _share(figure) is not None]
    if not drawn:
        return ""
    return forest_plot(drawn, [f"share {what}"], f"share {what}", f"share {what}, mined against null directions",
                       reference=None, x_range=(0.0, 1.0), fmt=lambda v: f"{v:.0%}")


def _prototype_source(figures: dict[str, Any]) -> str:
    """Where the teach stage's prototypes came from, as a sentence (nothing for runs that did not say)."""
    if figures.get("dynamic_prototypes") == "rollouts":
        return (f"Prototypes: the root states of the {figures['rollout_positions']} rollout positions whose own "
                f"rollouts satisfy at least {figures['constraint_share']:.0%} of a concept's constraints; median "
                f"{figures['rollout_prototypes_median']} per mined concept, "
                f"{figures['null_rollout_prototypes_median']} per null direction. ")
    if figures.get("dynamic_prototypes") == "top":
        return "Prototypes: the top of the pool by v.z (not the positions whose rollouts satisfy the concept). "
    return ""


def _null_rates(manifest: dict[str, Any]) -> str:
    """The teach stage's pass rate beside its null's: random sparse and dense directions through the same filter."""
    figures = manifest["stages"].get("teach", {}).get("figures", {})
    if "null_teachable_share" not in figures:
        return "<p>No null calibration was recorded for the teachability filter.</p>"
    n = figures.get("null_directions", 0)
    rows = [
        ("mined concepts", figures["assessed"], figures["teachable_share"], False),
        ("random sparse directions (the mined concepts' sparsity)", n, figures["null_teachable_share"], True),
        ("random dense directions", n, figures["null_dense_teachable_share"], True),
    ]
    table = "".join(f"<tr><td>{_e(label)}</td><td class=\"num\">{count}</td><td>{_e(_rate_text(fig))}</td></tr>"
                    for label, count, fig, _ in rows)
    return (
        f"<p>Teachable at a false-discovery rate of {figures['fdr_q']:g} over the candidates (Benjamini-Hochberg, "
        f"p-value cutoff {figures['p_cutoff']:.3g}); a null direction counts as passing when its test clears the "
        f"same cutoff. Median held-out prototypes per verdict: {figures['test_prototypes_median']}; the student "
        f"fell back to the oldest checkpoint for {figures['student_fallbacks']} of {figures['assessed']}. "
        + _e(_prototype_source(figures))
        + "The mined concepts' rate means something only as far as it stands above the null rates.</p>"
        f'<div class="rates"><table><tr><th>directions</th><th>n</th><th>teachable</th></tr>{table}</table>'
        + _rates_plot([("mined concepts", rows[0][2], False), ("random sparse", rows[1][2], True),
                       ("random dense", rows[2][2], True)], "teachable") + "</div>"
    )


def _novelty_rates(manifest: dict[str, Any]) -> str:
    """The novelty stage's pass rate beside its nulls': random sparse directions and the agent against itself."""
    figures = manifest["stages"].get("novelty", {}).get("figures", {})
    if "null_novel_share" not in figures:
        return "<p>No null calibration was recorded for the novelty filter.</p>"
    split = figures.get("agent_split_assessed", "directions")
    rows = [
        ("teachable concepts", figures.get("assessed"), figures.get("novel_share"), False),
        ("random sparse directions against the reference", figures.get("null_directions"),
         figures["null_novel_share"], True),
        (f"{split} with the agent's own positions split in two as the reference", None,
         figures.get("agent_split_novel_share"), True),
    ]
    table = "".join(f"<tr><td>{_e(label)}</td><td class=\"num\">{_e('' if count is None else count)}</td>"
                    f"<td>{_e(_rate_text(fig))}</td></tr>" for label, count, fig, _ in rows)
    return (f'<div class="rates"><table><tr><th>directions</th><th>n</th><th>novel</th></tr>{table}</table>'
            + _rates_plot([("teachable concepts", rows[0][2], False), ("random sparse", rows[1][2], True),
                           ("agent vs itself", rows[2][2], True)], "novel") + "</div>")


def _interval(scores: dict[str, Any], key: str) -> tuple[float, float, float] | None:
    parts = (scores.get(key), scores.get(f"{key}_ci_low"), scores.get(f"{key}_ci_high"))
    if all(isinstance(p, (int, float)) and math.isfinite(p) for p in parts):
        return (float(parts[0]), float(parts[1]), float(parts[2]))  # type: ignore[arg-type]
    return None


def _effect(verdict: dict[str, Any] | None) -> float | None:
    value = (verdict or {}).get("scores", {}).get("effect")
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _effect_or_least(verdict: dict[str, Any] | None) -> float:
    """The effect for sorting: a verdict without one sorts below every effect."""
    effect = _effect(verdict)
    return -math.inf if effect is None else effect


def _concept_table(index: list[dict[str, Any]], teach: dict[str, Any], novelty: dict[str, Any]) -> str:
    """One compact row per candidate (passing ones first, then by effect), sortable and filterable."""
    if not index:
        return "<p>No candidate concepts were mined.</p>"

    def order(rec: dict[str, Any]) -> tuple[int, float, str]:
        t, n = teach.get(rec["id"]), novelty.get(rec["id"])
        passed = bool(t and t["passed"]) + bool(n and n["passed"])
        return (-passed, -_effect_or_least(t), rec["id"])

    def num(value: Any, text: str | None = None) -> str:
        ok = isinstance(value, (int, float)) and math.isfinite(value)
        return f'<td class="num" data-sort="{value if ok else ""}">{_e(text if text is not None else _f(value))}</td>'

    def verdict(v: dict[str, Any] | None) -> str:
        if v is None:
            return '<td data-sort="">-</td>'
        cls, word = ("pass", "passed") if v["passed"] else ("fail", "failed")
        return (f'<td data-sort="{int(v["passed"])}"><details><summary class="{cls}">{word}</summary>'
                f'{_e(v["reason"])}</details></td>')

    headers = ("concept", "layer", "position", "miner status", "l0", "held-out satisfaction",
               "teach effect", "95% interval", "teachability", "novelty")
    rows = []
    for rec in sorted(index, key=order):
        t, n = teach.get(rec["id"]), novelty.get(rec["id"])
        tags = ["mined"] if rec.get("ok", rec.get("status") == "optimal") else ["unmined"]
        tags += ["teachable"] * bool(t and t["passed"]) + ["novel"] * bool(n and n["passed"])
        metrics = rec.get("metrics", {})
        scores = (t or {}).get("scores", {})
        ci = _interval(scores, "effect")
        status = _e(rec["status"]) if not rec.get("reason") else (
            f'<details><summary>{_e(rec["status"])}</summary>{_e(rec["reason"])}</details>')
        rows.append(
            f'<tr data-tags="{" ".join(tags)}"><td data-sort="{_e(rec["id"])}"><code>{_e(rec["id"])}</code></td>'
            f'<td data-sort="{_e(rec.get("layer", ""))}">{_e(rec.get("layer", "-"))}</td>'
            + num(rec.get("position"))
            + f'<td data-sort="{_e(rec["status"])}">{status}</td>'
            + num(metrics.get("l0")) + num(metrics.get("held_out_satisfaction"))
            + num(scores.get("effect"), f"{scores['effect']:+.3g}" if _effect(t) is not None else "-")
            + (f'<td class="num" data-sort="{ci[1]}">{ci[1]:+.2f} to {ci[2]:+.2f}</td>' if ci else
               '<td data-sort="">-</td>')
            + verdict(t) + verdict(n) + "</tr>"
        )
    head = "".join(f'<th scope="col" title="sort by {h}">{_e(h)}</th>' for h in headers)
    controls = (
        '<div class="controls"><label>filter <input id="candidate-filter" type="search" '
        'placeholder="text in any column"></label> <label>show <select id="candidate-show">'
        '<option value="">all</option><option value="mined">mined</option>'
        '<option value="teachable">teachable</option><option value="novel">novel</option>'
        '<option value="unmined">not mined</option></select></label> '
        f'<span id="candidate-count">{len(index)} candidates</span></div>'
    )
    return (f"<p>Click a column header to sort; a verdict opens to its reason. Passing candidates come first, "
            f"then by teachability effect.</p>{controls}"
            f'<div class="scroll"><table class="candidates" id="candidate-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _teach_plot(teach: dict[str, Any]) -> str:
    """The forest plot of effects, largest effect on top; the concepts that passed marked."""
    rows = [(cid, v, [_interval(v["scores"], "effect"), _interval(v["scores"], "effect_vs_random_concept")])
            for cid, v in teach.items()]
    rows = [r for r in rows if any(r[2])]
    if not rows:
        return '<p class="absent">No teachability effects with confidence intervals in this run.</p>'
    rows.sort(key=lambda r: (-(r[2][0][0] if r[2][0] else -math.inf), r[0]))
    level = next((v["scores"].get("confidence") for v in teach.values() if "confidence" in v["scores"]), None)
    note = f"{level:.0%} confidence intervals" if isinstance(level, (int, float)) else "confidence intervals"
    passed = sum(1 for _, v, _ in rows if v["passed"])
    return (f"<p>Held-out agreement of the concept-taught student minus that of each control, with {note}, "
            f"largest effect first; a concept helps the student when its interval lies right of zero. "
            f"{passed} of {len(rows)} passed the filter (marked).</p>"
            + forest_plot([ForestRow(cid, ests, marked=bool(v["passed"])) for cid, v, ests in rows],
                          ("vs a student taught on random positions", "vs a student taught on a random concept"),
                          "effect", "teachability effect per concept", mark_note="teachable"))


def _novelty_plot(novelty: dict[str, Any]) -> str:
    series = []
    for cid, verdict in novelty.items():
        ks = sorted((int(key.split("=", 1)[1]), float(value)) for key, value in verdict["scores"].items()
                    if key.startswith("score_k=") and isinstance(value, (int, float)))
        if ks:
            series.append((cid, [float(k) for k, _ in ks], [s for _, s in ks]))
    if not series:
        return '<p class="absent">No novelty scores over a basis-size grid in this run.</p>'
    return ("<p>score_k above zero: the agent's leading directions explain the concept better than the "
            "reference's.</p>"
            + line_chart(series, "k (basis size, log2 scale)", "score_k", "novelty score over k", log2_x=True))


def _layer_shapes(resolved: ResolvedSpec, domain: Any, state: Any,
                  layers: Sequence[str]) -> dict[str, tuple[int, ...]] | str:
    """Each layer's activation shape (one freshly built agent evaluating ``state``), or why it is unknown.

    Stores keep activations flattened, so the shape that tells whether a layer
    is spatial comes from the agent itself; the weights do not matter for it.
    """
    try:
        agent = resolved.classes["agent"](domain, resolved.params["agent"], seed=0)
        activations = agent.evaluate([state], list(layers)).activations
    except (ConceptlabError, OSError) as exc:
        return f"the agent could not be built to read its layers' shapes: {exc}"
    return {layer: tuple(int(d) for d in activations[layer].shape[1:]) for layer in layers}


def _footprint(domain: Any, state: Any, vector: np.ndarray, shape: tuple[int, ...] | None, layer: str) -> str:
    """The concept's footprint on the board, or a sentence saying why there is none."""
    if shape is None:
        return ""
    if len(shape) != 3 or math.prod(shape) != vector.size:
        return f"<p>Layer <code>{_e(layer)}</code> has shape {_e(shape)}: not spatial, so no footprint.</p>"
    heat = np.abs(vector.reshape(shape)).sum(axis=0)
    top = float(heat.max())
    svg = domain.render_heatmap_svg(state, heat / top if top > 0 else heat)
    if svg is None:
        return (f"<p>Layer <code>{_e(layer)}</code> is spatial ({_e(shape)}), but the domain draws no "
                "footprint on its board for this grid.</p>")
    return (f'<div class="board heatmap">{_inline_svg(svg)}<br>footprint: sum of |v| over the {shape[0]} '
            f"channels of each square, scaled to the largest ({top:.3g})</div>")


def _footprints(run: Path, resolved: ResolvedSpec, domain: Any, teach: dict[str, Any],
                novelty: dict[str, Any]) -> str:
    """A board of each teachable or novel candidate, exported or not, with its footprint where spatial."""
    wanted = {cid for cid, v in (*teach.items(), *novelty.items()) if v["passed"]}
    if not wanted:
        return "<p>No candidate passed the teachability or the novelty filter.</p>"
    records = [r for r in read_candidates(run) if r["id"] in wanted and r.get("vector") is not None]
    records.sort(key=lambda r: (-_effect_or_least(teach.get(r["id"])), r["id"]))
    dropped = len(records) - MAX_FOOTPRINTS
    records = records[:MAX_FOOTPRINTS]
    if not records:
        return "<p class=\"absent\">The passing candidates' vectors are not in mine/candidates/.</p>"
    rollouts = _read(run / "collect" / "rollouts.json", [])
    shapes: Mapping[str, tuple[int, ...]] | str = {}
    try:
        first = domain.from_text(records[0]["state"])
        shapes = _layer_shapes(resolved, domain, first, sorted({r["layer"] for r in records}))
    except ConceptlabError as exc:
        shapes = f"the source position could not be read: {exc}"
    parts = [f"<p>{_e(shapes)}</p>" if isinstance(shapes, str) else "",
             "<p>The position each concept was mined from, with the agent's move (green) and the weaker "
             "player's (red).</p>"]
    for rec in records:
        t, n = teach.get(rec["id"]), novelty.get(rec["id"])
        verdicts = ", ".join(name for name, v in (("teachable", t), ("novel", n)) if v and v["passed"])
        try:
            state = domain.from_text(rec["state"])
            arrows = []
            if isinstance(rec.get("position"), int) and rec["position"] < len(rollouts):
                rollout = rollouts[rec["position"]]
                arrows = [(rollout["weaker_action"], "red"), (rollout["final_action"], "green")]
            board = f'<div class="board">{_inline_svg(domain.render_svg(state, arrows))}<br>source position</div>'
            footprint = _footprint(domain, state, np.asarray(rec["vector"], dtype=np.float64),
                                   None if isinstance(shapes, str) else shapes.get(rec["layer"]), rec["layer"])
        except ConceptlabError as exc:
            board, footprint = f'<p class="fail">The position could not be drawn: {_e(exc)}</p>', ""
        effect = _effect(t)
        metrics = ", ".join(f"{k}={_f(v)}" for k, v in sorted(rec.get("metrics", {}).items())
                            if k in ("l0", "held_out_satisfaction"))
        facts = [f"<b><code>{_e(rec['id'])}</code></b>: {_e(verdicts)}; layer <code>{_e(rec['layer'])}</code>",
                 f"position <code>{_e(rec['state'])}</code>",
                 f"teachability effect {effect:+.3f}" if effect is not None else "", _e(metrics)]
        parts.append(f'<div class="footprint" id="footprint-{_e(rec["id"])}"><p>'
                     + "<br>".join(x for x in facts if x) + f"</p>{board}{footprint}</div>")
    if dropped > 0:
        parts.append(f"<p>{dropped} more passing candidates are not drawn; the table above lists them.</p>")
    return "".join(parts)


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
    return line_chart(series, "a (amplification)", "policy mass on the line", "amplification curve") if series else ""


def _cards(run: Path, domain: Any) -> str:
    cards = sorted((run / "export" / "cards").glob("*.json"))
    if not cards:
        return ("<p>No concept passed both filters, so none was exported. Every candidate's numbers are in the "
                "table above, and any candidate that passed one of them is drawn in the section above.</p>")
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
    baselines: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        if isinstance(r.get("baseline_accuracy"), (int, float)):
            baselines.setdefault((r["family"], r["layer"]), []).append(float(r["baseline_accuracy"]))
    for family, by_layer in sorted(data.get("families", {}).items()):
        out.append(f"<tr><td>{_e(family)}</td>" + "".join(
            f'<td class="num"{_relative_colour(by_layer.get(layer), _mean(baselines.get((family, layer))))}>'
            f"{_f(by_layer.get(layer))}</td>" for layer in layers) + "</tr>")
    out.append("</table><p>Colour, here and below: white at the random-direction baseline (for a family, the "
               "mean baseline of its concepts at that layer), dark blue at a perfect score, red below the "
               "baseline.</p>")
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
            colour = _relative_colour(r["test_accuracy"], r.get("baseline_accuracy"))
            cells.append(f'<td class="num"{colour}>{text}</td>')
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
    failed = [s for s in STAGES if manifest["stages"].get(s, {}).get("status") == "failed"]
    failed_links = ", ".join(f'<a href="#stages">{s}</a>' for s in failed)
    sections = [
        ("stages", "Stages", _stage_table(manifest)),
        ("training", "Training", _training(run)),
        ("roles", "Who played each role", _roles(manifest)),
        ("funnel", "From candidates to concepts", _funnel(index, teach, novelty, run, manifest)),
        ("candidates", "Candidate concepts", _concept_table(index, teach, novelty)),
        ("teachability", "Teachability", _null_rates(manifest), _teach_plot(teach)),
        ("novelty", "Novelty", _novelty_rates(manifest), _novelty_plot(novelty)),
        ("footprints", "Teachable and novel candidates on the board",
         _footprints(run, resolved, domain, teach, novelty)),
        ("exported", "Exported concepts", _cards(run, domain)),
        ("known", "Known concepts", _known_concepts(run)),
        ("probing", "Probing", _probing(run)),
        ("spec", "Spec", "<details><summary>the spec as run, with every default filled in (JSON)</summary>"
         f"<pre>{_e(json.dumps(spec.model_dump(mode='json'), indent=2))}</pre></details>"),
        ("versions", "Versions", f"<pre>{_e(json.dumps(manifest['versions'], indent=2))}</pre>"),
    ]
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(spec.description)}</p>" if spec.description else "",
        f"<p>seed {spec.seed}; spec hash <code>{manifest['spec_hash'][:12]}</code>; "
        f"created {_e(manifest['created'])}</p>",
        f'<p class="fail">Failed: {failed_links} ' "(the error is under the stage's row).</p>" if failed else "",
        _toc([(anchor, name) for anchor, name, *_ in sections]),
        *(_section(anchor, name, *parts) for anchor, name, *parts in sections),
    ]
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}<script>{SCRIPT}</script></body></html>\n")


def write_report(run: Path, out: Path | None, registry: Registry) -> Path:
    """Write the report of ``run`` to ``out`` (default ``run/report.html``); return the path."""
    out = out or run / "report.html"
    atomic_write_bytes(out, render_report(run, registry).encode())
    return out
