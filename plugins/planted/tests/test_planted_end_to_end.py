"""The planted benchmark at tiny budgets: `conceptlab bench recovery` with its control game,
then `conceptlab planted rule-use` on the run it trained."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from conceptlab.cli import main as conceptlab
from conceptlab.pipeline import run_pipeline
from conceptlab.spec import load_spec

from conceptlab_planted.cli import main as planted

ROOT = Path(__file__).resolve().parents[3]
TINY = ROOT / "specs" / "planted-tiny.toml"

FIELDS = ("recall_auc", "prototype_precision", "surviving", "surviving_planted",
          "surviving_control_game", "null_surviving_expected")


@pytest.mark.slow
def test_recovery_bench_and_rule_use_on_the_tiny_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, figures_path = tmp_path / "run", tmp_path / "recovery.json"
    status = conceptlab([
        "bench", "recovery", str(TINY), "--out", str(out), "--shared-concept", "line_threat",
        "--control-set", "domain.params.planted=false", "--seeds", "19,23", "--json", str(figures_path),
    ])
    assert status == 0
    over_seeds = json.loads(figures_path.read_text())
    assert set(FIELDS) <= set(over_seeds) and over_seeds["seeds"] == [19, 23]
    rows = over_seeds["per_seed"]
    assert [row["run"] for row in rows] == [str(tmp_path / "run-seed-19"), str(tmp_path / "run-seed-23")]
    assert over_seeds["surviving"] == sum(row["surviving"] for row in rows)
    assert over_seeds["seeds_recovered"] == sum(row["surviving_planted"] > 0 for row in rows)
    assert over_seeds["recall_auc"] == [row["recall_auc"] for row in rows]
    assert rows[0]["candidates"] != rows[1]["candidates"] or rows[0]["best_candidate_auc"] != rows[1]["best_candidate_auc"]
    assert over_seeds["control_run"] == str(tmp_path / "run-control")
    out, figures = tmp_path / "run-seed-19", rows[0]
    assert figures["prototype_rule"] == "rollouts"  # the spec's teach stage takes the paper's rule
    _check_prototype_precision(out, figures)
    numbers = [v for v in figures.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    assert all(math.isfinite(v) for v in numbers)
    assert figures["candidates"] > 0 and 0.0 < figures["predicate_share"] < 1.0
    assert 0.0 <= figures["best_candidate_auc"] <= 1.0 and 0.0 <= figures["shared_best_auc"] <= 1.0
    assert figures["surviving_planted"] <= figures["surviving"] <= figures["candidates"]
    if figures["surviving"]:  # at these budgets a survivor is chance; its figures must then be there
        assert 0.0 <= figures["recall_auc"] <= 1.0 and 0.0 <= figures["prototype_precision"] <= 1.0
    else:
        assert figures["recall_auc"] is None and figures["prototype_precision"] is None
    low, high = figures["null_surviving_ci_low"], figures["null_surviving_ci_high"]
    assert low <= figures["null_surviving_expected"] <= high
    assert isinstance(over_seeds["surviving_control_game"], int)
    # the best candidate's AUC has its null (as many random sparse directions) and its ceiling (a probe)
    assert figures["null_auc_directions"] == figures["candidates"]
    assert 0.0 <= figures["null_median_auc"] <= figures["null_best_auc"] <= 1.0
    assert figures["probe_auc"] is None or 0.0 <= figures["probe_auc"] <= 1.0
    verdicts = figures["planted_verdicts"]
    assert set(verdicts) == {"teachability", "novelty"} and "passed" in verdicts["teachability"]
    assert "recall_auc" in capsys.readouterr().out

    use_path = tmp_path / "rule_use.json"
    assert planted(["rule-use", str(out), "--games", "2", "--agent-simulations", "4", "--json", str(use_path)]) == 0
    use = json.loads(use_path.read_text())
    assert use["games"] == 2 and use["trained_on"] == "the variant" and use["step"] == 2
    assert use["wins"] + use["draws"] + use["losses"] == 2 and 0.0 <= use["predicate_share"] <= 1.0
    standard = tmp_path / "run-control" / "train" / "checkpoints" / "ckpt-0002.pt"
    assert planted(["rule-use", str(out), "--checkpoint", "0", "--games", "2", "--agent-simulations", "4",
                    "--opponent", str(standard), "--json", str(use_path)]) == 0
    use = json.loads(use_path.read_text())
    assert use["step"] == 0 and use["opponent"] == "pvnet ckpt-0002.pt (step 2) on the standard rules"

    # the cast of specs/planted.toml at tiny budgets: the variant's run as teacher, its first
    # checkpoint as student, the control run (standard rules) as reference player
    cast = _cast_spec(tmp_path, teacher=out, reference=tmp_path / "run-control")
    manifest = run_pipeline(load_spec(cast), tmp_path / "cast", stages=["train", "collect", "mine", "teach", "novelty"],
                            progress=False, source=str(cast))
    assert manifest["stages"]["train"]["figures"] == {"checkpoints": 2, "trained": False}
    assert manifest["stages"]["teach"]["figures"]["student"] == "agent:student"
    assert manifest["stages"]["collect"]["figures"]["reference_source"].startswith("games of player 'reference'")


def _check_prototype_precision(run: Path, figures: dict) -> None:
    """The best candidate's prototype precision, recomputed from the positions its rollouts satisfy."""
    from conceptlab_planted.domain import PlantedConnect, PlantedParams

    domain = PlantedConnect(PlantedParams(**json.loads((run / "spec.json").read_text())["domain"]["params"]))
    rollouts = json.loads((run / "collect" / "rollouts.json").read_text())
    support = json.loads((run / "teach" / "rollout_support.json").read_text())["support"]
    found = support[figures["best_candidate"]]
    if not found:
        assert figures["best_candidate_prototype_precision"] is None
        return
    share = sum(domain.planted_predicate(domain.from_text(rollouts[i]["state"]), 1) for i in found) / len(found)
    assert figures["best_candidate_prototype_precision"] == pytest.approx(share, abs=1e-4)


