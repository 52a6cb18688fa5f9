"""The pipeline's stages, one module each; each is a function of a StageContext.

Stage modules are imported when their stage runs, so that starting a run (or
the CLI) does not import what later stages need.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from conceptlab.pipeline import StageContext

__all__ = ["stage_function"]


def stage_function(stage: str) -> Callable[[StageContext], dict[str, Any]]:
    """The function that runs ``stage`` (``conceptlab.stages.<stage>.run_<stage>``)."""
    module = importlib.import_module(f"conceptlab.stages.{stage}")
    return getattr(module, f"run_{stage}")
