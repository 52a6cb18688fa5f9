"""Built-in plugin ``builtin.miners``: the domain-free concept miners.

``convex`` is the paper's sparse convex program; ``cav`` and ``mean-difference``
are simpler baselines that solve the same :class:`~conceptlab.values.ConceptProblem`.
They are registered by import path: cvxpy and scikit-learn are imported only
when a spec uses a miner.
"""

from __future__ import annotations

from conceptlab.lazy import LazyComponent
from conceptlab.markers import hookimpl

__all__ = ["register_concept_miners"]


@hookimpl
def register_concept_miners() -> list[LazyComponent]:
    return [
        LazyComponent("convex", "conceptlab.miners.convex:ConvexMiner"),
        LazyComponent("cav", "conceptlab.miners.cav:CavMiner"),
        LazyComponent("mean-difference", "conceptlab.miners.mean_difference:MeanDifferenceMiner"),
    ]
