"""Shipping a checkpoint series: its index, its checks, and the train stage's ``checkpoints = ["shipped"]``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import conceptlab_chess.agent as agent_module
from conceptlab.errors import CheckpointError, ComponentError
from conceptlab.pipeline import run_pipeline
from conceptlab.spec import spec_from_dict
from conceptlab_chess.agent import AlphaZeroChessAgent, shipped_series
from conceptlab_chess.bootstrap import ship_checkpoints
from conceptlab_chess.domain import ChessDomain

TINY = {"blocks": 1, "filters": 4, "value_hidden": 8}


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three tiny checkpoints of a bootstrap directory, steps 1 and 3 shipped into a folder the plugin reads."""
    agent = AlphaZeroChessAgent(ChessDomain(ChessDomain.Params(history=1)), AlphaZeroChessAgent.Params(**TINY))
    for step in (1, 2, 3):
        agent.save(tmp_path / "boot" / "checkpoints" / f"step-{step:04d}.pt", step=step, games=100 * step,
                   extra={"metrics": {"holdout_top1": 0.1 * step}})
    dest = tmp_path / "shipped"
    ship_checkpoints(tmp_path / "boot", [3, 1], dest, note="tiny")
    monkeypatch.setattr(agent_module, "SHIPPED_DIR", dest)
    return dest


def test_index_lists_the_series_oldest_first_with_the_teacher_last(shipped: Path) -> None:
    index = json.loads((shipped / "index.json").read_text())
    assert [e["file"] for e in index["checkpoints"]] == ["step-0001.pt", "teacher.pt"]
    assert [(e["step"], e["positions_seen"], e["role"]) for e in index["checkpoints"]] == [
        (1, 100, "earlier"), (3, 300, "teacher"),
    ]
    assert index["checkpoints"][1]["metrics"] == {"holdout_top1": pytest.approx(0.3)}
    assert index["architecture"]["params"]["blocks"] == 1 and index["note"] == "tiny"
    paths, _ = shipped_series()
    assert paths == [shipped / "step-0001.pt", shipped / "teacher.pt"]


def test_a_missing_step_cannot_be_shipped(shipped: Path, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not reached step 9"):
        ship_checkpoints(tmp_path / "boot", [1, 9], tmp_path / "elsewhere")


def test_an_altered_file_is_refused(shipped: Path) -> None:
    with (shipped / "teacher.pt").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(CheckpointError, match="SHA-256"):
        shipped_series()


def test_agent_of_other_params_is_told_which_params_fit(shipped: Path) -> None:
    agent = AlphaZeroChessAgent(ChessDomain(ChessDomain.Params(history=1)), AlphaZeroChessAgent.Params(blocks=2))
    with pytest.raises(CheckpointError, match="history = 1"):
        agent.shipped_checkpoints()


def test_no_index_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent_module, "SHIPPED_DIR", tmp_path)
    with pytest.raises(CheckpointError, match="no shipped checkpoints"):
        AlphaZeroChessAgent(ChessDomain()).shipped_checkpoints()


def _spec(checkpoints: list[str]) -> dict[str, object]:
    return {
        "name": "shipped", "executor": {"name": "serial"},
        "domain": {"name": "chess", "params": {"history": 1}},
        "agent": {"name": "az-chess", "params": TINY},
        "stages": {"train": {"checkpoints": checkpoints}},
    }


def test_train_stage_uses_the_shipped_series(shipped: Path, tmp_path: Path) -> None:
    run_pipeline(spec_from_dict(_spec(["shipped"])), tmp_path / "run", stages=["train"], progress=False)
    series = json.loads((tmp_path / "run" / "train" / "checkpoints.json").read_text())
    assert [(Path(s["path"]).name, s["step"]) for s in series] == [("step-0001.pt", 1), ("teacher.pt", 3)]
    # each file's hash is recorded, and a run's readers check it before they load the weights
    assert all(s["file_sha256"] == hashlib.sha256(Path(s["path"]).read_bytes()).hexdigest() for s in series)


def test_train_stage_refuses_shipped_checkpoints_of_another_size(shipped: Path, tmp_path: Path) -> None:
    spec = _spec(["shipped"])
    spec["agent"] = {"name": "az-chess", "params": {**TINY, "filters": 8}}
    with pytest.raises((CheckpointError, ComponentError), match="shipped checkpoints"):
        run_pipeline(spec_from_dict(spec), tmp_path / "run", stages=["train"], progress=False)


def test_the_shipped_series_is_intact_small_and_loads() -> None:
    from conceptlab_chess import cli
    from conceptlab_chess.agent import SHIPPED_DIR, load_agent

    paths, index = shipped_series()
    assert [p.name for p in paths][-1] == "teacher.pt" and len(paths) >= 2
    assert sum(p.stat().st_size for p in SHIPPED_DIR.iterdir()) <= 20 * 2**20
    steps = [entry["step"] for entry in index["checkpoints"]]
    assert steps == sorted(set(steps))
    teacher = cli._agent(None)  # what `conceptlab-chess uci` plays without --checkpoint
    assert Path(cli.DEFAULT_CHECKPOINT) == paths[-1]
    assert AlphaZeroChessAgent(teacher.domain).shipped_checkpoints() == paths
    for path, entry in zip(paths, index["checkpoints"]):
        assert load_agent(path).load(path).step == entry["step"]
    state = teacher.domain.initial_state()
    evaluation = teacher.evaluate([state])
    assert int(evaluation.policy[0].argmax()) in teacher.domain.legal_actions(state)


def test_an_agent_that_ships_nothing_is_one_clear_error(tmp_path: Path) -> None:
    spec = {"name": "none", "executor": {"name": "serial"}, "domain": {"name": "tictactoe"},
            "agent": {"name": "pvnet", "params": {"blocks": 1, "channels": 4, "hidden": 8}},
            "stages": {"train": {"checkpoints": ["shipped"]}}}
    with pytest.raises(ComponentError, match="'pvnet' ships no checkpoints"):
        run_pipeline(spec_from_dict(spec), tmp_path / "run", stages=["train"], progress=False)
