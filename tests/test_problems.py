"""Building static and dynamic concept problems, and measuring vectors on them."""

from __future__ import annotations

import numpy as np
import pytest

from conceptlab.concepts import (
    ConceptProblemError,
    concept_metrics,
    dynamic_problem,
    problem_defect,
    rollout_constraints,
    rollout_slices,
    static_problem,
)
from conceptlab.errors import ConceptlabError
from conceptlab.values import ConceptProblem


def _tagged(rows: int, dim: int, offset: float) -> np.ndarray:
    """Rows whose first entry identifies them: ``offset + row index``."""
    acts = np.zeros((rows, dim))
    acts[:, 0] = offset + np.arange(rows)
    return acts


def test_static_problem_keeps_held_out_rows_disjoint_from_training_rows() -> None:
    pos, neg = _tagged(20, 3, 0.0), _tagged(30, 3, 1000.0)
    problem = static_problem(pos, neg, max_pairs=50, held_out_fraction=0.25,
                             rng=np.random.default_rng(0))
    assert problem.positive.shape == (50, 3) and problem.negative.shape == (50, 3)
    train_ids = set(problem.positive[:, 0]) | set(problem.negative[:, 0])
    held_ids = set(problem.held_out_positive[:, 0]) | set(problem.held_out_negative[:, 0])
    assert held_ids and not train_ids & held_ids
    # held-out rows: floor(0.25 * n) of each set, every pair of them
    assert len(problem.held_out_positive) == 5 * 7
    pairs = set(zip(problem.positive[:, 0], problem.negative[:, 0], strict=True))
    assert len(pairs) == 50  # sampled without replacement


def test_static_problem_flattens_and_uses_all_pairs_when_few() -> None:
    rng = np.random.default_rng(1)
    problem = static_problem(rng.normal(size=(3, 2, 2)), rng.normal(size=(2, 2, 2)),
                             max_pairs=100, held_out_fraction=0.0, rng=rng)
    assert problem.dim == 4
    assert len(problem.positive) == 6 and len(problem.held_out_positive) == 0


@pytest.mark.parametrize(
    ("pos_shape", "neg_shape", "kwargs", "match"),
    [
        ((4, 3), (4, 5), {}, "dim 3 .* dim 5"),
        ((0, 3), (4, 3), {}, "0 positive"),
        ((4,), (4, 3), {}, r"shape \(4,\)"),
        ((4, 3), (4, 3), {"held_out_fraction": 1.5}, "1.5"),
        ((4, 3), (4, 3), {"max_pairs": 0}, "max_pairs"),
    ],
)
def test_static_problem_rejects_bad_input_naming_it(
    pos_shape: tuple[int, ...], neg_shape: tuple[int, ...], kwargs: dict, match: str
) -> None:
    with pytest.raises(ConceptProblemError, match=match) as info:
        static_problem(np.ones(pos_shape), np.ones(neg_shape), rng=np.random.default_rng(0), **kwargs)
    assert isinstance(info.value, ConceptlabError)


def _rollouts() -> tuple[np.ndarray, list[tuple[int, np.ndarray]]]:
    """Chosen steps tagged 0..4 (T = 4), subpar rows tagged 100 * (line + 1) + step."""
    chosen = _tagged(5, 2, 0.0)
    subpar = []
    for line, (depth, length) in enumerate([(0, 5), (2, 3), (3, 4)]):
        acts = np.zeros((length, 2))
        acts[:, 0] = 100 * (line + 1) + depth + np.arange(length)
        subpar.append((depth, acts))
    return chosen, subpar


def _pairs(problem: ConceptProblem) -> set[tuple[int, int]]:
    both_pos = np.concatenate([problem.positive, problem.held_out_positive])
    both_neg = np.concatenate([problem.negative, problem.held_out_negative])
    return {(int(a), int(b)) for a, b in zip(both_pos[:, 0], both_neg[:, 0], strict=True)}


