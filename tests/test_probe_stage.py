"""The probe stage: known-concept validation and probing, on tic-tac-toe's known concepts."""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from conceptlab.arrays import save_npz
from conceptlab.errors import SpecError
from conceptlab.hookspecs import hookimpl
from conceptlab.pipeline import run_pipeline
from conceptlab.plugins import get_registry
from conceptlab.rundir import RunDir
from conceptlab.spec import apply_overrides, spec_from_dict
from conceptlab.stages.probe import _usable, _validation_unit, best_by_validation, pair_accuracy
from conceptlab.testing.tictactoe import Board, TicTacToe

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "specs" / "tictactoe-tiny.toml"


class _NoKnownConcepts(TicTacToe):
    """Tic-tac-toe that names no known concepts."""

    name: ClassVar[str] = "tictactoe-plain"

    def known_concepts(self) -> Mapping[str, tuple[str, Callable[[Board], bool | float]]]:
        return {}


class _WithConstantConcept(TicTacToe):
    """Tic-tac-toe with one concept that holds on every position."""

    name: ClassVar[str] = "tictactoe-constant"

    def known_concepts(self) -> Mapping[str, tuple[str, Callable[[Board], bool | float]]]:
        return {**super().known_concepts(), "nine_cells": ("board", lambda state: len(state) == 9)}


class _Domains:
    @hookimpl
    def register_domains(self) -> list[type]:
        return [_NoKnownConcepts, _WithConstantConcept]


def _data(*overrides: str) -> dict[str, Any]:
    return apply_overrides(tomllib.loads(TINY.read_text()), overrides)


@pytest.fixture(scope="module")
def registry() -> Any:
    return get_registry(extra_plugins=[("test-domains", _Domains())])


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory, registry: Any) -> Path:
    out = tmp_path_factory.mktemp("probe") / "base"
    run_pipeline(spec_from_dict(_data()), out, stages=["train", "collect"], registry=registry, progress=False)
    return out


def _probe(upstream: Path, out: Path, registry: Any, *overrides: str) -> dict[str, Any]:
    """The probe stage of the tiny spec with ``overrides``, on the upstream run's train and collect."""
    spec = spec_from_dict(_data(*overrides))
    run_dir = RunDir(out, spec)
    run_dir.open()
    for stage in ("train", "collect"):
        shutil.copytree(upstream / stage, out / stage)
        run_dir.update_stage(stage, status="finished", hash=run_dir.stage_hashes[stage])  # grafted as they are
    return run_pipeline(spec, out, stages=["probe"], resume=True, registry=registry, progress=False)


