"""Sparse linear probes: a concept is decodable from the layer that carries it, not from noise."""

from __future__ import annotations

import numpy as np
import pytest

from conceptlab.concepts.probing import ProbeError, probe_layers, probe_rows


def _layers(rng: np.random.Generator, n: int = 300) -> tuple[dict[str, np.ndarray], np.ndarray]:
    late = rng.normal(size=(n, 4, 10))  # a (channels, squares)-shaped layer
    concept = 2.0 * late[:, 1, 3] - late[:, 2, 7]
    noise = rng.normal(size=(n, 30))
    return {"early": noise, "late": late}, concept


def test_regression_probe_finds_the_layer_that_carries_the_concept() -> None:
    layers, concept = _layers(np.random.default_rng(0))
    results = {r.layer: r for r in probe_layers(layers, concept, rng=np.random.default_rng(1))}
    assert results["late"].task == "regression"
    assert results["late"].test_score > 0.95
    assert results["late"].nonzero < 10 < results["late"].dim  # sparse
    assert results["early"].test_score < 0.2
    assert results["late"].num_test == 60 and results["late"].num_train == 240


def test_classification_probe_beats_the_majority_baseline() -> None:
    layers, concept = _layers(np.random.default_rng(2))
    labels = (concept > 0.5).astype(int)
    results = {r.layer: r for r in probe_layers(layers, labels, strength=0.05, rng=np.random.default_rng(1))}
    late = results["late"]
    assert late.task == "classification"
    assert late.test_score > 0.9 > late.baseline_score
    assert results["early"].test_score < late.test_score


def test_same_seed_gives_the_same_split_so_checkpoints_compare() -> None:
    layers, concept = _layers(np.random.default_rng(0))
    first = probe_layers(layers, concept, rng=np.random.default_rng(7))
    again = probe_layers(layers, concept, rng=np.random.default_rng(7))
    assert [r.test_score for r in first] == [r.test_score for r in again]
    rows = probe_rows(first, checkpoint=3)
    assert rows[0]["checkpoint"] == 3 and rows[0]["layer"] == "early" and "test_score" in rows[0]


def test_bad_inputs_are_named() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ProbeError, match="'x' has 5 rows for 6 labels"):
        probe_layers({"x": np.ones((5, 2))}, np.arange(6), rng=rng)
    with pytest.raises(ProbeError, match="single class"):
        probe_layers({"x": np.ones((6, 2))}, np.zeros(6, dtype=int), rng=rng)
    with pytest.raises(ProbeError, match="at least 4"):
        probe_layers({"x": np.ones((2, 2))}, np.arange(2), rng=rng)


def test_a_group_split_keeps_every_game_on_one_side() -> None:
    from conceptlab.concepts.probing import split_positions

    rng = np.random.default_rng(3)
    games = np.repeat(np.arange(24), 30)  # 720 positions, 30 per game
    labels = rng.random(720) < 0.1
    split = split_positions(720, groups=games, labels=labels, validation_fraction=0.2, test_fraction=0.2,
                            rng=np.random.default_rng(5))
    assert split.by_group
    sides = [set(games[part]) for part in (split.train, split.validation, split.test)]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    assert sorted(np.concatenate([split.train, split.validation, split.test])) == list(range(720))
    assert len(split.test) == 150 and len(split.validation) == 150  # whole games: 5 of 30 each
    for part in (split.train, split.validation, split.test):
        assert set(labels[part]) == {False, True}
    # too few games for three parts: split at random, and said so
    few = split_positions(40, groups=np.repeat([0, 1], 20), validation_fraction=0.2, rng=np.random.default_rng(5))
    assert not few.by_group and len(few.test) == 8 and len(few.validation) == 8


def test_probes_report_their_validation_scores_on_whole_games() -> None:
    layers, concept = _layers(np.random.default_rng(0), n=360)
    games = np.repeat(np.arange(12), 30)
    (early, late) = probe_layers(layers, concept, groups=games, validation_fraction=0.2,
                                 rng=np.random.default_rng(1))
    # 72 positions wanted on each held-out side: whole games of 30 give 90
    assert late.num_validation == 90 and late.num_test == 90 and late.num_train == 180
    assert late.validation_score > 0.9 > early.validation_score


def test_a_probe_stops_at_its_iteration_cap() -> None:
    # more dimensions than positions, weak regularisation: separable, so the
    # solver keeps going until its cap or its tolerance stops it
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 1500))
    labels = (x[:, :40].sum(axis=1) + rng.normal(size=300) > 0).astype(int)
    (capped,) = probe_layers({"x": x}, labels, strength=0.001, max_iter=2, rng=np.random.default_rng(1))
    assert capped.iterations == 2 and not capped.converged
    (free,) = probe_layers({"x": x}, labels, strength=0.001, max_iter=200, rng=np.random.default_rng(1))
    assert free.converged and 2 < free.iterations < 200
    assert free.seconds > 0 and capped.seconds > 0
    quantity = x[:, :40].sum(axis=1) + rng.normal(size=300)
    (lasso,) = probe_layers({"x": x}, quantity, strength=0.001, max_iter=3, rng=np.random.default_rng(1))
    assert lasso.task == "regression" and lasso.iterations == 3 and not lasso.converged


def test_a_concept_of_the_input_gains_nothing_over_the_input_baseline() -> None:
    from conceptlab.stages.probe import best_by_validation, compare_with_baselines

    rng = np.random.default_rng(6)
    planes = (rng.random((600, 48)) < 0.3).astype(float)  # binary input planes
    concept = planes[:, 5].astype(int)  # one plane's bit
    deep = np.maximum(planes @ rng.normal(size=(48, 96)), 0.0)  # a random ReLU layer computed from them
    games = np.repeat(np.arange(20), 30)
    results = probe_layers({"input": planes, "deep": deep, "deeper": np.tanh(deep)}, concept, groups=games,
                           validation_fraction=0.2, strength=0.1, rng=np.random.default_rng(2))
    scores = {r.layer: (r.validation_score, r.test_score) for r in results}
    best = best_by_validation({layer: scores[layer] for layer in ("deep", "deeper")})
    assert best is not None and best["chosen_on"] == "validation"
    assert scores["input"][1] >= 0.99
    verdict = compare_with_baselines(best["test"], {"input": scores["input"][1], "majority": results[0].baseline_score})
    assert verdict["baseline"] == "input"
    # no gain: the layers carry the bit at best as well as the planes they are computed from
    assert -0.1 <= verdict["gain"] <= 0.01
    # and against the majority class alone the same layer looks like a finding
    assert best["test"] - results[0].baseline_score > 0.2