def test_dynamic_problem_pairs_equal_steps_after_the_branch() -> None:
    chosen, subpar = _rollouts()
    problem = dynamic_problem(chosen, subpar, rng=np.random.default_rng(0), held_out_fraction=0.3)
    expected = {(t, 100 + t) for t in range(1, 5)}          # branch at 0, reaches step 4
    expected |= {(t, 200 + t) for t in (3, 4)}              # branch at 2, rows at steps 2..4
    expected |= {(4, 304)}                                  # branch at 3, steps 3..6 cut at T = 4
    assert _pairs(problem) == expected
    assert len(problem.held_out_positive) == int(np.floor(0.3 * len(expected)))


@pytest.mark.parametrize(("steps", "parity"), [("even", 0), ("odd", 1)])
def test_dynamic_problem_step_parity(steps: str, parity: int) -> None:
    chosen, subpar = _rollouts()
    pairs = _pairs(dynamic_problem(chosen, subpar, steps=steps, rng=np.random.default_rng(0)))
    assert pairs and all(t % 2 == parity for t, _ in pairs)


def test_dynamic_problem_prophylactic_sign_swaps_sides() -> None:
    chosen, subpar = _rollouts()
    active = _pairs(dynamic_problem(chosen, subpar, sign=1, rng=np.random.default_rng(0)))
    prophylactic = _pairs(dynamic_problem(chosen, subpar, sign=-1, rng=np.random.default_rng(0)))
    assert prophylactic == {(b, a) for a, b in active}


def test_dynamic_problem_rejects_bad_branches() -> None:
    chosen, _ = _rollouts()
    with pytest.raises(ConceptProblemError, match="depth 7"):
        dynamic_problem(chosen, [(7, np.ones((2, 2)))], rng=np.random.default_rng(0))
    with pytest.raises(ConceptProblemError, match=r"subpar\[0\] has dim 3"):
        dynamic_problem(chosen, [(0, np.ones((2, 3)))], rng=np.random.default_rng(0))
    with pytest.raises(ConceptProblemError, match="'both'"):
        dynamic_problem(chosen, [], steps="both", rng=np.random.default_rng(0))  # type: ignore[arg-type]


def test_problem_defect_explains_unminable_problems() -> None:
    empty = dynamic_problem(np.ones((3, 4)), [], rng=np.random.default_rng(0))
    assert "no training pairs" in (problem_defect(empty) or "")
    zeros = ConceptProblem(np.zeros((5, 4)), np.zeros((5, 4)), np.zeros((0, 4)), np.zeros((0, 4)))
    assert "identical" in (problem_defect(zeros) or "")
    fine = ConceptProblem(np.eye(4), np.zeros((4, 4)), np.zeros((0, 4)), np.zeros((0, 4)))
    assert problem_defect(fine) is None


def test_concept_metrics_counts_sparsity_and_satisfaction() -> None:
    positive = np.array([[2.0, 0.0, 0.0], [1.0, 5.0, 0.0], [0.0, 0.0, 0.0]])
    negative = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    problem = ConceptProblem(positive, negative, positive[:1], negative[:1])
    vector = np.array([1.0, 1e-9, 0.0])
    metrics = concept_metrics(vector, problem)
    assert metrics["l0"] == 1.0  # 1e-9 is below the relative tolerance
    assert metrics["train_satisfaction"] == pytest.approx(2 / 3)
    assert metrics["train_mean_margin"] == pytest.approx((2.0 + 1.0 - 1.0) / 3, abs=1e-8)
    assert metrics["held_out_satisfaction"] == 1.0
    with pytest.raises(ConceptProblemError, match="2 entries"):
        concept_metrics(np.ones(2), problem)


def _two_positions() -> tuple[np.ndarray, list]:
    """Stacked rollout activations (dim 2) of two positions, with their slices.

    Position 0: chosen rows 0-2, a subpar line branching at 0 (rows 3-5) and one at 1
    (rows 6-7); its pairs (step: chosen row vs subpar row) are 1: 1 vs 4, 2: 2 vs 5, 2: 2 vs 7.
    Position 1: chosen rows 8-10, one subpar line branching at 0 (rows 11-13): 1: 9 vs 12, 2: 10 vs 13.
    """
    acts = np.zeros((14, 2))
    acts[[0, 1, 2], 0] = [0.0, 3.0, 5.0]    # position 0, chosen: the first unit grows
    acts[[3, 4, 5], 0] = [0.0, 1.0, 2.0]    # below the chosen line at steps 1 and 2
    acts[[6, 7], 0] = [3.0, 4.0]            # branching at 1: below at step 2
    acts[[8, 9, 10], 0] = [0.0, 1.0, 1.0]   # position 1, chosen
    acts[[11, 12, 13], 0] = [0.0, 0.0, 2.0]  # below at step 1, above at step 2
    acts[:, 1] = 7.0                        # a unit the same on every line
    slices = [((0, 3), [(0, 3, 6), (1, 6, 8)]), ((8, 11), [(0, 11, 14)])]
    return acts, slices


