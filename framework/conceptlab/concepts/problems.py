"""Building concept-mining problems from activations, and measuring a vector on one.

A :class:`~conceptlab.values.ConceptProblem` pairs rows that should score higher
along a concept with rows that should score lower (method.md section 2):

- :func:`static_problem`: labelled sets Z+ (concept present) and Z- (absent);
  pairs are sub-sampled from Z+ x Z-, and held-out pairs come from rows the
  training pairs never use.
- :func:`dynamic_problem`: the chosen rollout of a search versus the subpar
  rollouts that branch off it; step ``t`` of the chosen line is paired with step
  ``t`` of every subpar line that reaches it.
- :func:`rollout_constraints`: how many of each rollout position's pairs a
  vector orders as a dynamic concept must (its prototypes are the positions
  whose own rollouts satisfy the concept's constraints, method.md section 3);
  :func:`rollout_slices` gives the rows of each position in the stacked activations.

:func:`concept_metrics` reports sparsity and constraint satisfaction of a vector
on a problem; :func:`problem_defect` says why a problem cannot be mined, which
every miner checks first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, NamedTuple, TypeAlias

import numpy as np

from conceptlab.errors import ConceptlabError
from conceptlab.values import ConceptProblem

__all__ = [
    "ConceptProblemError",
    "RolloutSatisfaction",
    "RolloutSlice",
    "StepSet",
    "concept_metrics",
    "dynamic_problem",
    "problem_defect",
    "rollout_constraints",
    "rollout_slices",
    "static_problem",
]

StepSet: TypeAlias = Literal["all", "even", "odd"]
"""Which rollout steps a dynamic concept uses: both players' (``all``) or one player's."""

RolloutSlice: TypeAlias = tuple[tuple[int, int], list[tuple[int, int, int]]]
"""One rollout position's rows in the stacked rollout activations: ``((start, stop)`` of its
chosen line, ``[(branch depth, start, stop)]`` of its subpar lines``)``."""


class ConceptProblemError(ConceptlabError):
    """Activations that cannot form a concept problem (wrong shapes, bad arguments)."""


def _as_rows(acts: np.ndarray, what: str) -> np.ndarray:
    """``(n, ...)`` activations as a float64 ``(n, dim)`` matrix; errors name ``what``."""
    arr = np.asarray(acts)
    if arr.ndim < 2:
        raise ConceptProblemError(
            f"{what}: expected activations of shape (rows, dim...), got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise ConceptProblemError(f"{what}: expected numeric activations, got dtype {arr.dtype}")
    dim = int(np.prod(arr.shape[1:]))
    return arr.reshape(arr.shape[0], dim).astype(np.float64, copy=False)


def _check_fraction(value: float, what: str) -> None:
    if not 0.0 <= value < 1.0:
        raise ConceptProblemError(f"{what} must be in [0, 1), got {value!r}")


def _held_out_rows(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into (train rows, held-out rows), keeping at least one train row."""
    order = rng.permutation(n)
    n_held = min(int(np.floor(n * fraction)), n - 1)
    return np.sort(order[n_held:]), np.sort(order[:n_held])


