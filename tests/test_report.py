"""The report of a run built from hand-made artifacts: its numbers, tables, plots, boards and navigation."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conceptlab.hookspecs import hookimpl
from conceptlab.plots import diverging_colour, sequential_colour
from conceptlab.plugins import get_registry
from conceptlab.report import render_report, write_report
from conceptlab.spec import STAGES, load_spec
from conceptlab.testing.tictactoe import Board, TicTacToe
from conceptlab.values import Action

TINY = Path(__file__).resolve().parents[1] / "specs" / "tictactoe-tiny.toml"
IDS = ["c0000-p000-block0-active-all", "c0001-p001-block0-active-all", "c0002-p002-block0-active-all"]
BOOK_ERROR = "BookSourceError: opening book '/nonexistent/book.bin' does not exist"
SHARE = {"share": 0.6667, "ci_low": 0.2077, "ci_high": 0.9385}
NULL_SHARE = {"share": 0.0, "ci_low": 0.0, "ci_high": 0.4345}


def _vector(weights: dict[tuple[int, int, int], float]) -> list[float]:
    """A concept vector of the tiny agent's ``block0`` (8 channels over the 3x3 board), zero but at ``weights``."""
    vector = [0.0] * 72
    for (channel, row, column), value in weights.items():
        vector[channel * 9 + row * 3 + column] = value
    return vector


# footprints: IDS[0] weighs the centre most (|2| + |-1|), then the top-left corner; IDS[1] the bottom-right only
VECTORS = {IDS[0]: _vector({(0, 1, 1): 2.0, (5, 1, 1): -1.0, (3, 0, 0): 1.5}),
           IDS[1]: _vector({(7, 2, 2): -0.5}),
           IDS[2]: _vector({(0, 0, 1): 1.0})}


class ArrowTicTacToe(TicTacToe):
    """Tic-tac-toe whose board lists the arrows it is asked to draw (the default ignores them)."""

    name = "tictactoe-arrows"

    def render_svg(self, state: Board, arrows: Sequence[tuple[Action, str]] = ()) -> str:
        marks = "".join(f'<line class="arrow" data-cell="{a}" stroke="{colour}"/>' for a, colour in arrows)
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="90" height="90">{marks}</svg>'


class _Plugin:
    @hookimpl
    def register_domains(self):
        return [ArrowTicTacToe]


