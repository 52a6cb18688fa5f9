"""The report of a run built from hand-made artifacts: its numbers, tables, plots and boards."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from conceptlab.hookspecs import hookimpl
from conceptlab.plugins import get_registry
from conceptlab.report import render_report, write_report
from conceptlab.spec import STAGES, load_spec
from conceptlab.testing.tictactoe import Board, TicTacToe
from conceptlab.values import Action

TINY = Path(__file__).resolve().parents[1] / "specs" / "tictactoe-tiny.toml"
IDS = ["c0000-p000-block0-active-all", "c0001-p001-block0-active-all", "c0002-p002-block0-active-all"]


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


def make_run(root: Path, probe: bool) -> Path:
    """A run directory with every artifact the report reads, and known numbers in each."""
    spec = load_spec(TINY, ["domain.name=tictactoe-arrows"])
    _write(root / "spec.json", spec.model_dump(mode="json"))
    _write(root / "manifest.json", {
        "spec_hash": "ab" * 32, "created": "2026-01-01T00:00:00Z", "versions": {"conceptlab": "0"},
        "stages": {s: {"status": "finished", "seconds": 0.5, "units": 1, "figures": {}} for s in STAGES}})
    _write(root / "mine" / "concepts.json", [
        {"id": cid, "ok": True, "status": "optimal", "reason": "", "metrics": {"l0": 4.0}} for cid in IDS
    ] + [{"id": "c0003-failed", "ok": False, "status": "infeasible", "reason": "no direction", "metrics": {}}])
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
    for external in ("<script", "<link", "http://", "https://", "@import", "url("):
        assert external not in page, external


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
    assert re.findall(r"<text[^>]*>(\d+)</text>", funnel) == ["4", "3", "2", "1", "1"]
    teach = page[page.index("<h2>Teachability</h2>"):page.index("<h2>Novelty</h2>")]
    assert "95% confidence intervals" in teach
    assert f"{IDS[0]}: vs a student taught on random positions +0.438 [+0.188, +0.688]" in teach
    assert f"{IDS[0]}: vs a student taught on a random concept +0.312 [+0.062, +0.562]" in teach
    assert f"{IDS[2]}: vs a student taught on random positions -0.125 [-0.375, +0.125]" in teach
    novelty = page[page.index("<h2>Novelty</h2>"):page.index("<h2>Exported concepts</h2>")]
    assert novelty.count("<polyline") == 2 and all(cid in novelty for cid in IDS[:2])
    assert re.findall(r'text-anchor="middle">(\d+)</text>', novelty) == ["1", "2", "4"]  # the k axis
    assert page.count('<svg class="plot"') == 4  # funnel, teachability, novelty, amplification
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
