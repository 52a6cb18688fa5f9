"""The whole pipeline on an OpenSpiel game at tiny budgets, then a match against the MCTS bot."""

from __future__ import annotations

from pathlib import Path

import pytest

from conceptlab.pipeline import run_pipeline
from conceptlab.spec import STAGES, load_spec

from conceptlab_openspiel.cli import main

ROOT = Path(__file__).resolve().parents[3]
TINY = ROOT / "specs" / "connect_four-tiny.toml"


@pytest.mark.slow
def test_connect_four_tiny_runs_every_stage_and_plays_a_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    manifest = run_pipeline(load_spec(TINY), out, progress=False, source=str(TINY))
    assert all(manifest["stages"][stage]["status"] == "finished" for stage in STAGES)
    collect = manifest["stages"]["collect"]["figures"]
    assert collect["reference_source"] == "games from mcts:20" and collect["reference"] > 0
    assert manifest["stages"]["train"]["figures"]["checkpoints"] == 3
    novelty = manifest["stages"]["novelty"]["figures"]
    assert novelty["assessed"] > 0 and novelty["reference"] == "games from mcts:20"
    assert manifest["stages"]["export"]["figures"]["puzzles"] > 0
    assert any((out / "export" / "puzzles").rglob("*.json"))

    assert main(["match", str(out), "--games", "2", "--mcts-simulations", "10"]) == 0
    printed = capsys.readouterr().out
    assert "connect_four: agent pvnet checkpoint step 2" in printed
    assert "of 2 games" in printed and "MCTS bot (10 simulations" in printed