def test_rule_use_refuses_a_run_directory_that_is_not_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert planted(["rule-use", str(tmp_path)]) == 2
    assert "is not a run directory (no spec.json)" in capsys.readouterr().err
    assert planted(["rule-use", str(tmp_path), "--games", "0"]) == 2


def test_recovery_refuses_a_concept_the_domain_does_not_name(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    status = conceptlab(["bench", "recovery", str(ROOT / "specs" / "tictactoe-tiny.toml"),
                         "--out", str(tmp_path / "run"), "--concept", "nope"])
    assert status != 0
    assert "no known concept 'nope'" in capsys.readouterr().err


def _cast_spec(tmp_path: Path, *, teacher: Path, reference: Path) -> Path:
    """The tiny spec with the roles of specs/planted.toml, its players read from checkpoint files."""
    net = "blocks = 1, channels = 8, value_hidden = 16"
    text = TINY.read_text().replace('name = "planted-tiny"', 'name = "planted-tiny-cast"')
    text = text.replace('reference_player = "random"', 'reference_player = "agent:reference"')
    first, last = teacher / "train/checkpoints/ckpt-0000.pt", teacher / "train/checkpoints/ckpt-0002.pt"
    text = text.replace("[stages.train]\n", f"[stages.train]\ncheckpoints = ['{first}', '{last}']\n")
    text = text.replace("[stages.teach]\n", "[stages.teach]\nstudent = 'agent:student'\n")
    text += (
        f"\n[players.reference]\nname = 'pvnet-checkpoint'\n"
        f"params = {{ {net}, checkpoint = '{reference / 'train/checkpoints/ckpt-0002.pt'}' }}\n"
        f"\n[players.student]\nname = 'pvnet-checkpoint'\n"
        f"params = {{ {net}, checkpoint = '{teacher / 'train/checkpoints/ckpt-0000.pt'}' }}\n"
    )
    path = tmp_path / "cast.toml"
    path.write_text(text)
    return path


def test_recovery_refuses_a_missing_player_file_before_any_stage(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent"
    cast = _cast_spec(tmp_path, teacher=missing, reference=missing)
    status = conceptlab(["bench", "recovery", str(TINY), "--out", str(tmp_path / "run"), "--control", str(cast)])
    assert status != 0
    assert "checkpoint file not found" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
