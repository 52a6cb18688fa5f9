"""How far a mined dynamic concept's constraints reach beyond its own position.

A dynamic concept is mined on the rollouts of one position (method.md section 2)
and, by the paper's rule, taught on the positions whose own rollouts satisfy it
(section 3; ``stages.teach.dynamic_prototypes = "rollouts"``). How many positions
that is decides whether the teachability test has anything to work with.
:func:`bench_rollout_support` reads a run whose mine stage has finished and
counts, for every mined concept and for random directions of the same layers
(the teach stage's null: sparse ones with the concepts' median number of
non-zeros, and dense ones), the rollout positions where at least a share ``s``
of the pairs hold, for several ``s`` (``stages.teach.constraint_share``).

If the mined concepts reach no more positions than random directions do, their
constraints say nothing beyond the position they were mined on. Everything
here is a count over recorded activations: no net is evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.activations import read_layer
from conceptlab.concepts.nulls import null_concepts
from conceptlab.concepts.problems import rollout_constraints, rollout_slices
from conceptlab.errors import RunDirError
from conceptlab.run.store import concept_from_record, read_candidates

__all__ = ["bench_rollout_support"]


def _counts(concepts: Sequence[Any], acts: dict[str, np.ndarray], slices: Sequence[Any],
            shares: Sequence[float]) -> np.ndarray:
    """``(concepts, shares)``: positions whose pairs hold for at least each share."""
    out = np.zeros((len(concepts), len(shares)), dtype=np.int64)
    for i, concept in enumerate(concepts):
        layer_acts = acts[concept.layer]
        found = rollout_constraints(
            np.asarray(concept.vector, dtype=np.float64), layer_acts.reshape(len(layer_acts), -1), slices,
            steps=concept.provenance.get("steps", "all"), sign=concept.provenance.get("sign", 1),
        )
        share = np.nan_to_num(np.asarray(found.share, dtype=np.float64), nan=-1.0)
        for j, s in enumerate(shares):
            out[i, j] = int(np.sum(share >= s - 1e-12))
    return out


def _summary(counts: np.ndarray, shares: Sequence[float], min_prototypes: int) -> list[dict[str, Any]]:
    return [{
        "constraint_share": float(s),
        "median": float(np.median(counts[:, j])) if len(counts) else None,
        "mean": round(float(np.mean(counts[:, j])), 3) if len(counts) else None,
        "max": int(np.max(counts[:, j])) if len(counts) else None,
        "at_least_min_prototypes": int(np.sum(counts[:, j] >= min_prototypes)),
    } for j, s in enumerate(shares)]


def bench_rollout_support(
    run_dir: str | Path, shares: Sequence[float] = (1.0, 0.9, 0.8, 0.7, 0.6), *,
    null_directions: int = 200, min_prototypes: int = 10, seed: int = 0,
) -> dict[str, Any]:
    """Rollout positions satisfied by the mined concepts and by random directions, per share.

    Args:
        run_dir: A run directory whose collect and mine stages have finished.
        shares: Values of the share of a position's pairs that must hold.
        null_directions: Random sparse and as many random dense directions (the teach stage's null).
        min_prototypes: Counted: how many concepts (and nulls) reach this many positions.
        seed: Draws the random directions.

    Returns:
        ``rollout_positions``, ``concepts``, ``null_directions``, and per kind
        (``mined``, ``null_sparse``, ``null_dense``) one row per share: ``median``,
        ``mean``, ``max`` positions and ``at_least_min_prototypes``.

    Raises:
        RunDirError: The run has no rollouts or no mined concept.
    """
    run = Path(run_dir)
    rollouts_path = run / "collect" / "rollouts.json"
    if not rollouts_path.exists():
        raise RunDirError(f"{str(run)!r}: no collect/rollouts.json; run the collect and mine stages first")
    spec_name = json.loads((run / "spec.json").read_text()).get("name", "")
    rollouts = json.loads(rollouts_path.read_text())
    concepts = [concept_from_record(r, spec_name) for r in read_candidates(run) if r["vector"] is not None]
    if not rollouts or not concepts:
        raise RunDirError(f"{str(run)!r}: no rollout position or no mined concept to count")
    if not all(0.0 < s <= 1.0 for s in shares):
        raise RunDirError(f"shares must lie in (0, 1], got {list(shares)}")
    slices = rollout_slices(rollouts)
    acts = {layer: read_layer(run / "collect" / "rollout_acts", layer) for layer in {c.layer for c in concepts}}
    nulls = null_concepts(concepts, null_directions, np.random.default_rng(seed))
    figures: dict[str, Any] = {
        "rollout_positions": len(rollouts), "concepts": len(concepts), "null_directions": null_directions,
        "min_prototypes": min_prototypes,
    }
    figures["mined"] = _summary(_counts(concepts, acts, slices, shares), shares, min_prototypes)
    for kind in ("sparse", "dense"):
        chosen = [c for c in nulls if c.provenance["null"] == kind]
        figures[f"null_{kind}"] = _summary(_counts(chosen, acts, slices, shares), shares, min_prototypes)
    return figures
