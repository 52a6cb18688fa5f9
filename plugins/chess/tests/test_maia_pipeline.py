"""specs/chess-maia.toml end to end (every stage) at tiny budgets: Maia-1900 as weaker player,
reference player and student, each named in the run's figures and report."""

from __future__ import annotations

import json
from pathlib import Path

from conceptlab.pipeline import run_pipeline
from conceptlab.plugins import get_registry
from conceptlab.report import render_report
from conceptlab.spec import load_spec

SPEC = Path(__file__).resolve().parents[3] / "specs" / "chess-maia.toml"
TINY = [
    "search.params.simulations=8", "search.params.batch_size=4",
    "stages.collect.games=2", "stages.collect.max_moves=30", "stages.collect.positions_examined=24",
    "stages.collect.max_positions=4", "stages.collect.pool_size=120", "stages.collect.reference_size=60",
    "stages.collect.rollout.plies=3", "stages.collect.rollout_search.simulations=8",
    "stages.collect.reference_temperature=0.5",
    "teachability.params.min_prototypes=3", "teachability.params.prototype_fraction=0.05",
    "teachability.params.bootstrap_samples=100", "teachability.params.epochs=1",
    "stages.teach.max_concepts=3",
    # 4 rollout positions are too few for the paper's prototype rule (a concept holds on 1 or 2): Maia is
    # taught here on the top of the pool, so that the student role is exercised
    "stages.teach.dynamic_prototypes='top'", "stages.amplify.positions=4", "stages.export.puzzles_per_phase=1",
    "stages.probe.positions=40", "stages.probe.layers=['block5']",
]


def test_maia_plays_its_three_roles(tmp_path, maia_weights):
    spec = load_spec(SPEC, TINY)
    run_pipeline(spec, tmp_path / "run", progress=False)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert all(record["status"] == "finished" for record in manifest["stages"].values()), manifest["stages"]
    collect = manifest["stages"]["collect"]["figures"]
    assert collect["weaker_player"] == "player 'maia' (lc0 weights=maia-1900)"
    assert collect["reference_source"].startswith("games of player 'maia' (lc0 weights=maia-1900) sampling its policy")
    assert collect["reference"] == 60 and collect["positions_examined"] > 0
    # where the teacher and Maia disagree: every kept position has two different choices
    for record in json.loads((tmp_path / "run" / "collect" / "rollouts.json").read_text()):
        assert record["final_action"] != record["weaker_action"]
    teach = manifest["stages"]["teach"]["figures"]
    assert teach["student"] == "agent:maia"
    verdicts = json.loads((tmp_path / "run" / "teach" / "summary.json").read_text())
    taught = [v for v in verdicts if "agent:maia" in v["reason"]]
    assert taught, [v["reason"] for v in verdicts]
    assert manifest["stages"]["novelty"]["status"] == "finished"
    page = render_report(tmp_path / "run", get_registry())
    assert "student of the teachability filter: agent:maia" in page
    assert "weaker player of the disagreement search: player &#x27;maia&#x27; (lc0 weights=maia-1900)" in page