@pytest.fixture(scope="module")
def probed(upstream: Path, registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("probe") / "run"
    _probe(upstream, out, registry)
    return out


def test_pair_accuracy_counts_ties_half() -> None:
    assert pair_accuracy(np.array([2.0, 3.0]), np.array([1.0])) == 1.0
    assert pair_accuracy(np.array([0.0, 0.0]), np.array([0.0, 0.0])) == 0.5
    assert pair_accuracy(np.array([1.0]), np.array([0.0, 1.0, 2.0])) == pytest.approx(0.5)


def _planted(tmp_path: Path, signal: float, seed: int = 0) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(seed)
    present = rng.random(240) < 0.4
    acts = np.maximum(rng.normal(size=(240, 40)), 0.0)
    acts[:, 7] += signal * present
    folder = tmp_path / "acts"
    save_npz(folder / "00000.npz", layer=acts[:120].astype(np.float32))
    save_npz(folder / "00001.npz", layer=acts[120:].astype(np.float32))
    return folder, present


@pytest.mark.parametrize("method", ["miner", "probe"])
def test_validation_recovers_a_planted_concept_and_not_noise(method: str, tmp_path: Path) -> None:
    payload = {
        "spec": spec_from_dict(_data()).model_dump(mode="json"), "concept": "planted", "family": "test",
        "layers": ["layer"], "method": method, "test_fraction": 0.25, "max_pairs": 200,
        "strength": 0.01, "max_iter": 1000, "seed": 3,
    }
    folder, present = _planted(tmp_path / "signal", signal=3.0)
    result = _validation_unit({**payload, "folder": str(folder), "present": present.astype(int).tolist()})
    (row,) = result["rows"]
    assert row["test_accuracy"] >= 0.95
    assert row["n_train"] + row["n_test"] == 240 and row["n_test"] == pytest.approx(60, abs=1)
    assert row["baseline_accuracy"] < 0.8

    folder, _ = _planted(tmp_path / "noise", signal=0.0)
    noise = np.random.default_rng(9).random(240) < 0.4
    result = _validation_unit({**payload, "folder": str(folder), "present": noise.astype(int).tolist()})
    rows = result["rows"]
    assert result["failures"] or rows[0]["test_accuracy"] < 0.8


def test_the_stage_writes_validation_and_probing_artifacts(probed: Path) -> None:
    manifest = json.loads((probed / "manifest.json").read_text())
    figures = manifest["stages"]["probe"]["figures"]
    assert figures["usable"] >= 2 and "skipped" not in figures

    known = json.loads((probed / "probe" / "known_concepts.json").read_text())
    assert known["checkpoint"] == "ckpt-0002"
    assert "'convex'" in known["method"]
    assert known["rows"]
    for row in known["rows"]:
        assert isinstance(row["concept"], str) and isinstance(row["family"], str)
        assert isinstance(row["layer"], str)
        assert 0.0 <= row["test_accuracy"] <= 1.0 and 0.0 <= row["baseline_accuracy"] <= 1.0
        assert isinstance(row["n_train"], int) and isinstance(row["n_test"], int) and row["n_test"] > 0
    for concept, best in known["best"].items():
        # the best layer is chosen on the validation games and reported with its test score
        rows = [r for r in known["rows"] if r["concept"] == concept]
        expected = best_by_validation({r["layer"]: (r["validation_accuracy"], r["test_accuracy"]) for r in rows})
        assert best["layer"] == expected["layer"] and best["test_accuracy"] == expected["test"]
    for family, by_layer in known["families"].items():
        for layer, mean in by_layer.items():
            scores = [r["test_accuracy"] for r in known["rows"] if r["family"] == family and r["layer"] == layer]
            assert mean == pytest.approx(np.mean(scores))

    probing = json.loads((probed / "probe" / "probing.json").read_text())
    assert probing["checkpoints"] == ["ckpt-0000", "ckpt-0001", "ckpt-0002"]
    assert probing["layers"] == ["stem", "block0", "policy_head", "value_head"]
    assert set(probing["task"]) == set(probing["concepts"])
    assert probing["task"]["corners_taken"] == "regression"
    assert probing["task"]["centre_occupied"] == "classification"
    score = np.array(probing["score"], dtype=float)
    assert score.shape == (len(probing["concepts"]), 3, 4)
    assert np.all(np.isfinite(score))
    classification = [i for i, c in enumerate(probing["concepts"]) if probing["task"][c] == "classification"]
    assert np.all((score[classification] >= 0) & (score[classification] <= 1))


def test_probing_uses_the_same_split_for_every_checkpoint(probed: Path) -> None:
    units = sorted((probed / "probe" / "probes").glob("*.json"))
    assert units
    labels = json.loads((probed / "probe" / "labels.json").read_text())
    assert len(labels["positions"]) == len(next(iter(labels["labels"].values())))


def test_validation_by_probe_is_a_one_line_change(upstream: Path, registry: Any, tmp_path: Path) -> None:
    _probe(upstream, tmp_path / "run", registry, 'stages.probe.validation="probe"')
    known = json.loads((tmp_path / "run" / "probe" / "known_concepts.json").read_text())
    assert known["method"].startswith("sparse (L1) logistic probe")
    layers = {row["layer"] for row in known["rows"]}
    assert len(known["rows"]) == len(known["best"]) * len(layers) > 0
    for row in known["rows"]:
        # the training split's majority class, scored on the test split
        assert 0.0 <= row["baseline_accuracy"] <= 1.0 and row["nonzero"] <= row["dim"]


def test_a_domain_without_known_concepts_is_skipped_with_its_reason(
    upstream: Path, registry: Any, tmp_path: Path
) -> None:
    manifest = _probe(upstream, tmp_path / "run", registry, 'domain.name="tictactoe-plain"')
    record = manifest["stages"]["probe"]
    assert record["status"] == "finished"
    assert "names no known concepts" in record["figures"]["skipped"]
    assert not (tmp_path / "run" / "probe" / "known_concepts.json").exists()


def test_a_constant_concept_is_left_out_with_its_reason(upstream: Path, registry: Any, tmp_path: Path) -> None:
    _probe(upstream, tmp_path / "run", registry, 'domain.name="tictactoe-constant"')
    known = json.loads((tmp_path / "run" / "probe" / "known_concepts.json").read_text())
    probing = json.loads((tmp_path / "run" / "probe" / "probing.json").read_text())
    assert "present in" in known["skipped"]["nine_cells"]
    assert "nine_cells" not in probing["concepts"] and "nine_cells" not in known["best"]


def test_unknown_concepts_and_layers_are_refused_naming_the_fix(
    upstream: Path, registry: Any, tmp_path: Path
) -> None:
    with pytest.raises(SpecError, match="did you mean 'centre_occupied'"):
        _probe(upstream, tmp_path / "a", registry, 'stages.probe.concepts=["centre_ocupied"]')
    with pytest.raises(SpecError, match="unknown layer 'blok0'"):
        _probe(upstream, tmp_path / "b", registry, 'stages.probe.layers=["blok0"]')


def test_usable_needs_examples_on_both_sides() -> None:
    task, split, reason = _usable(np.array([1.0] * 30 + [0.0] * 3), True, 4)
    assert split is None and "present in 30 of 33" in reason and task == "classification"
    task, split, reason = _usable(np.arange(20, dtype=float), False, 4)
    assert task == "regression" and split is not None and split.sum() == 10 and not reason


def test_bench_probe_pairs_reruns_the_stages_validation(probed: Path) -> None:
    from conceptlab.bench.probe import bench_probe_pairs
    from conceptlab.errors import ParamsError

    known = json.loads((probed / "probe" / "known_concepts.json").read_text())
    small, stage_budget = bench_probe_pairs(probed, [10, 50])  # the tiny spec's max_pairs is 50
    # at the stage's own budget, the rerun reaches the stage's figures exactly
    assert stage_budget["best"] == {name: best["test_accuracy"] for name, best in known["best"].items()}
    assert stage_budget["max_abs_change"] == 0.0 and stage_budget["outside_interval"] == []
    assert small["max_pairs"] == 10 and small["seconds"] > 0
    assert set(small["best"]) <= set(stage_budget["best"])
    assert small["max_abs_change"] >= small["mean_abs_change"] >= 0.0
    assert set(small["outside_interval"]) <= set(small["best"])
    with pytest.raises(ParamsError, match=r"\[0\]"):
        bench_probe_pairs(probed, [0])


def test_auc_standard_error_matches_hanley_mcneil() -> None:
    from conceptlab.bench.probe import auc_standard_error

    # A = 0.9 with 50 and 50 cases: Q1 = 0.9 / 1.1, Q2 = 1.62 / 1.9, SE = 0.0321 by their formula
    assert auc_standard_error(0.9, 50, 50) == pytest.approx(0.0321, abs=0.0005)
    assert auc_standard_error(0.9, 200, 200) < auc_standard_error(0.9, 50, 50)


def test_every_concept_is_scored_beside_its_baselines(probed: Path) -> None:
    figures = json.loads((probed / "manifest.json").read_text())["stages"]["probe"]["figures"]
    assert figures["split_by_game"] is True
    assert figures["concepts"] == figures["usable"] + figures["skipped_concepts"] == 5
    for key in ("validation_gain_over_baseline", "probe_gain_over_baseline"):  # accuracy points
        assert isinstance(figures[key], float) and -1.0 <= figures[key] <= 1.0
    assert isinstance(figures["probe_gain_over_baseline_r2"], float)  # R^2 has no lower bound
    # no wall-clock time in the figures or the unit records: resumed and distributed runs must match
    assert not [key for key in figures if "second" in key]
    assert not [p.name for p in (probed / "probe").rglob("*.json") if '"seconds"' in p.read_text()]
    assert 0 <= figures["probe_fits_at_cap"] <= figures["probes"]

    known = json.loads((probed / "probe" / "known_concepts.json").read_text())
    labelled = json.loads((probed / "probe" / "labels.json").read_text())
    assert len(set(labelled["games"])) >= 3
    assert known["baselines"] == ["input", "untrained"] and known["split_by_game"]
    layers = {row["layer"] for row in known["rows"]}
    for concept, best in known["best"].items():
        theirs = [r for r in known["baseline_rows"] if r["concept"] == concept]
        assert {r["layer"] for r in theirs if r["features"] == "untrained"} == layers
        assert [r["layer"] for r in theirs if r["features"] == "input"] == ["input"]
        assert best["chosen_on"] == "validation"
        mine = {r["layer"]: r for r in known["rows"] if r["concept"] == concept}
        assert best["validation_accuracy"] == max(r["validation_accuracy"] for r in mine.values())
        assert set(best["baselines"]) >= {"random directions", "input"}
        assert best["baseline_score"] == max(best["baselines"].values())
        assert best["gain"] == pytest.approx(best["test_accuracy"] - best["baseline_score"])
        # no game on two sides: the rows' parts add up to every labelled position
        row = mine[best["layer"]]
        assert row["n_train"] + row["n_validation"] + row["n_test"] == len(labelled["positions"])
        assert row["n_validation"] > 0

    probing = json.loads((probed / "probe" / "probing.json").read_text())
    n = len(probing["concepts"])
    assert np.array(probing["baselines"]["input"]["score"], dtype=float).shape == (n, 1)
    assert np.array(probing["baselines"]["untrained"]["score"], dtype=float).shape == (n, len(probing["layers"]))
    gains = [probing["best"][c]["gain"] for c in probing["concepts"] if probing["task"][c] == "classification"]
    assert figures["probe_gain_over_baseline"] == pytest.approx(np.mean(gains), abs=1e-4)
    for concept, best in probing["best"].items():
        assert {"input"} <= set(best["baselines"]) and any(k.startswith("untrained ") for k in best["baselines"])


def test_the_untrained_baseline_is_the_train_stages_first_checkpoint(probed: Path) -> None:
    # the tiny spec trains its own series, whose checkpoint 0 is the freshly initialised net
    from conceptlab.stages.common import load_activations

    for layer in ("stem", "policy_head"):
        untrained = load_activations(probed / "probe" / "acts-untrained", layer)
        first = load_activations(probed / "probe" / "acts-000", layer)
        final = load_activations(probed / "probe" / "acts-002", layer)
        np.testing.assert_array_equal(untrained, first)
        assert not np.array_equal(untrained, final)


def test_baselines_can_be_turned_off(upstream: Path, registry: Any, tmp_path: Path) -> None:
    manifest = _probe(upstream, tmp_path / "run", registry, "stages.probe.baselines=[]")
    known = json.loads((tmp_path / "run" / "probe" / "known_concepts.json").read_text())
    assert known["baseline_rows"] == [] and not (tmp_path / "run" / "probe" / "untrained.pt").exists()
    for best in known["best"].values():
        assert set(best["baselines"]) == {"random directions"}
    assert manifest["stages"]["probe"]["status"] == "finished"


def test_held_out_parts_that_leave_nothing_to_train_on_are_refused() -> None:
    with pytest.raises(SpecError, match="leaves no positions to train on"):
        spec_from_dict(_data("stages.probe.test_fraction=0.5", "stages.probe.validation_fraction=0.5"))
