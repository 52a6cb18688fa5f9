"""The export stage's puzzle files in the domain's text form, and the report of an exporting run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conceptlab.errors import ComponentError
from conceptlab.hookspecs import hookimpl
from conceptlab.pipeline import run_pipeline
from conceptlab.plugins import get_registry
from conceptlab.report import render_report
from conceptlab.spec import STAGES, load_spec
from conceptlab.stages.export import PUZZLE_FILES, puzzle_text_files
from conceptlab.study import load_puzzle_set
from conceptlab.testing.tictactoe import TicTacToe

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "specs" / "tictactoe-tiny.toml"


def exported(domain: TicTacToe, text: str, line: list[int], value: float) -> dict[str, Any]:
    """A puzzle as the export stage writes it in ``phase<n>.json``."""
    state = domain.from_text(text)
    return {"state": text, "solution": domain.action_to_text(state, line[0]), "solution_action": line[0],
            "line": [str(a) for a in line], "value": value}


def test_the_default_text_form_holds_positions_and_only_then_solutions() -> None:
    domain = TicTacToe()
    phases = {"phase1": [exported(domain, "XX.OO....", [2, 5], 0.75), exported(domain, ".........", [4], 0.0)],
              "phase3": [exported(domain, "X...O....", [8, 2, 6], -0.25)]}
    files = puzzle_text_files(domain, "c7", phases)
    assert sorted(files) == sorted(f"{stem}.txt" for stem, _, _ in PUZZLE_FILES)
    assert files["phase1.txt"] == "# c7 phase1 1\nXX.OO....\n\n# c7 phase1 2\n.........\n"
    assert files["phase2.txt"] == ("# c7 phase2 1\nXX.OO....\nsolution: 2; line: 2 5; value: 0.750\n\n"
                                   "# c7 phase2 2\n.........\nsolution: 4; line: 4; value: 0.000\n")
    assert files["phase3.txt"] == "# c7 phase3 1\nX...O....\n"
    assert files["phase3-solutions.txt"] == "# c7 phase3 solutions 1\nX...O....\nsolution: 8; line: 8 2 6; value: -0.250\n"


def test_a_bad_extension_from_a_domain_is_refused_by_name() -> None:
    class Sloppy(TicTacToe):
        def puzzle_files(self, label, puzzles, solutions):
            return {"../escape": "x"}

    with pytest.raises(ComponentError, match=r"extension '\.\./escape'"):
        puzzle_text_files(Sloppy(), "c", {"phase1": [], "phase3": []})


class _AcceptAll:
    """Test double: filters that pass every concept, so that the export stage has concepts."""

    @hookimpl
    def register_teachability_filters(self):
        from conceptlab.interfaces import TeachabilityFilter
        from conceptlab.values import Verdict

        class AcceptTeach(TeachabilityFilter):
            """Passes every concept."""
            name = "accept-all"
            def prepare(self, context, rng): pass
            def assess(self, concept, rng):
                return Verdict(concept.id, self.name, True, {"effect": 0.25, "effect_ci_low": 0.125,
                                                              "effect_ci_high": 0.375}, "accepted by the test double")

        return [AcceptTeach]

    @hookimpl
    def register_novelty_filters(self):
        from conceptlab.interfaces import NoveltyFilter
        from conceptlab.values import Verdict

        class AcceptNovel(NoveltyFilter):
            """Passes every concept."""
            name = "accept-all"
            def prepare(self, context, rng): pass
            def assess(self, concept, rng):
                return Verdict(concept.id, self.name, True, {"score_k=1": 0.5, "score_k=4": 0.0625},
                               "accepted by the test double")

        return [AcceptNovel]


@pytest.fixture(scope="module")
def exporting_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    registry = get_registry(extra_plugins=[("accept", _AcceptAll())])
    spec = load_spec(TINY, ["teachability.name=accept-all", "novelty.name=accept-all", "teachability.params={}"])
    out = tmp_path_factory.mktemp("runs") / "exporting"
    run_pipeline(spec, out, registry=registry, progress=False, stages=[s for s in STAGES if s != "probe"])
    return out, registry


def test_the_stage_writes_text_files_that_match_the_json_puzzles(exporting_run) -> None:
    run, _ = exporting_run
    index = json.loads((run / "export" / "puzzles" / "index.json").read_text())
    assert index["concepts"]
    domain = TicTacToe()
    for entry in index["concepts"]:
        folder = run / "export" / "puzzles" / entry["id"]
        phases = {p: json.loads((folder / f"{p}.json").read_text()) for p in ("phase1", "phase3")}
        assert entry["files"] == sorted(f"{stem}.txt" for stem, _, _ in PUZZLE_FILES)
        for name, text in puzzle_text_files(domain, entry["id"], phases).items():
            assert (folder / name).read_text() == text
        for puzzle in phases["phase1"]:
            assert f"{puzzle['state']}\nsolution: {puzzle['solution']}; line: {' '.join(puzzle['line'])}" \
                in (folder / "phase2.txt").read_text()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["stages"]["export"]["figures"]["puzzle_files"] == 4 * len(index["concepts"])
    skipped = manifest["stages"]["export"]["figures"]["positions_skipped_as_used"]
    assert skipped == index["positions_skipped_as_used"] and skipped > 0  # the concepts rank alike
    assert index["domain"] == "tictactoe" and index["domain_params"] == domain.params.model_dump(mode="json")
    states = [p["state"] for e in index["concepts"] for ph in ("phase1", "phase3")
              for p in json.loads((run / "export" / "puzzles" / e["id"] / f"{ph}.json").read_text())]
    assert len(states) == len(set(states)) == manifest["stages"]["export"]["figures"]["puzzles"]
    assert len(load_puzzle_set(run / "export" / "puzzles", domain).concepts) == len(index["concepts"])


def test_the_report_shows_every_exported_card_with_its_numbers(exporting_run) -> None:
    run, registry = exporting_run
    page = render_report(run, registry)
    cards = sorted((run / "export" / "cards").glob("*.json"))
    assert cards
    for path in cards:
        card = json.loads(path.read_text())
        assert f"<h3><code>{card['id']}</code></h3>" in page
        assert "agent plays <b>" + card["agent_lines"]["chosen"][0] + "</b>" in page
        assert "phase3-solutions.txt" in page
    assert page.count("+0.250 [+0.125, +0.375]") == len(cards)  # each concept's effect and interval
    assert "This run has no known-concept validation" in page and "This run has no probing results" in page
    for external in ("<script src", "<link", "http://", "https://", "@import", "url("):
        assert external not in page



def test_the_report_draws_each_teachable_candidate_with_its_footprint(exporting_run) -> None:
    run, registry = exporting_run
    page = render_report(run, registry)
    section = page[page.index('<section id="footprints">'):page.index('<section id="exported">')]
    teachable = [v["concept_id"] for v in json.loads((run / "teach" / "summary.json").read_text()) if v["passed"]]
    assert teachable
    for cid in teachable:
        board = section[section.index(f'<div class="footprint" id="footprint-{cid}">'):]
        board = board[:board.index("</div></div>")]
        cells = re.findall(r'<rect class="heat"[^>]*>', board)
        assert len(cells) == 9, cid  # the 3x3 grid of the agent's block0 (8 channels over the board)
        assert sum('fill="#2166ac"' in c for c in cells) >= 1, cid  # the heaviest square at full colour
        assert "sum of |v| over the 8 channels" in board

@pytest.mark.slow
def test_concepts_the_pool_cannot_place_are_listed_not_exported(tmp_path: Path) -> None:
    registry = get_registry(extra_plugins=[("accept", _AcceptAll())])
    spec = load_spec(TINY, ["teachability.name=accept-all", "novelty.name=accept-all", "teachability.params={}",
                            "stages.collect.pool_size=3"])
    run = tmp_path / "small-pool"
    run_pipeline(spec, run, registry=registry, progress=False, stages=[s for s in STAGES if s != "probe"])
    index = json.loads((run / "export" / "puzzles" / "index.json").read_text())
    figures = json.loads((run / "manifest.json").read_text())["stages"]["export"]["figures"]
    placed = [e["id"] for e in index["concepts"]]
    unplaced = index["concepts_without_positions"]
    assert unplaced and figures["concepts_without_positions"] == len(unplaced)
    assert not set(placed) & set(unplaced)
    assert sorted(placed) == sorted(p.stem for p in (run / "export" / "cards").glob("*.json"))
    assert len(placed) + len(unplaced) == len(json.loads((run / "teach" / "summary.json").read_text()))
    assert all(e["phase1"] >= 1 and e["phase3"] >= 1 for e in index["concepts"])
    assert figures["puzzles"] <= 3 and not any((run / "export" / "puzzles" / cid).exists() for cid in unplaced)