def _write(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def _verdict(cid: str, passed: bool, scores: dict[str, float]) -> dict[str, Any]:
    return {"concept_id": cid, "filter": "f", "passed": passed, "scores": scores, "reason": f"reason of {cid}"}


def make_run(root: Path, probe: bool, failed: bool = False) -> Path:
    """A run directory with every artifact the report reads, and known numbers in each."""
    spec = load_spec(TINY, ["domain.name=tictactoe-arrows"])
    _write(root / "spec.json", spec.model_dump(mode="json"))
    stages = {s: {"status": "finished", "seconds": 0.5, "units": 1, "figures": {}} for s in STAGES}
    stages["teach"]["figures"] = {"assessed": 3, "fdr_q": 0.1, "p_cutoff": 0.05, "test_prototypes_median": 4,
                                  "student_fallbacks": 0, "null_directions": 6, "teachable_share": SHARE,
                                  "null_teachable_share": NULL_SHARE, "null_dense_teachable_share": NULL_SHARE,
                                  "dynamic_prototypes": "rollouts", "constraint_share": 1.0, "rollout_positions": 9,
                                  "rollout_prototypes_median": 5.0, "null_rollout_prototypes_median": 1.5}
    if failed:
        stages["probe"] = {"status": "failed", "error": BOOK_ERROR}
    _write(root / "manifest.json", {
        "spec_hash": "ab" * 32, "created": "2026-01-01T00:00:00Z", "versions": {"conceptlab": "0"},
        "stages": stages})
    records = [{"id": cid, "ok": True, "status": "optimal", "reason": "", "metrics": {"l0": 4.0}, "layer": "block0",
                "position": i, "state": "........X" if i == 1 else "........."} for i, cid in enumerate(IDS)]
    _write(root / "mine" / "concepts.json", records + [
        {"id": "c0003-failed", "ok": False, "status": "infeasible", "reason": "no direction", "metrics": {},
         "layer": "block0", "position": 3, "state": "X........"}])
    for i, record in enumerate(records):
        _write(root / "mine" / "candidates" / f"{i:05d}.json", record | {"vector": VECTORS[record["id"]]})
    _write(root / "collect" / "rollouts.json", [
        {"state": r["state"], "final_action": 4, "weaker_action": 0} for r in records])
    _write(root / "train" / "losses.json", [
        {"iteration": 1, "policy_loss": 2.125, "value_loss": 0.875},
        {"iteration": 2, "policy_loss": 1.75, "value_loss": 0.625},
        {"iteration": 3, "policy_loss": 1.5, "value_loss": 0.5}])
    _write(root / "teach" / "summary.json", [
        _verdict(IDS[0], True, {"effect": 0.4375, "effect_ci_low": 0.1875, "effect_ci_high": 0.6875,
                                "effect_vs_random_concept": 0.3125, "effect_vs_random_concept_ci_low": 0.0625,
                                "effect_vs_random_concept_ci_high": 0.5625, "confidence": 0.95}),
        _verdict(IDS[1], True, {"effect": 0.2, "effect_ci_low": 0.05, "effect_ci_high": 0.35}),
        _verdict(IDS[2], False, {"effect": -0.125, "effect_ci_low": -0.375, "effect_ci_high": 0.125}),
    ])
    _write(root / "novelty" / "summary.json", [
        _verdict(IDS[0], True, {"score_k=1": 0.0123, "score_k=2": 0.0456, "score_k=4": 0.0789}),
        _verdict(IDS[1], False, {"score_k=1": -0.0321, "score_k=2": 0.0111, "score_k=4": 0.0222}),
    ])
    card = {
        "id": IDS[0], "control": False, "layer": "block0", "vector": [0.0] * 72,
        "provenance": {"position": "........."}, "metrics": {"l0": 4.0, "held_out_satisfaction": 0.9375},
        "teachability": _verdict(IDS[0], True, {}), "novelty": _verdict(IDS[0], True, {}),
        "amplification": {"alphas": [0.0, 0.5, 1.0], "concept": {"target_mass": [0.25, 0.5, 0.75]},
                          "random": {"target_mass": [0.25, 0.25, 0.125]}},
        "prototypes": ["X...O....", "XO..X...."],
        "agent_lines": {"chosen": ["4", "0", "8"],
                        "rejected": [{"branch_depth": 0, "moves": ["1", "4"]},
                                     {"branch_depth": 1, "moves": ["2", "8"]}]},
    }
    _write(root / "export" / "cards" / f"{IDS[0]}.json", card)
    _write(root / "export" / "puzzles" / "index.json", {"domain": "tictactoe-arrows", "concepts": [
        {"id": IDS[0], "control": False, "phase1": 2, "phase3": 2, "files": ["phase1.txt", "phase2.txt"]}]})
    if probe:
        _write(root / "probe" / "known_concepts.json", {
            "checkpoint": "ckpt-0002", "method": "static concepts by the convex miner",
            "rows": [
                {"concept": "centre", "family": "board", "layer": "stem", "test_accuracy": 0.8125,
                 "baseline_accuracy": 0.5312, "n_train": 26, "n_test": 6},
                {"concept": "centre", "family": "board", "layer": "block0", "test_accuracy": 0.9375,
                 "baseline_accuracy": 0.4688, "n_train": 26, "n_test": 6},
                {"concept": "threat", "family": "threats", "layer": "stem", "test_accuracy": 0.6667,
                 "baseline_accuracy": 0.4444, "n_train": 25, "n_test": 7},
            ],
            "best": {"centre": {"layer": "block0", "test_accuracy": 0.9375},
                     "threat": {"layer": "stem", "test_accuracy": 0.6667}},
            "families": {"board": {"stem": 0.8125, "block0": 0.9375}, "threats": {"stem": 0.6667}},
        })
        _write(root / "probe" / "probing.json", {
            "concepts": ["centre", "corners"], "checkpoints": ["ckpt-0000", "ckpt-0002"],
            "layers": ["stem", "block0"],
            "score": [[[0.1111, 0.2222], [0.3333, 0.4444]], [[-0.0555, 0.5556], [0.6666, 0.7777]]],
            "task": {"centre": "classification", "corners": "regression"},
        })
    return root


@pytest.fixture()
def registry():
    return get_registry(extra_plugins=[("arrows", _Plugin())])


class _Balance(HTMLParser):
    """Fails on an end tag that does not close the innermost open element."""

    VOID = {"br", "meta", "hr", "img", "input", "col", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


def _no_external_references(page: str) -> None:
    for external in ("<script src", "<link", "http://", "https://", "@import", "url("):
        assert external not in page, external
    assert page.count("<script") == 1  # the candidate table's own, inline


def test_known_concepts_and_probing_are_rendered(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=True), registry)
    known = page[page.index("<h2>Known concepts</h2>"):page.index("<h2>Probing</h2>")]
    assert "ckpt-0002" in known and "static concepts by the convex miner" in known
    family_row = re.search(r"<tr><td>board</td>(.*?)</tr>", known).group(1)
    assert [c for c in re.findall(r">([-\d.]+)</td>", family_row)] == ["0.812", "0.938"]
    threats_row = re.search(r"<tr><td>threats</td>(.*?)</tr>", known).group(1)
    assert re.findall(r">([-\d.]+)</td>", threats_row) == ["0.667", "-"]  # no block0 figure
    assert "<b>0.938 (0.469)</b>" in known and "0.812 (0.531)" in known  # best layer in bold
    assert ">26</td>" in known and ">7</td>" in known
    probing = page[page.index("<h2>Probing</h2>"):page.index("<h2>Spec</h2>")]
    assert probing.count("<table>") == 2  # one grid per checkpoint
    for value in ("0.111", "0.222", "0.333", "0.444", "-0.0555", "0.556", "0.667", "0.778"):
        assert f">{value}</td>" in probing
    assert "regression" in probing and "classification" in probing
    assert "background:#ffffff" in probing  # a negative score is drawn as zero
    _no_external_references(page)


def test_absent_probe_artifacts_are_said_plainly(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=False), registry)
    assert "This run has no known-concept validation (no probe/known_concepts.json)." in page
    assert "This run has no probing results (no probe/probing.json)." in page


