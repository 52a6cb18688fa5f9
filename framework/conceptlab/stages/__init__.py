"""The pipeline's stages, one module each; each is a function of a StageContext.

:data:`STAGE_FUNCTIONS` names each stage's function by import path; a stage's
module is imported when the stage runs, so that starting a run (or the CLI)
does not import what later stages need.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from conceptlab.errors import SpecError
from conceptlab.run.context import StageContext

__all__ = ["STAGE_FUNCTIONS", "StageFunction", "stage_function"]

StageFunction = Callable[[StageContext], dict[str, Any]]
"""A stage: given its context, it does its work and returns its headline figures."""

STAGE_FUNCTIONS: Mapping[str, str] = {
    "train": "conceptlab.stages.train:run_train",
    "collect": "conceptlab.stages.collect:run_collect",
    "mine": "conceptlab.stages.mine:run_mine",
    "teach": "conceptlab.stages.teach:run_teach",
    "novelty": "conceptlab.stages.novelty:run_novelty",
    "amplify": "conceptlab.stages.amplify:run_amplify",
    "export": "conceptlab.stages.export:run_export",
    "probe": "conceptlab.stages.probe:run_probe",
}
"""Stage -> ``"module:function"`` that runs it (one entry per name in ``spec.STAGES``)."""


def stage_function(stage: str) -> StageFunction:
    """Import and return the function that runs ``stage``."""
    try:
        target = STAGE_FUNCTIONS[stage]
    except KeyError:
        raise SpecError(f"unknown stage {stage!r}; stages: {', '.join(STAGE_FUNCTIONS)}") from None
    module, _, name = target.partition(":")
    function: StageFunction = getattr(importlib.import_module(module), name)
    return function
