"""Building static and dynamic concept problems, and measuring vectors on them."""

from __future__ import annotations

import numpy as np
import pytest

from conceptlab.concepts import (
    ConceptProblemError,
    concept_metrics,
    dynamic_problem,
    problem_defect,
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
