"""The teach stage on the tiny spec: dynamic concepts' prototypes are the rollout positions that satisfy them."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from conceptlab.activations import read_layer
from conceptlab.concepts.nulls import null_concepts
from conceptlab.errors import RunDirError
from conceptlab.pipeline import run_pipeline
from conceptlab.run.context import _key_int
from conceptlab.run.store import concept_from_record, read_candidates
from conceptlab.spec import load_spec
from conceptlab.stages.teach import _rollout_games
from conceptlab.testing.harness import run_cli

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "specs" / "tictactoe-tiny.toml"
UPSTREAM = ["train", "collect", "mine"]


def _read(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def taught(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny spec through the teach stage (dynamic prototypes from rollouts, the default)."""
    out = tmp_path_factory.mktemp("teach") / "tiny"
    run_pipeline(load_spec(TINY), out, stages=[*UPSTREAM, "teach"], progress=False)
    return out


def _satisfied(vector: np.ndarray, acts: np.ndarray, rollouts: list[dict[str, Any]], sign: int,
               steps: str, share: float = 1.0) -> list[int]:
    """The rollout positions where at least ``share`` of the pairs have sign * v.(chosen - subpar) > 0,
    written out from the stacked rows (chosen line, then each subpar line, position by position)."""
    presence = acts.reshape(len(acts), -1).astype(np.float64) @ vector
    found, row = [], 0
    for index, record in enumerate(rollouts):
        chosen = presence[row:row + len(record["chosen"]["states"])]
        row += len(chosen)
        outcomes = []
        for line in record["subpar"]:
            depth, values = line["branch_depth"], presence[row:row + len(line["states"])]
            row += len(values)
            for t in range(depth + 1, len(chosen)):
                kept = steps == "all" or (t % 2 == 0) == (steps == "even")
                if t - depth < len(values) and kept:
                    outcomes.append(sign * (chosen[t] - values[t - depth]) > 0)
        if outcomes and np.mean(outcomes) >= share:
            found.append(index)
    assert row == len(acts)
    return found


def _expected_support(run: Path, share: float = 1.0) -> dict[str, list[int]]:
    """Concept and null id -> its satisfying rollout positions, from the run's arrays alone."""
    rollouts = _read(run / "collect" / "rollouts.json")
    candidates = {c["id"]: c for c in read_candidates(run) if c["vector"] is not None}
    expected = {}
    vectors = _null_vectors(run)
    for cid, record in candidates.items():
        acts = read_layer(run / "collect" / "rollout_acts", record["layer"])
        expected[cid] = _satisfied(np.asarray(record["vector"]), acts, rollouts,
                                   record["sign"], record["steps"], share)
    nulls = {n["id"]: n for n in _read(run / "teach" / "null_directions.json")}
    for verdict in _read(run / "teach" / "null_summary.json"):
        null = nulls[verdict["concept_id"]]
        matched = candidates[null["matched"]]
        assert null["layer"] == matched["layer"]
        vector = np.asarray(vectors[null["id"]])
        acts = read_layer(run / "collect" / "rollout_acts", matched["layer"])
        expected[null["id"]] = _satisfied(vector, acts, rollouts, matched["sign"], matched["steps"], share)
    return expected


def _null_vectors(run: Path) -> dict[str, np.ndarray]:
    """The null directions of the run, drawn again as the stage draws them (StageContext.rng)."""
    spec = load_spec(TINY)
    candidates = read_candidates(run)
    concepts = [concept_from_record(r, spec.name) for r in candidates if r["vector"] is not None]
    entropy = [spec.seed, _key_int("teach"), _key_int("null-directions")]
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    return {c.id: c.vector for c in null_concepts(concepts, spec.stages.teach.null_directions, rng)}


def test_a_concepts_prototypes_are_the_rollout_positions_that_satisfy_it(taught: Path) -> None:
    recorded = _read(taught / "teach" / "rollout_support.json")
    rollouts = _read(taught / "collect" / "rollouts.json")
    assert recorded["rollout_positions"] == len(rollouts) > 0 and recorded["constraint_share"] == 1.0
    expected = _expected_support(taught)
    assert recorded["support"] == expected
    # a concept is satisfied at least somewhere (mined on its own position), a null need not be
    assert any(expected[cid] for cid in expected if not cid.startswith("null-"))
    pool = len(_read(taught / "collect" / "pool.json"))
    taught_any = False
    for verdict in _read(taught / "teach" / "summary.json") + _read(taught / "teach" / "null_summary.json"):
        scores, support = verdict["scores"], expected[verdict["concept_id"]]
        assert scores["prototypes_from_support"] == 1.0 and scores["pool_size"] == pool
        assert scores["num_prototypes"] == scores["prototypes_outside_pool"] == len(support)
        if len(support) < 2:  # the tiny spec's min_prototypes
            assert "positions whose own rollouts satisfy the concept's constraints" in verdict["reason"]
        else:
            assert scores["num_train"] + scores["num_test"] == len(support)
            taught_any = True
    assert taught_any  # at least one concept was taught on its rollout prototypes