def test_plots_carry_the_run_numbers(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=False), registry)
    funnel = page[page.index("<h2>From candidates to concepts</h2>"):page.index("<h2>Candidate concepts</h2>")]
    assert re.findall(r'class="value">(\d+)</text>', funnel) == ["4", "3", "2", "1", "1"]
    teach = page[page.index("<h2>Teachability</h2>"):page.index("<h2>Novelty</h2>")]
    assert "95% confidence intervals" in teach
    assert f"{IDS[0]}: vs a student taught on random positions +0.438 [+0.188, +0.688]" in teach
    assert f"{IDS[0]}: vs a student taught on a random concept +0.312 [+0.062, +0.562]" in teach
    assert f"{IDS[2]}: vs a student taught on random positions -0.125 [-0.375, +0.125]" in teach
    novelty = page[page.index("<h2>Novelty</h2>"):page.index("<h2>Exported concepts</h2>")]
    assert novelty.count("<polyline") == 2 and all(cid in novelty for cid in IDS[:2])
    assert re.findall(r'text-anchor="middle" class="tick-label">(\d+)</text>', novelty) == ["1", "2", "4"]  # k
    # training losses, funnel, teachable shares, teachability effects, novelty, amplification
    assert page.count('<svg class="plot"') == 6
    _no_external_references(page)


