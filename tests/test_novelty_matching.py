"""Novelty without the phase confound: matched strata, and the rule's false-positive rates."""

from __future__ import annotations

import numpy as np

from conceptlab.filters.spectral import SpectralNoveltyFilter
from conceptlab.interfaces import NoveltyContext, build_params
from conceptlab.stages.novelty import matched_rows
from conceptlab.values import Concept


def test_matched_rows_take_as_many_random_rows_of_each_side_per_stratum():
    agent = ["early"] * 30 + ["late"] * 70
    reference = ["late"] * 20 + ["early"] * 60 + ["middle"] * 5
    a, r, used = matched_rows(agent, reference, np.random.default_rng(0))
    assert used == 2 and len(a) == len(r) == 30 + 20
    assert [agent[i] for i in a] == [reference[i] for i in r]  # row i of each side: the same stratum
    assert len(set(a.tolist())) == len(a) and len(set(r.tolist())) == len(r)
    again, _, _ = matched_rows(agent, reference, np.random.default_rng(1))
    assert again.tolist() != a.tolist()  # random subsamples, not the first n


def _novel(agent: np.ndarray, reference: np.ndarray, vector: np.ndarray) -> bool:
    flt = SpectralNoveltyFilter(build_params(SpectralNoveltyFilter, {"center": False, "k_grid": [1, 2]}))
    flt.prepare(NoveltyContext({"x": agent}, {"x": reference}, "reference"), np.random.default_rng(0))
    return flt.assess(Concept("phase", "x", vector, {}, {}), np.random.default_rng(0)).passed


def test_a_phase_direction_is_novel_only_when_phases_are_not_matched():
    """Positions of two phases; the agent's set is mostly late, the reference mostly early. The
    direction that marks the late phase looks 'novel' against the unmatched reference and is
    not novel once both sides hold the same phases."""
    rng = np.random.default_rng(0)
    dim = 6

    def positions(late: int, early: int) -> tuple[np.ndarray, list[str]]:
        x = rng.normal(scale=0.3, size=(late + early, dim))
        x[:late, 0] += 3.0  # the late-phase direction
        x[late:, 1] += 3.0  # the early-phase direction
        return x, ["late"] * late + ["early"] * early

    agent, agent_strata = positions(400, 100)
    reference, reference_strata = positions(100, 400)
    phase = np.eye(dim)[0]
    assert _novel(agent, reference, phase)
    a, r, used = matched_rows(agent_strata, reference_strata, np.random.default_rng(0))
    assert used == 2 and not _novel(agent[a], reference[r], phase)