def test_the_rollout_positions_keep_their_games(taught: Path) -> None:
    games = _read(taught / "collect" / "rollout_games.json")
    rollouts = _read(taught / "collect" / "rollouts.json")
    assert len(games) == len(rollouts)
    for game, record in zip(games, rollouts, strict=True):
        assert record["state"] in _read(taught / "collect" / "games" / f"{game:05d}.json")["states"]
    # a run collected before rollout_games.json: the games are found again in collect/games
    ctx = SimpleNamespace(run=SimpleNamespace(path=taught),
                          read_stage_json=lambda stage, name: _read(taught / stage / name))
    (taught / "collect" / "rollout_games.json").rename(taught / "collect" / "rollout_games.bak")
    try:
        assert _rollout_games(ctx, rollouts) == games  # type: ignore[arg-type]
        with pytest.raises(RunDirError, match="dynamic_prototypes = 'top'"):
            _rollout_games(ctx, [{"state": "no such position"}])  # type: ignore[arg-type]
    finally:
        (taught / "collect" / "rollout_games.bak").rename(taught / "collect" / "rollout_games.json")


def test_the_figures_give_the_rollout_prototypes_of_concepts_and_nulls(taught: Path) -> None:
    figures = _read(taught / "manifest.json")["stages"]["teach"]["figures"]
    support = _read(taught / "teach" / "rollout_support.json")["support"]
    mined = [len(v) for k, v in support.items() if not k.startswith("null-")]
    nulls = [len(v) for k, v in support.items() if k.startswith("null-")]
    assert figures["dynamic_prototypes"] == "rollouts" and figures["constraint_share"] == 1.0
    assert figures["rollout_positions"] == len(_read(taught / "collect" / "rollouts.json"))
    assert figures["rollout_prototypes_median"] == float(np.median(mined))
    assert figures["null_rollout_prototypes_median"] == float(np.median(nulls))
    assert len(nulls) == 4


def test_a_lower_constraint_share_admits_more_positions(taught: Path, tmp_path: Path) -> None:
    run = tmp_path / "tiny"
    shutil.copytree(taught, run)
    manifest = run_pipeline(load_spec(TINY, ["stages.teach.constraint_share=0.5"]), run,
                            stages=[*UPSTREAM, "teach"], resume=True, progress=False)
    assert manifest["runtime"]["discarded"] == ["teach"]  # train, collect and mine are kept
    support = _read(run / "teach" / "rollout_support.json")["support"]
    assert support == _expected_support(run, share=0.5)
    strict = _read(taught / "teach" / "rollout_support.json")["support"]
    assert all(set(strict[k]) <= set(support[k]) for k in strict)


def test_top_prototypes_are_the_pool_by_presence_as_before(taught: Path, tmp_path: Path) -> None:
    run = tmp_path / "tiny"
    shutil.copytree(taught, run)
    spec = load_spec(TINY, ["stages.teach.dynamic_prototypes='top'"])
    manifest = run_pipeline(spec, run, stages=[*UPSTREAM, "teach"], resume=True, progress=False)
    assert manifest["runtime"]["discarded"] == ["teach"]  # train, collect and mine are kept
    assert not (run / "teach" / "rollout_support.json").exists()
    pool = len(_read(run / "collect" / "pool.json"))
    fraction = spec.teachability.params["prototype_fraction"]
    for verdict in _read(run / "teach" / "summary.json") + _read(run / "teach" / "null_summary.json"):
        scores = verdict["scores"]
        assert scores["prototypes_from_support"] == 0.0 and scores["prototypes_outside_pool"] == 0.0
        assert scores["num_prototypes"] == math.ceil(fraction * pool)
        assert scores["num_train"] + scores["num_test"] == scores["num_prototypes"]
    figures = manifest["stages"]["teach"]["figures"]
    assert figures["dynamic_prototypes"] == "top" and figures["rollout_positions"] == 0
    assert figures["rollout_prototypes_median"] == figures["null_rollout_prototypes_median"] == 0.0


def test_bench_support_counts_what_the_teach_stage_found_and_its_nulls(taught: Path) -> None:
    from conceptlab.bench.support import bench_rollout_support

    recorded = _read(taught / "teach" / "rollout_support.json")["support"]
    mined_ids = [c["id"] for c in read_candidates(taught) if c["vector"] is not None]
    sizes = np.array([len(recorded[cid]) for cid in mined_ids])
    figures = bench_rollout_support(taught, (1.0, 0.5), null_directions=5, min_prototypes=1, seed=3)
    at_all, at_half = figures["mined"]
    # at share 1.0, the stage's own supports (computed in the stage, through the filter's context)
    assert at_all["median"] == float(np.median(sizes)) and at_all["max"] == int(sizes.max())
    assert at_all["at_least_min_prototypes"] == int(np.sum(sizes >= 1))
    assert at_half["mean"] >= at_all["mean"] and at_half["max"] >= at_all["max"]
    assert figures["concepts"] == len(mined_ids) and figures["rollout_positions"] == len(
        _read(taught / "collect" / "rollouts.json"))
    for kind in ("null_sparse", "null_dense"):
        assert [row["constraint_share"] for row in figures[kind]] == [1.0, 0.5]
        assert all(0 <= row["max"] <= figures["rollout_positions"] for row in figures[kind])

    result = run_cli("bench", "support", str(taught), "--shares", "1,0.5", "--null-directions", "5")
    assert result.returncode == 0, result.stderr
    assert f"{len(mined_ids)} mined concepts and 5 random sparse and dense directions" in result.stdout
    bad = run_cli("bench", "support", str(taught), "--shares", "1,x")
    assert bad.returncode == 2 and "--shares must be comma-separated numbers" in bad.stderr