def _sample_pairs(
    rows_pos: np.ndarray, rows_neg: np.ndarray, max_pairs: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``max_pairs`` distinct (positive row, negative row) pairs, uniformly."""
    total = len(rows_pos) * len(rows_neg)
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if total <= max_pairs:
        flat = np.arange(total)
    else:
        flat = np.sort(rng.choice(total, size=max_pairs, replace=False))
    return rows_pos[flat // len(rows_neg)], rows_neg[flat % len(rows_neg)]


def static_problem(
    positive_acts: np.ndarray,
    negative_acts: np.ndarray,
    *,
    max_pairs: int = 1000,
    held_out_fraction: float = 0.2,
    rng: np.random.Generator,
    description: str = "",
) -> ConceptProblem:
    """A static concept problem from labelled activation sets Z+ and Z-.

    Rows of each set are first split into training and held-out rows, so a
    held-out pair never shares a position with a training pair; pairs are then
    sub-sampled from the training rows' product (and likewise for held-out rows,
    up to ``max_pairs`` as well).

    Args:
        positive_acts: ``(n+, ...)`` activations where the concept is present.
        negative_acts: ``(n-, ...)`` activations where it is absent.
        max_pairs: Most training pairs to sample from Z+ x Z-.
        held_out_fraction: Fraction of each set's rows kept for held-out pairs.
        rng: Source of the splits and the sub-sampling.
        description: Stored on the problem.

    Raises:
        ConceptProblemError: Shapes disagree, a set is empty, or an argument is out of range.
    """
    pos = _as_rows(positive_acts, "positive_acts")
    neg = _as_rows(negative_acts, "negative_acts")
    if pos.shape[1] != neg.shape[1]:
        raise ConceptProblemError(
            f"positive_acts have dim {pos.shape[1]} but negative_acts have dim {neg.shape[1]}"
        )
    if len(pos) == 0 or len(neg) == 0:
        raise ConceptProblemError(
            f"static_problem needs rows in both sets, got {len(pos)} positive and {len(neg)} negative"
        )
    if max_pairs < 1:
        raise ConceptProblemError(f"max_pairs must be at least 1, got {max_pairs!r}")
    _check_fraction(held_out_fraction, "held_out_fraction")
    train_pos, held_pos = _held_out_rows(len(pos), held_out_fraction, rng)
    train_neg, held_neg = _held_out_rows(len(neg), held_out_fraction, rng)
    tp, tn = _sample_pairs(train_pos, train_neg, max_pairs, rng)
    hp, hn = _sample_pairs(held_pos, held_neg, max_pairs, rng)
    return ConceptProblem(
        positive=pos[tp], negative=neg[tn],
        held_out_positive=pos[hp], held_out_negative=neg[hn],
        description=description or f"static: {len(pos)} positive x {len(neg)} negative rows",
    )


def _step_kept(step: int, steps: StepSet) -> bool:
    return steps == "all" or (step % 2 == 0) == (steps == "even")


def _paired_steps(chosen_len: int, depth: int, line_len: int, steps: StepSet) -> Iterator[int]:
    """Steps ``t`` that pair chosen row ``t`` with row ``t - depth`` of a subpar line branching at
    ``depth``: ``depth < t``, both lines reach ``t``, and ``steps`` keeps it."""
    last = min(chosen_len - 1, depth + line_len - 1)
    return (t for t in range(depth + 1, last + 1) if _step_kept(t, steps))


def _rollout_pairs(
    chosen: np.ndarray, subpar: Sequence[tuple[int, np.ndarray]], steps: StepSet
) -> tuple[np.ndarray, np.ndarray]:
    """(chosen rows, subpar rows) at equal steps ``t > j`` kept by ``steps``."""
    pos_rows: list[np.ndarray] = []
    neg_rows: list[np.ndarray] = []
    for index, (depth, acts) in enumerate(subpar):
        line = _as_rows(acts, f"subpar[{index}]")
        if line.shape[1] != chosen.shape[1]:
            raise ConceptProblemError(
                f"subpar[{index}] has dim {line.shape[1]} but chosen_acts have dim {chosen.shape[1]}"
            )
        if not 0 <= int(depth) < len(chosen):
            raise ConceptProblemError(
                f"subpar[{index}] branches at depth {depth!r}, outside the chosen rollout "
                f"(steps 0..{len(chosen) - 1})"
            )
        for t in _paired_steps(len(chosen), int(depth), len(line), steps):
            pos_rows.append(chosen[t])
            neg_rows.append(line[t - int(depth)])
    dim = chosen.shape[1]
    return (np.array(pos_rows, dtype=np.float64).reshape(-1, dim),
            np.array(neg_rows, dtype=np.float64).reshape(-1, dim))


def rollout_slices(rollouts: Sequence[Mapping[str, Any]]) -> list[RolloutSlice]:
    """Row ranges of each position's chosen line and subpar lines in the stacked activations.

    The collect stage stacks the states of ``rollouts.json`` in order: per
    position, its chosen line, then each subpar line.
    """
    out, row = [], 0
    for r in rollouts:
        n = len(r["chosen"]["states"])
        chosen = (row, row + n)
        row += n
        subpar = []
        for line in r["subpar"]:
            m = len(line["states"])
            subpar.append((int(line["branch_depth"]), row, row + m))
            row += m
        out.append((chosen, subpar))
    return out


class RolloutSatisfaction(NamedTuple):
    """How a vector orders each rollout position's pairs (:func:`rollout_constraints`)."""

    share: np.ndarray
    """Per position: the share of its pairs with ``sign * v . (z_chosen - z_subpar) > 0``
    (NaN for a position without pairs)."""
    holds: np.ndarray
    """Per position: whether all of its pairs do (False for a position without pairs)."""
    pairs: np.ndarray
    """Per position: its number of pairs."""


