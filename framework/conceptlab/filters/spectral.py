"""The spectral novelty filter: is a concept better explained by the agent's games?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from conceptlab.errors import ComponentError
from conceptlab.interfaces import NoveltyContext, NoveltyFilter, StrictParams
from conceptlab.values import Concept, Verdict

__all__ = ["SpectralNoveltyFilter"]


@dataclass(frozen=True)
class _LayerBases:
    """Orthonormal bases (rows, by decreasing singular value) of one layer's two sets."""

    agent: np.ndarray
    """``(rank_agent, dim)`` right singular vectors of the agent's activations."""
    reference: np.ndarray
    """``(rank_reference, dim)`` right singular vectors of the reference activations."""
    rows_agent: int
    """Rows the agent's set had before equalising."""
    rows_reference: int
    rows_used: int
    """Rows of each set the bases were computed from."""


class SpectralNoveltyFilter(NoveltyFilter):
    """Novel when the agent's leading activation directions explain the concept better.

    Implements the novelty filter of Schut et al., "Bridging the Human-AI Knowledge
    Gap: Concept Discovery and Transfer in AlphaZero" (arXiv 2310.16410), as
    described in method.md section 4: with ``P_k`` the projection on the first
    ``k`` right singular vectors of a set's stacked activations,
    ``score_k(v) = (||v - P_ref,k v||^2 - ||v - P_agent,k v||^2) / ||v||^2``.

    Departures: the normalisation by ``||v||^2`` is our choice; the paper's ``k``
    grid is not known, so the default is every power of two up to the smaller
    rank, leaving out ``k`` equal to the dimension (where both projections are the
    identity and every score is zero); the decision rule is a parameter. When the
    two sets differ in size the larger is subsampled (recorded in the scores).
    """

    name: ClassVar[str] = "spectral"

    class Params(StrictParams):
        k_grid: list[int] | None = Field(
            default=None,
            description="Basis sizes k to score at; None = powers of two up to the smaller rank "
            "(below the dimension). Values above a rank use the whole basis.",
        )
        rule: Literal["all-positive", "mean-positive", "majority-positive"] = Field(
            default="all-positive",
            description="Novel when score_k > min_score for every k, on average, or for most k.",
        )
        min_score: float = Field(default=0.0, description="Threshold a score must exceed.")
        center: bool = Field(
            default=False, description="Subtract each set's mean before the SVD (the paper does not say)."
        )
        rank_rtol: float | None = Field(
            default=None, ge=0,
            description="Singular values below rank_rtol * largest are dropped; None = "
            "numpy's matrix_rank default (largest * max(n, dim) * eps).",
        )

    params: Params

    def __init__(self, params: StrictParams | None = None) -> None:
        super().__init__(params)
        self._bases: dict[str, _LayerBases] = {}
        self._reference_name = ""

    def prepare(self, context: NoveltyContext, rng: np.random.Generator) -> None:
        """Compute both sets' SVD bases for every layer present in both.

        Raises:
            ComponentError: A layer's two sets have different dimensions, or a set is empty.
        """
        self._reference_name = context.reference_name
        self._bases = {}
        for layer in sorted(set(context.agent_activations) & set(context.reference_activations)):
            agent = _rows(context.agent_activations[layer])
            reference = _rows(context.reference_activations[layer])
            if agent.shape[1] != reference.shape[1]:
                raise ComponentError(
                    f"novelty filter 'spectral': layer {layer!r} has dim {agent.shape[1]} in the "
                    f"agent's activations but {reference.shape[1]} in the reference's"
                )
            if len(agent) == 0 or len(reference) == 0:
                raise ComponentError(
                    f"novelty filter 'spectral': layer {layer!r} has {len(agent)} agent and "
                    f"{len(reference)} reference rows; both need some"
                )
            used = min(len(agent), len(reference))
            self._bases[layer] = _LayerBases(
                agent=self._basis(_subsample(agent, used, rng)),
                reference=self._basis(_subsample(reference, used, rng)),
                rows_agent=len(agent), rows_reference=len(reference), rows_used=used,
            )

    def _basis(self, rows: np.ndarray) -> np.ndarray:
        if self.params.center:
            rows = rows - rows.mean(axis=0)
        _, singular, vt = np.linalg.svd(rows, full_matrices=False)
        if singular.size == 0 or singular[0] == 0.0:
            return vt[:0]
        rtol = self.params.rank_rtol
        if rtol is None:
            rtol = max(rows.shape) * np.finfo(np.float64).eps
        return vt[: int(np.sum(singular > rtol * singular[0]))]

    def k_grid(self, layer: str) -> list[int]:
        """The basis sizes scored for ``layer`` (after ``prepare``)."""
        bases = self._layer(layer)
        dim = bases.agent.shape[1]
        top = min(len(bases.agent), len(bases.reference))
        if self.params.k_grid is not None:
            return sorted({k for k in self.params.k_grid if k >= 1})
        grid, k = [], 1
        while k <= top and k < dim:
            grid.append(k)
            k *= 2
        return grid

    def _layer(self, layer: str) -> _LayerBases:
        try:
            return self._bases[layer]
        except KeyError:
            known = ", ".join(sorted(self._bases)) or "none (was prepare called?)"
            raise ComponentError(
                f"novelty filter 'spectral' has no activations for layer {layer!r}; prepared layers: {known}"
            ) from None

    def assess(self, concept: Concept, rng: np.random.Generator) -> Verdict:
        """Score ``concept`` at every ``k`` and apply the rule.

        Raises:
            ComponentError: The concept's layer was not prepared, or its vector has the wrong size.
        """
        bases = self._layer(concept.layer)
        v = np.asarray(concept.vector, dtype=np.float64).reshape(-1)
        if v.shape[0] != bases.agent.shape[1]:
            raise ComponentError(
                f"concept {concept.id!r} has {v.shape[0]} entries but layer {concept.layer!r} "
                f"has dim {bases.agent.shape[1]}"
            )
        scores: dict[str, float] = {
            "rank_agent": float(len(bases.agent)),
            "rank_reference": float(len(bases.reference)),
            "rows_agent": float(bases.rows_agent),
            "rows_reference": float(bases.rows_reference),
            "rows_used": float(bases.rows_used),
        }
        norm_sq = float(v @ v)
        grid = self.k_grid(concept.layer)
        if norm_sq == 0.0 or not grid:
            why = "the concept vector is zero" if norm_sq == 0.0 else "the k grid is empty (rank 0?)"
            return Verdict(concept.id, self.name, False, scores, f"Not assessed: {why}.")
        agent_proj = (bases.agent @ v) ** 2
        ref_proj = (bases.reference @ v) ** 2
        values = []
        for k in grid:
            # ||v - P v||^2 = ||v||^2 - ||P v||^2 for an orthonormal basis
            score = (agent_proj[:k].sum() - ref_proj[:k].sum()) / norm_sq
            scores[f"score_k={k}"] = float(score)
            values.append(float(score))
        above = np.asarray(values) > self.params.min_score
        passed = {
            "all-positive": bool(above.all()),
            "mean-positive": float(np.mean(values)) > self.params.min_score,
            "majority-positive": bool(above.mean() > 0.5),
        }[self.params.rule]
        scores.update(min_score=min(values), mean_score=float(np.mean(values)),
                      fraction_positive=float(above.mean()))
        reason = (
            f"{'Novel' if passed else 'Not novel'} against {self._reference_name!r}: score "
            f"> {self.params.min_score:g} at {int(above.sum())} of {len(grid)} basis sizes "
            f"(k = {grid[0]}..{grid[-1]}; lowest {min(values):.3f}, mean {np.mean(values):.3f}); "
            f"rule {self.params.rule!r}"
        )
        if bases.rows_agent != bases.rows_reference:
            reason += (
                f"; the larger set was subsampled to {bases.rows_used} rows "
                f"(agent {bases.rows_agent}, reference {bases.rows_reference})"
            )
        return Verdict(concept.id, self.name, passed, scores, reason + ".")


def _rows(acts: np.ndarray) -> np.ndarray:
    arr = np.asarray(acts, dtype=np.float64)
    return arr.reshape(arr.shape[0], -1)


def _subsample(rows: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) == count:
        return rows
    return rows[np.sort(rng.choice(len(rows), size=count, replace=False))]
