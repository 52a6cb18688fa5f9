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

:func:`bench_teach` times the spec's teachability filter per concept
(``teach_s_per_concept``) with the spec's agent (its net size, fresh weights), a
pool of the spec's ``stages.collect.pool_size`` positions from random play, and
random concept directions at the agent's last torso layer: the cost of the
teaching procedure does not depend on what the weights have learned.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.concepts.problems import dynamic_problem
from conceptlab.errors import ParamsError
from conceptlab.miners.convex import ConvexMiner
from conceptlab.values import Concept, ConceptProblem

__all__ = ["bench_mine", "bench_teach", "random_play_positions", "synthetic_dynamic_problem"]

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
        ``dim``, ``pairs``, ``concepts``, ``lp_s_per_concept``, ``lp_iterations_per_concept``
        (HiGHS simplex iterations),
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
    lp_runs, lp_iterations = [], []
    for problem in problems:
        lp_runs.append(_timed(lp, problem))
        lp_iterations.append(lp.last_iterations)
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
        "lp_iterations_per_concept": float(np.mean(lp_iterations)),
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


def random_play_positions(domain: Any, count: int, rng: np.random.Generator, max_moves: int = 80) -> list[Any]:
    """``count`` distinct non-terminal states (by text form) from uniformly random games."""
    found: dict[str, Any] = {}
    attempts = 0
    while len(found) < count:
        attempts += 1
        if attempts > 20 * count + 100:
            raise ParamsError(f"random play found only {len(found)} distinct positions of {count}")
        state = domain.opening_states(1, rng)[0]
        for _ in range(max_moves):
            if domain.is_terminal(state) or len(found) >= count:
                break
            found.setdefault(domain.to_text(state), state)
            legal = domain.legal_actions(state)
            state = domain.apply(state, int(legal[rng.integers(len(legal))]))
    return list(found.values())


def bench_teach(
    components: Any,
    *,
    rng: np.random.Generator,
    concepts: int = 3,
    pool_size: int | None = None,
    students: int = 2,
) -> dict[str, Any]:
    """Seconds per concept of the spec's teachability filter, with the spec's agent.

    Args:
        components: A :class:`conceptlab.pipeline.Components` (domain, agent, filter).
        rng: Draws the pool, the concept directions and the filter's randomness.
        concepts: Concepts assessed (each timed).
        pool_size: Pool positions (default: the spec's ``stages.collect.pool_size``).
        students: Checkpoints offered as candidate students (fresh weights each).

    Returns:
        ``teach_s_per_concept``; for a filter with ``seeds`` and ``freeze_batchnorm``
        params, ``teach_single_training_s_per_concept`` (one seed, batch norm
        updated: the procedure before calibration, timed in turn on the same
        concepts) and ``teach_cost_ratio``; ``teach_null_directions`` and
        ``teach_null_s`` (the spec's null directions, both kinds, at the measured
        cost: added once per run); ``teach_prepare_s`` (loading the students, once
        per run), ``teach_pool``, ``teach_layer``, ``teach_dim``, ``teach_agent``
        (the agent's name and params) and ``teach_filter``.

    Raises:
        ParamsError: An argument is out of range, or the agent cannot be saved.
    """
    from conceptlab.interfaces import TeachabilityContext
    from conceptlab.stages.common import default_layers

    spec = components.spec
    pool_size = spec.stages.collect.pool_size if pool_size is None else pool_size
    if concepts < 1 or pool_size < 2 or students < 1:
        raise ParamsError(
            f"bench_teach needs concepts >= 1, pool_size >= 2 and students >= 1 "
            f"(got {concepts!r}, {pool_size!r}, {students!r})"
        )
    domain = components.domain
    teacher = components.new_agent(spec.seed)
    if not hasattr(teacher, "save"):
        raise ParamsError(f"agent {spec.agent.name!r} cannot be saved, so it has no students to teach")
    layer = default_layers(components.layer_names)[0]
    pool = random_play_positions(domain, pool_size, rng)
    acts = np.concatenate([
        teacher.evaluate(pool[i:i + 256], [layer]).activations[layer].reshape(len(pool[i:i + 256]), -1)
        for i in range(0, len(pool), 256)
    ])
    flt = components.teachability
    with tempfile.TemporaryDirectory(prefix="conceptlab-bench-") as tmp:
        series = [
            components.new_agent(spec.seed + 1 + i).save(Path(tmp) / f"student-{i}.pt", step=i, games=0)
            for i in range(students)
        ]
        context = TeachabilityContext(
            domain=domain, teacher=teacher, checkpoints=series, pool_states=pool,
            pool_activations={layer: acts},
        )
        start = time.perf_counter()
        flt.prepare(context, rng)
        prepare_s = time.perf_counter() - start
        vectors = [rng.standard_normal(acts.shape[1]) / acts.shape[1] for _ in range(concepts)]
        # the single-training procedure of before the calibration (one seed, batch norm updated),
        # timed on the same concepts in turn with the spec's, when the filter has those params
        fields = type(flt).Params.model_fields
        single = None
        if "seeds" in fields and "freeze_batchnorm" in fields:
            single = components.registry.create(
                "teachability_filter", spec.teachability.name,
                {**spec.teachability.params, "seeds": 1, "freeze_batchnorm": False},
            )
            single.prepare(context, rng)
        seconds, single_seconds = [], []
        for i, vector in enumerate(vectors):
            concept = Concept(f"bench-{i}", layer, vector, provenance={}, metrics={})
            for which, times in ((flt, seconds), (single, single_seconds)):
                if which is None:
                    continue
                start = time.perf_counter()
                which.assess(concept, rng)
                times.append(time.perf_counter() - start)
    nulls = 2 * spec.stages.teach.null_directions
    figures: dict[str, Any] = {}
    if single_seconds:
        figures["teach_single_training_s_per_concept"] = float(np.mean(single_seconds))
        figures["teach_cost_ratio"] = float(np.mean(seconds) / np.mean(single_seconds))
    return {
        "teach_s_per_concept": float(np.mean(seconds)),
        **figures,
        "teach_null_directions": nulls,
        "teach_null_s": float(nulls * np.mean(seconds)),
        "teach_prepare_s": prepare_s,
        "teach_pool": len(pool),
        "teach_layer": layer,
        "teach_dim": int(acts.shape[1]),
        "teach_agent": f"{spec.agent.name} {spec.agent.params}",
        "teach_filter": f"{spec.teachability.name} {spec.teachability.params}",
    }
