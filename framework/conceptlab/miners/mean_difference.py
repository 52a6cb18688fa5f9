"""The difference of class means as a concept miner: the simplest baseline."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from conceptlab.concepts.problems import problem_defect
from conceptlab.interfaces import ConceptMiner, StrictParams
from conceptlab.values import ConceptProblem, MinedVector

__all__ = ["MeanDifferenceMiner"]


class MeanDifferenceMiner(ConceptMiner):
    """The concept direction ``mean(z+) - mean(z-)`` over the training pairs.

    A baseline for the sparse program of Schut et al., "Bridging the Human-AI
    Knowledge Gap: Concept Discovery and Transfer in AlphaZero" (arXiv
    2310.16410), not part of the paper: it is dense, needs no solver, and its
    direction is what a linear probe would find if both classes shared an
    isotropic covariance. Pairs are only used as two sets of rows.
    """

    name: ClassVar[str] = "mean-difference"

    class Params(StrictParams):
        normalize: bool = Field(default=True, description="Scale the direction to unit L2 norm.")
        min_norm: float = Field(
            default=1e-12, ge=0,
            description="A difference of means shorter than this counts as no direction.",
        )

    params: Params

    def mine(self, problem: ConceptProblem, rng: np.random.Generator) -> MinedVector:
        """The difference of means, or ``vector=None`` when it vanishes.

        Args:
            problem: Training pairs (held-out pairs are not used).
            rng: Unused (the method is deterministic); part of the interface.
        """
        defect = problem_defect(problem)
        if defect is not None:
            return MinedVector(None, "degenerate", f"Cannot mine: {defect}.")
        pos = np.asarray(problem.positive, np.float64)
        neg = np.asarray(problem.negative, np.float64)
        direction = pos.mean(axis=0) - neg.mean(axis=0)
        norm = float(np.linalg.norm(direction))
        details = {"raw_norm": norm, "pairs": pos.shape[0], "dim": pos.shape[1]}
        if norm <= self.params.min_norm:
            return MinedVector(
                None, "degenerate",
                f"The positive and negative rows have the same mean (difference norm {norm:.3g}), "
                "so there is no direction to report.",
                details,
            )
        if self.params.normalize:
            direction = direction / norm
        return MinedVector(direction, "optimal", "", details)