def test_rollout_constraints_hold_where_every_pair_is_ordered() -> None:
    acts, slices = _two_positions()
    found = rollout_constraints(np.array([1.0, 0.0]), acts, slices, steps="all", sign=1)
    assert found.pairs.tolist() == [3, 2]
    assert found.share.tolist() == [1.0, 0.5]
    assert found.holds.tolist() == [True, False]
    # the prophylactic sign reverses every pair: position 1's step 2 alone holds
    reversed_ = rollout_constraints(np.array([1.0, 0.0]), acts, slices, steps="all", sign=-1)
    assert reversed_.share.tolist() == [0.0, 0.5] and reversed_.holds.tolist() == [False, False]
    # odd steps only: step 1 pairs (one per position), both ordered
    odd = rollout_constraints(np.array([1.0, 0.0]), acts, slices, steps="odd", sign=1)
    assert odd.pairs.tolist() == [1, 1] and odd.holds.tolist() == [True, True]
    # even steps only: position 1's one pair (step 2) is reversed
    even = rollout_constraints(np.array([1.0, 0.0]), acts, slices, steps="even", sign=1)
    assert even.pairs.tolist() == [2, 1] and even.holds.tolist() == [True, False]


def test_rollout_constraints_fail_for_a_direction_that_does_not_tell_the_lines_apart() -> None:
    acts, slices = _two_positions()
    found = rollout_constraints(np.array([0.0, 1.0]), acts, slices, steps="all", sign=1)
    assert found.share.tolist() == [0.0, 0.0] and not found.holds.any()
    # a position without pairs (its subpar line is one state long) holds nothing
    lonely = rollout_constraints(np.array([1.0, 0.0]), acts, [((0, 3), [(2, 5, 6)])], steps="all", sign=1)
    assert lonely.pairs.tolist() == [0] and np.isnan(lonely.share[0]) and not lonely.holds[0]
    with pytest.raises(ConceptProblemError, match="slices reach row 20"):
        rollout_constraints(np.array([1.0, 0.0]), acts, [((0, 20), [])], steps="all", sign=1)
    with pytest.raises(ConceptProblemError, match="3 entries"):
        rollout_constraints(np.ones(3), acts, slices, steps="all", sign=1)


@pytest.mark.parametrize(("steps", "sign"), [("all", 1), ("even", -1), ("odd", 1)])
def test_rollout_constraints_use_the_pairs_of_the_mining_problem(steps, sign) -> None:
    rng = np.random.default_rng(3)
    chosen = rng.normal(size=(6, 4))
    subpar = [(0, rng.normal(size=(6, 4))), (2, rng.normal(size=(3, 4))), (4, rng.normal(size=(2, 4)))]
    acts = np.concatenate([chosen] + [line for _, line in subpar])
    slices = rollout_slices([{"chosen": {"states": [0] * 6},
                              "subpar": [{"branch_depth": j, "states": [0] * len(line)} for j, line in subpar]}])
    assert slices == [((0, 6), [(0, 6, 12), (2, 12, 15), (4, 15, 17)])]
    vector = rng.normal(size=4)
    problem = dynamic_problem(chosen, subpar, steps=steps, sign=sign, held_out_fraction=0.0,
                              rng=np.random.default_rng(0))
    margins = (problem.positive - problem.negative) @ vector
    found = rollout_constraints(vector, acts, slices, steps=steps, sign=sign)
    assert found.pairs[0] == len(margins) > 0
    assert found.share[0] == pytest.approx(np.mean(margins > 0))
    assert found.holds[0] == bool(np.all(margins > 0))