def test_cards_show_the_chosen_move_against_the_rejected_ones(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=False), registry)
    cards = page[page.index("<h2>Exported concepts</h2>"):page.index("<h2>Known concepts</h2>")]
    boards = re.findall(r'<div class="board">(.*?)</div>', cards)
    assert len(boards) == 4  # source, the branching point after 4, two prototypes
    arrows = [re.findall(r'data-cell="(\d)" stroke="(\w+)"', b) for b in boards]
    assert arrows[0] == [("1", "red"), ("4", "green")]
    assert arrows[1] == [("2", "red"), ("0", "green")]
    assert "after 4: agent plays <b>0</b>" in boards[1]
    assert "held_out_satisfaction=0.938" in cards and "reason of " + IDS[0] in cards
    assert "<code>phase2.txt</code>" in cards
    assert "xmlns" not in cards


def test_the_page_is_well_formed_and_written(tmp_path, registry) -> None:
    run = make_run(tmp_path / "run", probe=True)
    path = write_report(run, None, registry)
    parser = _Balance()
    parser.feed(path.read_text())
    parser.close()
    assert parser.stack == []


def test_the_contents_link_to_every_section(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=True), registry)
    toc = re.search(r'<nav class="toc"[^>]*>(.*?)</nav>', page).group(1)
    anchors = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', toc)
    assert len(anchors) == page.count("<h2>") == 13
    for anchor, title in anchors:
        assert re.search(rf'<section id="{anchor}"><h2>{re.escape(title)}</h2>', page), anchor
    assert page.index("<nav") < page.index("<h2>")  # the contents come first


def test_the_candidate_table_is_compact_sortable_and_filterable(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=False), registry)
    table = re.search(r'<table class="candidates" id="candidate-table">(.*?)</table>', page).group(1)
    rows = re.findall(r'<tr data-tags="([^"]*)"><td data-sort="([^"]+)">', table)
    # passing first (IDS[0] passed both filters, IDS[1] one), then by effect; the unmined one last
    assert rows == [("mined teachable novel", IDS[0]), ("mined teachable", IDS[1]), ("mined", IDS[2]),
                    ("unmined", "c0003-failed")]
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', table)
    for row in re.findall(r"<tr data-tags.*?</tr>", table):
        assert row.count("<td") == len(headers)
        assert row.count("data-sort=") == len(headers)  # every column sorts
    assert '<td class="num" data-sort="0.4375">+0.438</td>' in table
    assert '<td class="num" data-sort="0.1875">+0.19 to +0.69</td>' in table
    assert "<details><summary class=\"fail\">failed</summary>reason of " + IDS[2] in table  # reasons fold
    script = page[page.index("<script>"):page.index("</script>")]
    for needle in ('getElementById("candidate-table")', "candidate-filter", "candidate-show", "data-tags",
                   '"aria-sort"', "data-sort", "addEventListener"):
        assert needle in script, needle
    for control in ('id="candidate-filter"', 'id="candidate-show"', '<option value="teachable">',
                    '<option value="novel">'):
        assert control in page
    _no_external_references(page)


def test_a_failed_stage_shows_its_error(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=False, failed=True), registry)
    stages = page[page.index("<h2>Stages</h2>"):page.index("<h2>Training</h2>")]
    assert '<tr class="failed"><td>probe</td><td><span class="fail">failed</span>' in stages
    error = "BookSourceError: opening book &#x27;/nonexistent/book.bin&#x27; does not exist"
    assert f'<b>probe failed:</b><pre class="error">{error}</pre>' in stages
    assert '<p class="fail">Failed: <a href="#stages">probe</a>' in page[:page.index("<nav")]
    clean = render_report(make_run(tmp_path / "clean", probe=False), registry)
    assert "failed:</b>" not in clean and "Failed:" not in clean


