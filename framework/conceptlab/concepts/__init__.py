"""Concept problems, metrics and the building blocks around mining.

:mod:`conceptlab.concepts.problems` builds the paired activations a miner solves
and measures a vector on them; :mod:`conceptlab.concepts.amplify` (needs torch)
is the causal check of method.md section 5; :mod:`conceptlab.concepts.probing`
fits sparse linear probes for known concepts (McGrath et al. 2022).
"""

from conceptlab.concepts.problems import (
    ConceptProblemError,
    RolloutSatisfaction,
    RolloutSlice,
    StepSet,
    concept_metrics,
    dynamic_problem,
    problem_defect,
    rollout_constraints,
    rollout_slices,
    static_problem,
)

__all__ = [
    "ConceptProblemError",
    "RolloutSatisfaction",
    "RolloutSlice",
    "StepSet",
    "concept_metrics",
    "dynamic_problem",
    "problem_defect",
    "rollout_constraints",
    "rollout_slices",
    "static_problem",
]