def rollout_constraints(
    vector: np.ndarray,
    acts: np.ndarray,
    slices: Sequence[RolloutSlice],
    *,
    steps: StepSet,
    sign: Literal[1, -1],
) -> RolloutSatisfaction:
    """Which rollout positions' own rollouts satisfy a dynamic concept's constraints.

    A position's pairs are those :func:`dynamic_problem` would build from its
    rollouts (chosen step ``t`` against subpar step ``t``, for ``t`` past the
    branch depth, kept by ``steps``); a pair is satisfied when
    ``sign * v . (z_chosen_t - z_subpar_t) > 0`` (strictly: a vector that does not
    tell the two lines apart satisfies nothing).

    Args:
        vector: ``(dim,)`` concept direction.
        acts: ``(rows, ...)`` stacked rollout activations of one layer.
        slices: Each position's rows in ``acts`` (:func:`rollout_slices`).
        steps: ``"all"``, ``"even"`` or ``"odd"`` steps, as the concept was mined.
        sign: ``+1`` (active) or ``-1`` (prophylactic), as the concept was mined.

    Raises:
        ConceptProblemError: Shapes disagree, a slice is outside ``acts``, or an
            argument is out of range.
    """
    if steps not in ("all", "even", "odd"):
        raise ConceptProblemError(f"steps must be 'all', 'even' or 'odd', got {steps!r}")
    if sign not in (1, -1):
        raise ConceptProblemError(f"sign must be +1 or -1, got {sign!r}")
    rows = np.asarray(acts)
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    dim = int(np.prod(rows.shape[1:])) if rows.ndim >= 2 else -1
    if dim != v.shape[0]:
        raise ConceptProblemError(
            f"vector has {v.shape[0]} entries but the activations have shape {rows.shape}"
        )
    end = max([c1 for (_, c1), _ in slices] + [s1 for _, lines in slices for _, _, s1 in lines], default=0)
    if end > len(rows):
        raise ConceptProblemError(f"the slices reach row {end}, but there are {len(rows)} activation rows")
    presence = rows.reshape(len(rows), dim).astype(np.float64, copy=False) @ v
    share = np.full(len(slices), np.nan)
    holds = np.zeros(len(slices), dtype=bool)
    pairs = np.zeros(len(slices), dtype=np.int64)
    for p, ((c0, c1), lines) in enumerate(slices):
        chosen = presence[c0:c1]
        margins = [
            sign * (chosen[t] - presence[s0 + t - depth])
            for depth, s0, s1 in lines
            for t in _paired_steps(len(chosen), depth, s1 - s0, steps)
        ]
        pairs[p] = len(margins)
        if margins:
            satisfied = np.asarray(margins) > 0
            share[p] = float(np.mean(satisfied))
            holds[p] = bool(np.all(satisfied))
    return RolloutSatisfaction(share, holds, pairs)


def dynamic_problem(
    chosen_acts: np.ndarray,
    subpar: Sequence[tuple[int, np.ndarray]],
    *,
    steps: StepSet = "all",
    sign: Literal[1, -1] = 1,
    held_out_fraction: float = 0.2,
    rng: np.random.Generator,
    description: str = "",
) -> ConceptProblem:
    """A dynamic concept problem: the chosen rollout against the subpar rollouts.

    Step ``t`` counts plies from the searched root: row ``t`` of ``chosen_acts``
    is the state after ``t`` plies of the chosen line, and row ``k`` of a subpar
    line branching at depth ``j`` is its state at step ``j + k`` (row 0 is the
    branching state, shared with the chosen line, so it forms no pair). A pair is
    (chosen step ``t``, subpar step ``t``) for every ``t > j`` both lines reach.

    Held-out pairs are a random ``held_out_fraction`` of all pairs (rollouts of
    one position share states, so rows cannot be kept disjoint here).

    Args:
        chosen_acts: ``(T + 1, ...)`` activations along the chosen rollout.
        subpar: ``(branch depth j, (L, ...) activations)`` for each subpar rollout.
        steps: ``"all"`` steps, or only ``"even"`` / ``"odd"`` ones (one player's).
        sign: ``+1`` for an active concept (grows along the chosen line), ``-1``
            for a prophylactic one (grows along the rejected lines): swaps the sides.
        held_out_fraction: Fraction of pairs kept out of training.
        rng: Source of the held-out split.
        description: Stored on the problem.

    Raises:
        ConceptProblemError: Shapes disagree, or an argument is out of range.
    """
    chosen = _as_rows(chosen_acts, "chosen_acts")
    if steps not in ("all", "even", "odd"):
        raise ConceptProblemError(f"steps must be 'all', 'even' or 'odd', got {steps!r}")
    if sign not in (1, -1):
        raise ConceptProblemError(f"sign must be +1 or -1, got {sign!r}")
    _check_fraction(held_out_fraction, "held_out_fraction")
    pos, neg = _rollout_pairs(chosen, subpar, steps)
    if sign == -1:
        pos, neg = neg, pos
    order = rng.permutation(len(pos))
    n_held = min(int(np.floor(len(pos) * held_out_fraction)), max(len(pos) - 1, 0))
    held, train = np.sort(order[:n_held]), np.sort(order[n_held:])
    kind = "active" if sign == 1 else "prophylactic"
    return ConceptProblem(
        positive=pos[train], negative=neg[train],
        held_out_positive=pos[held], held_out_negative=neg[held],
        description=description
        or f"dynamic ({kind}, steps={steps}): {len(subpar)} subpar rollouts, {len(pos)} pairs",
    )