def _ticks(svg: str, axis: str) -> list[str]:
    """Tick labels of a plot's horizontal (``middle``) or vertical (``end``) axis."""
    return re.findall(rf'text-anchor="{axis}" class="tick-label">([^<]*)</text>', svg)


def test_every_plot_has_axes_with_ticks(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=False), registry)
    plots = re.findall(r'<svg class="plot".*?</svg>', page)
    assert len(plots) == 6
    for svg in plots:
        assert 'class="axis"' in svg and svg.count('class="tick"') >= 3, svg[:200]
        assert len([t for t in _ticks(svg, "middle") if t]) >= 2, svg[:200]
    training = page[page.index("<h2>Training</h2>"):page.index("<h2>Who played each role</h2>")]
    assert "after iteration 3: policy loss 1.5, value loss 0.5" in training
    assert [t for t in _ticks(training, "middle") if t] == ["1", "2", "3"]  # whole iterations only
    assert _ticks(training, "end") == ["0", "0.5", "1", "1.5", "2", "2.5"]
    assert training.count("<polyline") == 2 and "policy loss: 3, 1.5" in training


def test_the_forest_plot_is_sorted_with_the_passing_concepts_marked(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=False), registry)
    teach = page[page.index("<h2>Teachability</h2>"):page.index("<h2>Novelty</h2>")]
    forest = re.findall(r'<svg class="plot".*?</svg>', teach)[-1]
    labels = re.findall(r'text-anchor="end"(?: font-weight="bold")?>([^<]*)</text>', forest)
    assert labels == [f"\u2713 {IDS[0]}", f"\u2713 {IDS[1]}", IDS[2]]  # largest effect first
    assert forest.index("vs a student taught on random positions") < forest.index('class="axis"')  # legend on top
    assert "\u2713 teachable" in forest and forest.count('fill="#e6f4ea"') == 3  # legend swatch, two bands
    assert "2 of 3 passed the filter (marked)" in teach


def test_pass_rates_stand_beside_their_nulls(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=False), registry)
    teach = page[page.index("<h2>Teachability</h2>"):page.index("<h2>Novelty</h2>")]
    assert "66.7% (95% CI 20.8% to 93.8%)" in teach and teach.count("0.0% (95% CI 0.0% to 43.5%)") == 2
    rates = re.findall(r'<svg class="plot".*?</svg>', teach)[0]
    assert "mined concepts: share teachable 67% [21%, 94%]" in rates
    assert "random sparse: share teachable 0% [0%, 43%]" in rates
    assert "random dense: share teachable 0% [0%, 43%]" in rates
    assert _ticks(rates, "middle") == ["0%", "20%", "40%", "60%", "80%", "100%"]
    assert rates.count('fill="#8c8c8c"') == 2  # the nulls in grey beside the mined rate
    assert ("the root states of the 9 rollout positions whose own rollouts satisfy at least 100% of a concept&#x27;s "
            "constraints; median 5.0 per mined concept, 1.5 per null direction") in teach


def test_passing_candidates_are_drawn_with_their_footprint(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=False), registry)
    section = page[page.index("<h2>Teachable and novel candidates on the board</h2>"):
                   page.index("<h2>Exported concepts</h2>")]
    drawn = re.findall(r'<div class="footprint" id="footprint-([\w-]+)">(.*?)</div></div>', section)
    assert [cid for cid, _ in drawn] == IDS[:2]  # the two that passed, the failed IDS[2] left out
    cells = {cid: re.findall(r'<rect class="heat"[^>]*fill="(#\w+)"', body) for cid, body in drawn}
    # IDS[0]: |2| + |-1| = 3 at the centre (the largest), 1.5 at the top-left corner, nothing elsewhere
    assert cells[IDS[0]][4] == sequential_colour(1.0) and cells[IDS[0]][0] == sequential_colour(0.5)
    assert [c for i, c in enumerate(cells[IDS[0]]) if i not in (0, 4)] == [sequential_colour(0.0)] * 7
    assert cells[IDS[1]][8] == sequential_colour(1.0) and cells[IDS[1]].count(sequential_colour(0.0)) == 8
    assert "over the 8 channels of each square, scaled to the largest (3)" in drawn[0][1]
    assert 'data-cell="0" stroke="red"' in drawn[0][1] and 'data-cell="4" stroke="green"' in drawn[0][1]
    assert "teachable, novel; layer <code>block0</code>" in drawn[0][1]


