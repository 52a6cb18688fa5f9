"""The spectral novelty filter: is a concept better explained by the agent's games?

The bases come from an exact SVD when a set fits in memory, and otherwise from a
randomized SVD streamed over blocks of rows (:func:`randomized_right_basis`),
whose memory does not grow with the number of rows, so the activation sets may
be memory maps of pools larger than memory (:mod:`conceptlab.activations`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from conceptlab.activations import iter_row_chunks
from conceptlab.errors import ComponentError
from conceptlab.interfaces import NoveltyContext, NoveltyFilter, StrictParams
from conceptlab.values import Concept, Verdict

__all__ = ["SpectralNoveltyFilter", "randomized_right_basis"]


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
    randomized: bool = False
    """Whether the bases came from the streamed randomized SVD (else the exact one)."""


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
    Sets too large for an exact SVD get the leading ``max_rank`` directions of a
    streamed randomized SVD (:func:`randomized_right_basis`), so ``k`` stops at
    ``max_rank`` for them.
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
        svd: Literal["auto", "exact", "randomized"] = Field(
            default="auto",
            description="How the bases are computed: exact (the whole set in memory), randomized "
            "(streamed over row blocks; memory independent of the rows), or auto (exact when a "
            "set's float64 copy is at most exact_max_mb).",
        )
        exact_max_mb: float = Field(
            default=512.0, gt=0, description="auto: the largest set (MB as float64) given an exact SVD."
        )
        max_rank: int = Field(
            default=128, ge=1, description="randomized: leading directions kept per set (k stops here)."
        )
        oversample: int = Field(default=10, ge=0, description="randomized: extra random directions.")
        power_iterations: int = Field(
            default=4, ge=0, description="randomized: passes of A^T A that sharpen the subspace."
        )
        chunk_rows: int = Field(
            default=2048, ge=1, description="randomized: rows read into memory at a time."
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
            agent_rows = _subsample_index(len(agent), used, rng)
            reference_rows = _subsample_index(len(reference), used, rng)
            randomized = self._randomized(used, agent.shape[1])
            self._bases[layer] = _LayerBases(
                agent=self._basis(agent, agent_rows, randomized, rng),
                reference=self._basis(reference, reference_rows, randomized, rng),
                rows_agent=len(agent), rows_reference=len(reference), rows_used=used,
                randomized=randomized,
            )

    def _randomized(self, rows: int, dim: int) -> bool:
        if self.params.svd == "auto":
            return rows * dim * 8 > self.params.exact_max_mb * 2**20
        return self.params.svd == "randomized"

    def _basis(
        self, acts: np.ndarray, rows: np.ndarray | None, randomized: bool, rng: np.random.Generator
    ) -> np.ndarray:
        p = self.params
        if randomized:
            singular, vt = randomized_right_basis(
                acts, p.max_rank, rng, rows=rows, center=p.center, oversample=p.oversample,
                power_iterations=p.power_iterations, chunk_rows=p.chunk_rows,
            )
            shape = (len(acts) if rows is None else len(rows), acts.shape[1])
        else:
            matrix = np.asarray(acts if rows is None else acts[rows], dtype=np.float64)
            if p.center:
                matrix = matrix - matrix.mean(axis=0)
            _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
            shape = matrix.shape
        if singular.size == 0 or singular[0] == 0.0:
            return vt[:0]
        rtol = p.rank_rtol
        if rtol is None:
            rtol = max(shape) * np.finfo(np.float64).eps
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
        if bases.randomized:
            scores["randomized_svd"] = 1.0
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
    """``(n, dim)`` view of ``acts`` without copying (a memory map stays one)."""
    if not isinstance(acts, np.ndarray):
        acts = np.asarray(acts, dtype=np.float64)
    return acts.reshape(acts.shape[0], -1)


def _subsample_index(total: int, count: int, rng: np.random.Generator) -> np.ndarray | None:
    """Sorted rows of a random subsample of ``count`` out of ``total``; None for all."""
    if total == count:
        return None
    return np.sort(rng.choice(total, size=count, replace=False))


def randomized_right_basis(
    acts: np.ndarray,
    rank: int,
    rng: np.random.Generator,
    *,
    rows: np.ndarray | None = None,
    center: bool = False,
    oversample: int = 10,
    power_iterations: int = 4,
    chunk_rows: int = 2048,
) -> tuple[np.ndarray, np.ndarray]:
    """Leading singular values and right singular vectors of ``acts``, streamed over row blocks.

    The randomized range finder with power iterations of Halko, Martinsson and
    Tropp, "Finding structure with randomness" (SIAM Review 53(2), 2011,
    algorithms 4.4 and 5.1), applied to the row space: a random ``(dim, l)``
    start, ``l = rank + oversample``, is multiplied by ``A^T A`` one block of rows
    at a time and re-orthonormalised, ``power_iterations + 1`` times; then the
    ``(n, l)`` product ``A Q`` is reduced block by block to its ``(l, l)`` QR factor
    ``R`` (a tall-skinny QR), whose exact SVD ``R = U S W^T`` gives the values
    ``S`` and the vectors ``W^T Q^T``. Memory is ``O(dim * l + chunk_rows * dim)``
    whatever the number of rows, and every pass reads ``acts`` in order, so a
    memory map larger than memory works.

    Args:
        acts: ``(n, dim)`` activations (an array or a memory map).
        rank: Singular directions wanted (at most ``min(n, dim)`` come back).
        rng: The random start.
        rows: Use only these rows of ``acts`` (sorted, for sequential reads).
        center: Subtract the rows' mean first.
        oversample: Extra random directions; more means a more accurate subspace.
        power_iterations: Extra passes of ``A^T A``; more means a more accurate subspace.
        chunk_rows: Rows in memory at a time.

    Returns:
        ``(singular, vt)``: ``(r,)`` singular values, decreasing, and ``(r, dim)``
        orthonormal rows, ``r = min(rank, n, dim)``.
    """
    n = len(acts) if rows is None else len(rows)
    dim = int(np.prod(acts.shape[1:]))
    width = min(rank + oversample, n, dim)
    mean = np.zeros(dim)
    if center and n:
        for block in iter_row_chunks(acts, chunk_rows, rows):
            mean += block.reshape(len(block), -1).sum(axis=0, dtype=np.float64)
        mean /= n

    def blocks() -> Iterator[np.ndarray]:
        for block in iter_row_chunks(acts, chunk_rows, rows):
            yield block.reshape(len(block), -1).astype(np.float64) - mean

    if width == 0:
        return np.zeros(0), np.zeros((0, dim))
    basis, _ = np.linalg.qr(rng.standard_normal((dim, width)))
    for _ in range(power_iterations + 1):
        sketch = np.zeros((dim, width))
        for block in blocks():
            sketch += block.T @ (block @ basis)
        basis, _ = np.linalg.qr(sketch)
    factor = np.zeros((0, width))
    for block in blocks():
        factor = np.linalg.qr(np.vstack([factor, block @ basis]), mode="r")
    _, singular, wt = np.linalg.svd(factor, full_matrices=False)
    keep = min(rank, len(singular))
    return singular[:keep], wt[:keep] @ basis.T
