"""The spectral novelty filter on activations with known agent-only, shared and reference-only subspaces."""

from __future__ import annotations

import numpy as np
import pytest

from conceptlab.errors import ComponentError
from conceptlab.filters import SpectralNoveltyFilter
from conceptlab.interfaces import NoveltyContext, build_params
from conceptlab.plugins import get_registry
from conceptlab.values import Concept

DIM = 32
AGENT_ONLY = range(0, 4)
SHARED = range(4, 12)
REFERENCE_ONLY = range(12, 16)


def _acts(rng: np.random.Generator, rows: int, scales: dict[range, float]) -> np.ndarray:
    """Gaussian rows with the given standard deviation per block of coordinates, plus faint noise."""
    acts = 0.01 * rng.normal(size=(rows, DIM))
    for block, scale in scales.items():
        acts[:, block.start:block.stop] += scale * rng.normal(size=(rows, len(block)))
    return acts


def _context(rng: np.random.Generator, agent_rows: int = 300, reference_rows: int = 300) -> NoveltyContext:
    # the agent's games: its own directions dominate; the reference's: the shared ones dominate
    agent = _acts(rng, agent_rows, {AGENT_ONLY: 3.0, SHARED: 2.0})
    reference = _acts(rng, reference_rows, {SHARED: 3.0, REFERENCE_ONLY: 2.0})
    return NoveltyContext({"block": agent}, {"block": reference}, reference_name="weak-checkpoint")


def _concept(block: range, rng: np.random.Generator, name: str) -> Concept:
    vector = np.zeros(DIM)
    vector[block.start:block.stop] = rng.normal(size=len(block))
    return Concept(name, "block", vector, provenance={}, metrics={})


@pytest.fixture
def prepared() -> SpectralNoveltyFilter:
    novelty = SpectralNoveltyFilter()
    novelty.prepare(_context(np.random.default_rng(0)), np.random.default_rng(1))
    return novelty


def test_agent_only_direction_is_novel(prepared: SpectralNoveltyFilter) -> None:
    verdict = prepared.assess(_concept(AGENT_ONLY, np.random.default_rng(2), "mine"), np.random.default_rng(0))
    assert verdict.passed, verdict.reason
    assert verdict.filter == "spectral" and verdict.concept_id == "mine"
    ks = prepared.k_grid("block")
    assert ks == [1, 2, 4, 8, 16]  # powers of two below the dimension 32
    assert all(verdict.scores[f"score_k={k}"] > 0 for k in ks)
    assert "'weak-checkpoint'" in verdict.reason and verdict.reason.startswith("Novel")


@pytest.mark.parametrize("block", [SHARED, REFERENCE_ONLY], ids=["shared", "reference-only"])
def test_shared_or_reference_direction_is_not_novel(prepared: SpectralNoveltyFilter, block: range) -> None:
    verdict = prepared.assess(_concept(block, np.random.default_rng(3), "theirs"), np.random.default_rng(0))
    assert not verdict.passed, verdict.reason
    assert verdict.scores["min_score"] < 0
    assert verdict.reason.startswith("Not novel")


def test_scores_match_the_residual_definition(prepared: SpectralNoveltyFilter) -> None:
    concept = _concept(range(0, DIM), np.random.default_rng(4), "mixed")
    verdict = prepared.assess(concept, np.random.default_rng(0))
    bases = prepared._bases["block"]
    v = concept.vector
    for k in prepared.k_grid("block"):
        residual_ref = np.sum((v - bases.reference[:k].T @ (bases.reference[:k] @ v)) ** 2)
        residual_agent = np.sum((v - bases.agent[:k].T @ (bases.agent[:k] @ v)) ** 2)
        expected = (residual_ref - residual_agent) / (v @ v)
        assert verdict.scores[f"score_k={k}"] == pytest.approx(expected, abs=1e-10)


def test_unequal_sets_are_subsampled_and_reported() -> None:
    novelty = SpectralNoveltyFilter(build_params(SpectralNoveltyFilter, {"k_grid": [2, 64]}))
    novelty.prepare(_context(np.random.default_rng(0), 500, 200), np.random.default_rng(1))
    verdict = novelty.assess(_concept(AGENT_ONLY, np.random.default_rng(2), "c"), np.random.default_rng(0))
    assert verdict.scores["rows_used"] == 200 and verdict.scores["rows_agent"] == 500
    assert "subsampled to 200 rows" in verdict.reason
    assert set(k for k in verdict.scores if k.startswith("score_k=")) == {"score_k=2", "score_k=64"}


@pytest.mark.parametrize(("rule", "novel"), [("all-positive", False), ("majority-positive", True)])
def test_rule_is_a_parameter(rule: str, novel: bool) -> None:
    # the agent's top direction is e0 and the reference's 9th is e9; a concept mixing both
    # is better explained by the agent for k < 9 and worse at k = 9
    rng = np.random.default_rng(0)
    agent = _acts(rng, 300, {range(0, 1): 3.0, range(1, 9): 2.0})
    reference = _acts(rng, 300, {range(1, 9): 3.0, range(9, 10): 2.0})
    novelty = SpectralNoveltyFilter(build_params(SpectralNoveltyFilter, {"rule": rule, "k_grid": [1, 2, 4, 9]}))
    novelty.prepare(NoveltyContext({"block": agent}, {"block": reference}, "ref"), rng)
    vector = np.zeros(DIM)
    vector[0], vector[9] = 1.0, 1.2
    verdict = novelty.assess(Concept("mix", "block", vector, {}, {}), rng)
    assert [verdict.scores[f"score_k={k}"] > 0 for k in (1, 2, 4, 9)] == [True, True, True, False]
    assert verdict.passed is novel
    assert f"rule {rule!r}" in verdict.reason


def test_bad_layers_and_zero_vectors(prepared: SpectralNoveltyFilter) -> None:
    with pytest.raises(ComponentError, match="'other'"):
        prepared.assess(Concept("c", "other", np.ones(DIM), {}, {}), np.random.default_rng(0))
    with pytest.raises(ComponentError, match="3 entries"):
        prepared.assess(Concept("c", "block", np.ones(3), {}, {}), np.random.default_rng(0))
    zero = prepared.assess(Concept("z", "block", np.zeros(DIM), {}, {}), np.random.default_rng(0))
    assert not zero.passed and "zero" in zero.reason
    novelty = SpectralNoveltyFilter()
    with pytest.raises(ComponentError, match="dim 4 .* 5"):
        novelty.prepare(NoveltyContext({"x": np.ones((3, 4))}, {"x": np.ones((3, 5))}, "ref"),
                        np.random.default_rng(0))


def test_registered() -> None:
    assert "spectral" in get_registry(autoload=False).names("novelty_filter")


def test_honours_the_novelty_contract() -> None:
    from conceptlab.testing.contract import check_novelty_filter

    assert "verdict has a reason" in check_novelty_filter(SpectralNoveltyFilter)