def problem_defect(problem: ConceptProblem) -> str | None:
    """Why ``problem`` cannot be mined, as a sentence; ``None`` when it can.

    Checks shapes, finiteness, that there is at least one training pair, and that
    some pair differs (all-equal pairs carry no direction).
    """
    pos, neg = np.asarray(problem.positive), np.asarray(problem.negative)
    if pos.ndim != 2 or neg.ndim != 2 or pos.shape != neg.shape:
        return (
            f"positive and negative activations must be equal-shaped (pairs, dim) matrices, "
            f"got {pos.shape} and {neg.shape}"
        )
    if pos.shape[0] == 0:
        return "the problem has no training pairs, so there is nothing to separate"
    if pos.shape[1] == 0:
        return "the activations have dimension 0"
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(neg))):
        return "the activations contain NaN or infinite values"
    if not np.any(pos != neg):
        return (
            f"all {pos.shape[0]} pairs have identical positive and negative activations "
            "(e.g. all zero), so no direction separates them"
        )
    return None


def _satisfaction(vector: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """(fraction of pairs with v.z+ >= v.z-, mean margin v.(z+ - z-)); NaN without pairs."""
    if len(pos) == 0:
        return float("nan"), float("nan")
    margins = (np.asarray(pos, np.float64) - np.asarray(neg, np.float64)) @ vector
    return float(np.mean(margins >= 0.0)), float(np.mean(margins))


def concept_metrics(
    vector: np.ndarray, problem: ConceptProblem, *, zero_tolerance: float = 1e-6
) -> dict[str, float]:
    """Sparsity and constraint satisfaction of ``vector`` on ``problem``.

    Args:
        vector: ``(dim,)`` concept direction.
        problem: The problem it was mined from.
        zero_tolerance: An entry counts towards ``l0`` when its magnitude is above
            this fraction of the largest magnitude.

    Returns:
        ``l0``, ``l1``, ``l2``, ``dim``, ``train_pairs``, ``held_out_pairs``,
        ``train_satisfaction``, ``held_out_satisfaction`` (fraction of pairs with
        ``v . z+ >= v . z-``; NaN without held-out pairs), ``train_mean_margin``
        and ``held_out_mean_margin`` (mean of ``v . (z+ - z-)``).

    Raises:
        ConceptProblemError: ``vector`` does not match the problem's dimension.
    """
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    if v.shape[0] != problem.dim:
        raise ConceptProblemError(
            f"vector has {v.shape[0]} entries but the problem's activations have dim {problem.dim}"
        )
    largest = float(np.max(np.abs(v))) if v.size else 0.0
    l0 = int(np.sum(np.abs(v) > zero_tolerance * largest)) if largest > 0 else 0
    train_sat, train_margin = _satisfaction(v, problem.positive, problem.negative)
    held_sat, held_margin = _satisfaction(v, problem.held_out_positive, problem.held_out_negative)
    return {
        "l0": float(l0),
        "l1": float(np.sum(np.abs(v))),
        "l2": float(np.linalg.norm(v)),
        "dim": float(v.shape[0]),
        "train_pairs": float(len(problem.positive)),
        "held_out_pairs": float(len(problem.held_out_positive)),
        "train_satisfaction": train_sat,
        "held_out_satisfaction": held_sat,
        "train_mean_margin": train_margin,
        "held_out_mean_margin": held_margin,
    }
