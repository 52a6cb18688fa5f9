"""Built-in plugin ``builtin.miners``: the domain-free concept miners.

``convex`` is the paper's sparse convex program; ``cav`` and ``mean-difference``
are simpler baselines that solve the same :class:`~conceptlab.values.ConceptProblem`.
"""

from __future__ import annotations

from conceptlab.hookspecs import hookimpl
from conceptlab.interfaces import ConceptMiner
from conceptlab.miners import CavMiner, ConvexMiner, MeanDifferenceMiner

__all__ = ["register_concept_miners"]


@hookimpl
def register_concept_miners() -> list[type[ConceptMiner]]:
    return [ConvexMiner, CavMiner, MeanDifferenceMiner]
