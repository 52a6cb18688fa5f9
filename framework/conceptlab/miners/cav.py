"""A concept activation vector (TCAV) as a concept miner."""

from __future__ import annotations

import time
import warnings
from typing import ClassVar

import numpy as np
from pydantic import Field

from conceptlab.concepts.problems import problem_defect
from conceptlab.interfaces import ConceptMiner, StrictParams
from conceptlab.values import ConceptProblem, MinedVector

__all__ = ["CavMiner"]


class CavMiner(ConceptMiner):
    """The normal of a logistic-regression boundary between z+ (label 1) and z- (label 0).

    Implements the concept activation vector of Kim et al., "Interpretability
    Beyond Feature Attribution: Quantitative Testing with Concept Activation
    Vectors (TCAV)" (ICML 2018), as a baseline for the sparse program of Schut
    et al. (arXiv 2310.16410). Departures: the pairing of a
    :class:`~conceptlab.values.ConceptProblem` is ignored (rows are two labelled
    sets, duplicates included), and ``l1_ratio`` > 0 gives a sparse CAV (saga
    solver) closer in spirit to the paper's L1 objective.
    """

    name: ClassVar[str] = "cav"

    class Params(StrictParams):
        C: float = Field(default=1.0, gt=0, description="Inverse regularisation strength.")
        l1_ratio: float = Field(
            default=0.0, ge=0, le=1,
            description="0 = L2 penalty (lbfgs), 1 = L1 penalty; anything above 0 uses the saga solver.",
        )
        max_iter: int = Field(default=1000, ge=1, description="Most solver iterations.")
        standardize: bool = Field(
            default=False,
            description="Fit on standardised features and map the direction back to raw activations.",
        )
        normalize: bool = Field(default=True, description="Scale the direction to unit L2 norm.")
        min_norm: float = Field(
            default=1e-8, ge=0,
            description="Coefficients shorter than this (L2) count as no direction.",
        )

    params: Params

    def mine(self, problem: ConceptProblem, rng: np.random.Generator) -> MinedVector:
        """Fit the classifier; ``vector=None`` with a reason when it cannot separate anything.

        Args:
            problem: Training pairs, used as labelled rows.
            rng: Seeds the solver's shuffling (saga).
        """
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        defect = problem_defect(problem)
        if defect is not None:
            return MinedVector(None, "degenerate", f"Cannot mine: {defect}.")
        p = self.params
        x = np.vstack([problem.positive, problem.negative]).astype(np.float64)
        y = np.concatenate([np.ones(len(problem.positive)), np.zeros(len(problem.negative))])
        scale = np.ones(x.shape[1])
        if p.standardize:
            std = x.std(axis=0)
            scale = np.where(std > 0, std, 1.0)
            x = (x - x.mean(axis=0)) / scale
        model = LogisticRegression(
            C=p.C, l1_ratio=p.l1_ratio, solver="lbfgs" if p.l1_ratio == 0 else "saga",
            max_iter=p.max_iter, random_state=int(rng.integers(2**31 - 1)),
        )
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                model.fit(x, y)
            except Exception as exc:  # a solver failure is reported, never raised
                return MinedVector(
                    None, "solver_error", f"Logistic regression failed: {type(exc).__name__}: {exc}."
                )
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        direction = model.coef_.reshape(-1) / scale
        norm = float(np.linalg.norm(direction))
        details = {
            "fit_time_s": time.perf_counter() - start,
            "train_accuracy": float(model.score(x, y)),
            "raw_norm": norm,
            "converged": converged,
            "pairs": len(problem.positive),
            "dim": x.shape[1],
        }
        if not np.isfinite(norm) or norm <= p.min_norm:
            return MinedVector(
                None, "degenerate",
                f"Logistic regression found no separating direction (coefficient norm {norm:.3g}).",
                details,
            )
        if p.normalize:
            direction = direction / norm
        warning = "" if converged else f"the solver did not converge in {p.max_iter} iterations"
        return MinedVector(direction, "optimal" if converged else "not_converged", warning, details)
