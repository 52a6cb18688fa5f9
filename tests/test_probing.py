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
