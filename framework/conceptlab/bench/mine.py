"""How long mining one dynamic concept takes: cvxpy against the direct LP, in one run.

Both backends of the ``convex`` miner solve the same programs (same pairs, same
margin) built through :func:`~conceptlab.concepts.dynamic_problem` from synthetic
rollout activations of a given layer size; the chess reference layer is about
``8 * 8 * channels`` (4096-8192). Figures:

* ``lp_s_per_concept``: ``scipy.optimize.linprog`` (HiGHS) on the split LP;
* ``cvxpy_s_per_concept``: cvxpy (HiGHS) reusing its compiled program, after the
  first concept of the shape (``cvxpy_first_s``), which pays for compilation;
* ``cvxpy_fresh_s_per_concept``: cvxpy compiling every program anew;
* ``cvxpy_norm1_s`` (only with ``naive=True``): the textbook ``cp.norm1(v)``
  formulation, once - it hands the solver ``2 * dim`` extra epigraph rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from conceptlab.concepts.problems import dynamic_problem
from conceptlab.errors import ParamsError
from conceptlab.miners.convex import ConvexMiner
from conceptlab.values import ConceptProblem

__all__ = ["bench_mine", "synthetic_dynamic_problem"]

PLIES = 10
"""Length T of the synthetic chosen rollout."""


def synthetic_dynamic_problem(dim: int, pairs: int, rng: np.random.Generator) -> ConceptProblem:
    """A dynamic problem with ``pairs`` training pairs of non-negative (post-ReLU) activations.

    A sparse planted concept grows along the chosen line and sits lower on subpar
    lines, which branch at every depth in turn until enough pairs exist.
    """
    planted = np.zeros(dim)
    support = rng.choice(dim, size=min(8, dim), replace=False)
    planted[support] = rng.uniform(0.5, 1.0, size=len(support))
    planted /= np.linalg.norm(planted)

    def states(count: int, presence: np.ndarray) -> np.ndarray:
        rows = np.maximum(rng.normal(size=(count, dim)), 0.0)
        return rows + np.maximum(presence - rows @ planted, 0.0)[:, None] * planted

    chosen = states(PLIES + 1, np.linspace(0.0, 3.0, PLIES + 1))
    subpar: list[tuple[int, np.ndarray]] = []
    total, depth = 0, 0
    while total < pairs:
        length = PLIES - depth + 1
        line = states(length, chosen[depth:] @ planted - rng.uniform(0.5, 1.5, size=length))
        line[0] = chosen[depth]
        subpar.append((depth, line))
        total += length - 1
        depth = (depth + 1) % PLIES
    problem = dynamic_problem(chosen, subpar, held_out_fraction=0.0, rng=rng)
    return ConceptProblem(problem.positive[:pairs], problem.negative[:pairs],
                          problem.held_out_positive, problem.held_out_negative,
                          description=f"synthetic dynamic concept, dim {dim}, {pairs} pairs")


def _timed(miner: ConvexMiner, problem: ConceptProblem) -> tuple[float, float]:
    """(seconds, objective) of one mining call; raises when the program was not solved."""
    start = time.perf_counter()
    mined = miner.mine(problem, np.random.default_rng(0))
    seconds = time.perf_counter() - start
    if not mined.ok:
        raise ParamsError(f"bench_mine: backend {miner.params.backend!r} failed: {mined.reason}")
    return seconds, float(mined.details["objective"])


def _naive_norm1_seconds(problem: ConceptProblem) -> float:
    import cvxpy as cp

    diffs = problem.positive - problem.negative
    v = cp.Variable(diffs.shape[1])
    start = time.perf_counter()
    cp.Problem(cp.Minimize(cp.norm1(v)), [diffs @ v >= 1.0]).solve(solver="HIGHS")
    return time.perf_counter() - start


def bench_mine(
    *,
    dim: int,
    pairs: int,
    rng: np.random.Generator,
    concepts: int = 3,
    naive: bool = False,
    teach_fn: Callable[[np.ndarray], object] | None = None,
) -> dict[str, Any]:
    """Seconds per dynamic concept for both backends of the ``convex`` miner.

    Args:
        dim: Activation dimension of the mined layer.
        pairs: Training pairs per concept (T = 10 plies; subpar lines are added
            until there are this many).
        rng: Draws the synthetic activations.
        concepts: Distinct problems timed per backend (at least 2: the first
            cvxpy solve of a shape is reported separately).
        naive: Also time the ``cp.norm1`` formulation once (slow at large ``dim``).
        teach_fn: Called with each mined vector and timed, e.g. a teachability
            check, to report ``teach_s_per_concept``.

    Returns:
        ``dim``, ``pairs``, ``concepts``, ``lp_s_per_concept``,
        ``cvxpy_s_per_concept``, ``cvxpy_first_s``, ``cvxpy_fresh_s_per_concept``,
        ``cvxpy_over_lp`` (the ratio of the two per-concept figures),
        ``objective_max_rel_diff`` (between backends), ``meets_1s_target`` and
        ``meets_2x_target``, plus ``cvxpy_norm1_s`` and ``teach_s_per_concept``
        when asked for.

    Raises:
        ParamsError: An argument is out of range, or a backend failed to solve.
    """
    if dim < 1 or pairs < 1 or concepts < 2:
        raise ParamsError(
            f"bench_mine needs dim >= 1, pairs >= 1 and concepts >= 2 "
            f"(got dim={dim!r}, pairs={pairs!r}, concepts={concepts!r})"
        )
    problems = [synthetic_dynamic_problem(dim, pairs, rng) for _ in range(concepts)]
    lp = ConvexMiner(ConvexMiner.Params(backend="lp"))
    reused = ConvexMiner(ConvexMiner.Params(backend="cvxpy"))
    fresh = ConvexMiner(ConvexMiner.Params(backend="cvxpy", reuse_compiled=False))
    lp_runs = [_timed(lp, p) for p in problems]
    reused_runs = [_timed(reused, p) for p in problems]
    fresh_runs = [_timed(fresh, p) for p in problems]
    lp_s = float(np.mean([s for s, _ in lp_runs]))
    cvxpy_s = float(np.mean([s for s, _ in reused_runs[1:]]))
    diffs = [
        abs(other - base) / max(abs(base), 1e-12)
        for (_, base), (_, with_reuse), (_, compiled) in zip(lp_runs, reused_runs, fresh_runs, strict=True)
        for other in (with_reuse, compiled)
    ]
    figures: dict[str, Any] = {
        "dim": dim,
        "pairs": pairs,
        "concepts": concepts,
        "lp_s_per_concept": lp_s,
        "cvxpy_s_per_concept": cvxpy_s,
        "cvxpy_first_s": reused_runs[0][0],
        "cvxpy_fresh_s_per_concept": float(np.mean([s for s, _ in fresh_runs])),
        "cvxpy_over_lp": cvxpy_s / lp_s,
        "objective_max_rel_diff": float(max(diffs)),
        "meets_1s_target": bool(max(lp_s, cvxpy_s) <= 1.0),
        "meets_2x_target": bool(cvxpy_s <= 2.0 * lp_s),
    }
    if naive:
        figures["cvxpy_norm1_s"] = _naive_norm1_seconds(problems[0])
    if teach_fn is not None:
        vectors = [lp.mine(p, np.random.default_rng(0)).vector for p in problems]
        start = time.perf_counter()
        for vector in vectors:
            teach_fn(vector)  # type: ignore[arg-type]
        figures["teach_s_per_concept"] = (time.perf_counter() - start) / len(vectors)
    return figures
