"""The sparse convex program of Schut et al. (2023) as a concept miner.

``minimise ||v||_1  subject to  v . (z+_i - z-_i) >= margin`` for every training
pair, optionally with slack. Two backends solve the same program: cvxpy (the
paper's tool) and a direct linear program handed to HiGHS (by column generation
when the layer is much wider than the pairs are many, see
:mod:`conceptlab.miners.column_generation`, else through ``scipy.optimize.linprog``).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.optimize
import scipy.sparse
from pydantic import Field, model_validator

from conceptlab.concepts.problems import problem_defect
from conceptlab.interfaces import ConceptMiner, StrictParams
from conceptlab.miners.column_generation import solve_by_columns
from conceptlab.values import ConceptProblem, MinedVector

__all__ = ["ConvexMiner"]

_MAX_CACHED_PROGRAMS = 4
"""Compiled cvxpy programs a miner keeps (one per pair bucket and dimension)."""

_LINPROG_STATUS = {
    0: "optimal",
    1: "iteration_limit",
    2: "infeasible",
    3: "unbounded",
    4: "numerical_error",
}


class ConvexMiner(ConceptMiner):
    """Sparse concept vectors from an L1-minimising linear program.

    Implements the concept-discovery program of Schut et al., "Bridging the
    Human-AI Knowledge Gap: Concept Discovery and Transfer in AlphaZero" (arXiv
    2310.16410): the sparsest ``v`` (in L1) under which every positive row of a
    pair scores at least as high as its negative row.

    Departures from the paper: the program as written (``v . z+ >= v . z-``) is
    solved by ``v = 0``, so the constraint carries a ``margin`` (default 1). With
    ``slack_penalty = C`` each pair may fall short by ``xi_i >= 0`` at a cost
    ``C * sum(xi)`` in the objective; note that a small ``C`` makes ``v = 0`` (all
    slack) optimal. Both are recorded in ``details``. Entries below
    ``zero_tolerance`` times the largest magnitude are set to exactly zero.
    """

    name: ClassVar[str] = "convex"

    class Params(StrictParams):
        margin: float = Field(
            default=1.0, gt=0,
            description="Required score gap v.(z+ - z-) per pair; fixes the scale that v = 0 lacks.",
        )
        slack_penalty: float | None = Field(
            default=None, gt=0,
            description="C in C * sum(xi) for per-pair slack xi >= 0; None enforces every pair exactly.",
        )
        backend: Literal["cvxpy", "lp"] = Field(
            default="cvxpy",
            description="'cvxpy' (the paper's modelling tool) or 'lp' (direct HiGHS LP via scipy).",
        )
        solver: str = Field(
            default="HIGHS", description="cvxpy solver name (backend 'cvxpy' only), e.g. HIGHS, CLARABEL."
        )
        presolve: bool = Field(
            default=False,
            description="Run HiGHS presolve. Off by default: on these wide dense LPs (pairs << dim) "
            "presolve took most of the solve time in our measurements.",
        )
        column_generation: bool = Field(
            default=True,
            description="'lp' backend, when dim > 2 * pairs: solve over a growing subset of the "
            "dimensions, adding those whose reduced cost can still lower the objective until none "
            "can (warm-started HiGHS): the full LP's optimum in a fraction of the time. False: the "
            "full LP at once.",
        )
        reuse_compiled: bool = Field(
            default=True,
            description="cvxpy: keep compiled programs (per pair-count bucket and dim) and only "
            "swap in new data; pairs are padded with repeats, which leaves the optimum unchanged.",
        )
        zero_tolerance: float = Field(
            default=1e-9, ge=0, lt=1,
            description="Entries below this fraction of the largest |v_i| are set to zero.",
        )

        @model_validator(mode="after")
        def _solver_installed(self) -> ConvexMiner.Params:
            if self.backend == "cvxpy":
                import cvxpy

                installed = cvxpy.installed_solvers()
                if self.solver.upper() not in installed:
                    raise ValueError(
                        f"cvxpy solver {self.solver!r} is not installed; installed: {', '.join(installed)}"
                    )
            return self

    params: Params

    def __init__(self, params: StrictParams | None = None) -> None:
        super().__init__(params)
        self._programs: dict[tuple[int, int], _CvxpyProgram] = {}
        self.last_iterations = 0  # simplex iterations of the last 'lp' solve (for benchmarks)

    def mine(self, problem: ConceptProblem, rng: np.random.Generator) -> MinedVector:
        """Solve the program for ``problem``; failures come back as ``vector=None``.

        Args:
            problem: Training pairs (held-out pairs are not used).
            rng: Unused (the program is deterministic); part of the interface.
        """
        p = self.params
        base: dict[str, Any] = {
            "backend": p.backend,
            "presolve": p.presolve,
            "solver": p.solver.upper() if p.backend == "cvxpy" else "HIGHS (scipy.linprog)",
            "margin": p.margin,
            "slack_penalty": p.slack_penalty,
        }
        defect = problem_defect(problem)
        if defect is not None:
            return MinedVector(None, "degenerate", f"Cannot mine: {defect}.", base)
        diffs = np.asarray(problem.positive, np.float64) - np.asarray(problem.negative, np.float64)
        base["pairs"] = diffs.shape[0]
        base["dim"] = diffs.shape[1]
        start = time.perf_counter()
        try:
            if p.backend == "cvxpy":
                status, vector, objective, slack = self._solve_cvxpy(diffs)
            else:
                status, vector, objective, slack = self._solve_lp(diffs)
        except Exception as exc:  # a solver failure is reported, never raised
            base["solve_time_s"] = time.perf_counter() - start
            return MinedVector(
                None, "solver_error",
                f"The {base['solver']} solver failed: {type(exc).__name__}: {exc}.", base,
            )
        base["solve_time_s"] = time.perf_counter() - start
        base["status"] = status
        if vector is None or status not in ("optimal", "optimal_inaccurate"):
            what = "infeasible: no direction meets the margin on every pair" if status == "infeasible" else status
            return MinedVector(
                None, status,
                f"The program is {what} ({base['pairs']} pairs, dim {base['dim']}, "
                f"margin {p.margin}, slack {'off' if p.slack_penalty is None else p.slack_penalty}).",
                base,
            )
        vector = _clean(vector, p.zero_tolerance)
        base["objective"] = objective
        base["l1"] = float(np.abs(vector).sum())
        base["slack_total"] = slack
        base["pairs_short_of_margin"] = int(np.sum(diffs @ vector < p.margin * (1 - 1e-6)))
        if not np.any(vector):
            return MinedVector(
                None, "degenerate",
                "The optimum is v = 0: the slack penalty is low enough that violating every pair "
                "costs less than any direction; raise slack_penalty.",
                base,
            )
        warning = "solver reports an inaccurate optimum" if status == "optimal_inaccurate" else ""
        return MinedVector(vector, status, warning, base)

    # -- backends -------------------------------------------------------------------
    def _solve_cvxpy(self, diffs: np.ndarray) -> tuple[str, np.ndarray | None, float, float]:
        p = self.params
        m, d = diffs.shape
        rows = _bucket(m) if p.reuse_compiled else m
        program = self._programs.get((rows, d)) or _CvxpyProgram(rows, d, p.slack_penalty)
        if p.reuse_compiled:
            self._programs.pop((rows, d), None)
            self._programs[(rows, d)] = program
            while len(self._programs) > _MAX_CACHED_PROGRAMS:
                self._programs.pop(next(iter(self._programs)))
        options = {} if p.solver.upper() != "HIGHS" or p.presolve else {"presolve": "off"}
        return program.solve(diffs, p.margin, p.solver.upper(), options)

    def _solve_lp(self, diffs: np.ndarray) -> tuple[str, np.ndarray | None, float, float]:
        p = self.params
        m, d = diffs.shape
        if p.column_generation and d > 2 * m:
            found = solve_by_columns(diffs, p.margin, p.slack_penalty, presolve=p.presolve)
            if found is not None:
                self.last_iterations = found.iterations
                return "optimal", found.vector, found.objective, found.slack_total
            # no optimum of the restricted programs, or slack left under hard constraints:
            # the full program says why (infeasible, numerical trouble)
        # variables [v+ (d), v- (d), xi (m, with slack)], all >= 0;  -D v+ + D v- - xi <= -margin.
        # The constraint matrix goes to HiGHS in the compressed-column form it reads, built here
        # once (post-ReLU activations make many differences exactly zero), not converted from a
        # dense copy of twice the pairs' size.
        pairs = scipy.sparse.csc_matrix(diffs)
        blocks = [-pairs, pairs]
        cost = [np.ones(2 * d)]
        if p.slack_penalty is not None:
            blocks.append(-scipy.sparse.identity(m, format="csc"))
            cost.append(np.full(m, p.slack_penalty))
        a_ub = scipy.sparse.hstack(blocks, format="csc")
        result = scipy.optimize.linprog(
            np.concatenate(cost), A_ub=a_ub, b_ub=np.full(m, -p.margin),
            bounds=(0, None), method="highs", options={"presolve": p.presolve},
        )
        self.last_iterations = int(getattr(result, "nit", 0) or 0)
        status = _LINPROG_STATUS.get(int(result.status), f"status_{result.status}")
        if result.x is None or status != "optimal":
            return status, None, float("nan"), float("nan")
        x = np.asarray(result.x, dtype=np.float64)
        slack_total = float(np.sum(x[2 * d:])) if p.slack_penalty is not None else 0.0
        return status, x[:d] - x[d:2 * d], float(result.fun), slack_total


class _CvxpyProgram:
    """The cvxpy program for ``rows`` pairs of dimension ``dim``, compiled once, solved often.

    The pair differences and the per-pair slack weights are ``cp.Parameter``s, so
    cvxpy canonicalises the program on its first solve only (DPP). ``v`` is split
    as ``v+ - v-`` with both non-negative: the solver then sees ``rows``
    constraints, whereas ``cp.norm1(v)`` adds ``2 * dim`` epigraph rows and is
    several times slower to solve at layer sizes in the thousands.
    """

    def __init__(self, rows: int, dim: int, slack_penalty: float | None) -> None:
        import cvxpy as cp

        self.rows = rows
        self.diffs = cp.Parameter((rows, dim))
        self.v_pos = cp.Variable(dim, nonneg=True)
        self.v_neg = cp.Variable(dim, nonneg=True)
        self.margin = cp.Parameter(nonneg=True)
        gap = self.diffs @ self.v_pos - self.diffs @ self.v_neg
        objective = cp.sum(self.v_pos) + cp.sum(self.v_neg)
        self.slack: Any = None
        self.weights: Any = None
        if slack_penalty is None:
            constraints = [gap >= self.margin]
        else:
            self.slack = cp.Variable(rows, nonneg=True)
            self.weights = cp.Parameter(rows, nonneg=True)
            constraints = [gap + self.slack >= self.margin]
            objective = objective + slack_penalty * (self.weights @ self.slack)
        self.problem = cp.Problem(cp.Minimize(objective), constraints)

    def solve(
        self, diffs: np.ndarray, margin: float, solver: str, options: dict[str, Any]
    ) -> tuple[str, np.ndarray | None, float, float]:
        """(status, v, objective, total slack) for ``diffs``, padded to ``self.rows`` pairs."""
        m = diffs.shape[0]
        # repeated pairs add no new constraint; in slack mode they get zero weight,
        # so their slack is free and they constrain nothing
        padded = diffs[np.arange(self.rows) % m]
        self.diffs.value = padded
        self.margin.value = margin
        if self.weights is not None:
            self.weights.value = (np.arange(self.rows) < m).astype(np.float64)
        self.problem.solve(solver=solver, **options)
        status = str(self.problem.status)
        if self.v_pos.value is None or self.v_neg.value is None:
            return status, None, float("nan"), float("nan")
        vector = np.asarray(self.v_pos.value - self.v_neg.value, dtype=np.float64)
        slack_total = 0.0 if self.slack is None else float(np.sum(self.slack.value[:m]))
        return status, vector, float(self.problem.value), slack_total


def _bucket(pairs: int) -> int:
    """Pair count rounded up to a power of two (at least 8), so few shapes get compiled."""
    return max(8, 1 << (pairs - 1).bit_length())


def _clean(vector: np.ndarray, tolerance: float) -> np.ndarray:
    """``vector`` with entries below ``tolerance * max|v|`` set to zero."""
    largest = float(np.max(np.abs(vector))) if vector.size else 0.0
    cleaned = vector.copy()
    cleaned[np.abs(cleaned) <= tolerance * largest] = 0.0
    return cleaned