def test_known_concepts_are_coloured_against_their_baseline(tmp_path, registry) -> None:
    page = render_report(make_run(tmp_path / "run", probe=True), registry)
    known = page[page.index("<h2>Known concepts</h2>"):page.index("<h2>Probing</h2>")]
    centre_stem = diverging_colour((0.8125 - 0.5312) / (1 - 0.5312))
    assert f'background:{centre_stem};color:#fff">0.812 (0.531)</td>' in known
    # the family means are coloured against the mean baseline of the family's concepts at that layer
    assert f'background:{diverging_colour((0.6667 - 0.4444) / (1 - 0.4444))};' in known


def test_the_default_footprint_needs_the_planes_grid() -> None:
    domain, state = TicTacToe(), TicTacToe().initial_state()
    heat = np.zeros((3, 3))
    heat[2, 1] = 1.0
    svg = domain.render_heatmap_svg(state, heat)
    cells = re.findall(r'<rect class="heat" x="(\d+)" y="(\d+)"[^>]*fill="(#\w+)"', svg)
    assert len(cells) == 9 and [(x, y) for x, y, fill in cells if fill == "#2166ac"] == [("32", "64")]
    assert "row 2, column 1: 1.00" in svg
    assert domain.render_heatmap_svg(state, np.zeros((8, 8))) is None  # not the planes' grid

    class Flat(TicTacToe):
        @property
        def observation_shape(self) -> tuple[int, ...]:
            return (27,)

    assert Flat().render_heatmap_svg(state, heat) is None  # no planes, no grid


def test_the_probing_grid_shows_each_score_against_its_best_baseline(tmp_path: Path) -> None:
    from conceptlab.report import _probing

    _write(tmp_path / "probe" / "probing.json", {
        "concepts": ["centre"], "checkpoints": ["ckpt-0002"], "layers": ["stem", "block0"],
        "score": [[[0.9, 0.75]]], "task": {"centre": "classification"},
        "best": {"centre": {"layer": "stem", "score": 0.9, "baseline": "input", "baseline_score": 0.8,
                            "gain": 0.1}},
    })
    grid = _probing(tmp_path)
    assert ">+0.100<" in grid and ">-0.050<" in grid  # 0.9 - 0.8 and 0.75 - 0.8
    assert 'title="score 0.9"' in grid and "input 0.8" in grid and "best baseline" in grid


def test_the_funnel_puts_the_nulls_expected_count_beside_each_filter(tmp_path, registry) -> None:
    run = make_run(tmp_path / "run", probe=False)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["stages"]["novelty"]["figures"] = {
        "assessed": 2, "novel": 1, "null_novel_share": {"share": 0.25, "ci_low": 0.05, "ci_high": 0.7}}
    _write(run / "manifest.json", manifest)
    page = render_report(run, registry)
    funnel = page[page.index('<table class="funnel">'):]
    funnel = funnel[:funnel.index("</table>")]
    rows = {cells[0]: cells[1:] for cells in
            (re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", funnel)) if cells}
    # 3 assessed x the sparse null's 0 of 6 (95% CI 0 to 0.435); 2 assessed x 0.25 (0.05 to 0.7)
    assert rows["teachable"] == ["2", "0.0 (0.0 to 1.3)"]
    assert rows["novel"] == ["1", "0.5 (0.1 to 1.4)"]
    assert rows["candidates"] == ["4", ""] and rows["exported"] == ["1", ""]
