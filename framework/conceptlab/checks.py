"""What a run checks before it does any work or writes its run directory.

Structure, component names, params and finite numbers are checked when a spec
is read and resolved (:mod:`conceptlab.spec`). This module adds the checks that
need more than the spec's text: that the stages asked for exist, and that the
files the spec names (checkpoints, the domain's reference games) are there. Both
``conceptlab run`` (through :func:`conceptlab.pipeline.run_pipeline`) and
``conceptlab spec validate`` call them, so a mistake costs one line and exit
status 2, never a half-written run directory.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from conceptlab.errors import ConceptlabError, MissingInputError, UnknownStageError
from conceptlab.interfaces import Domain
from conceptlab.spec import SHIPPED, STAGES, RunSpec

__all__ = ["check_inputs", "check_stages"]


def check_stages(stages: Sequence[str] | None) -> list[str]:
    """The stages to run, in pipeline order (all when ``stages`` is ``None``).

    Raises:
        UnknownStageError: A name that is not a stage, with the closest one.
    """
    if stages is None:
        return list(STAGES)
    for name in stages:
        if name not in STAGES:
            raise UnknownStageError(name, STAGES)
    return [stage for stage in STAGES if stage in stages]


def check_inputs(
    spec: RunSpec,
    domain: Domain[Any],
    source: str = "<spec>",
    stages: Collection[str] | None = None,
) -> None:
    """Check that the files ``spec`` names exist, before any work starts.

    - ``stages.train.checkpoints``: every listed file (unless ``["shipped"]``),
      when ``train`` is to run;
    - ``stages.collect.reference_source``: whatever the domain checks for it
      (:meth:`~conceptlab.interfaces.Domain.check_reference_source`: for chess,
      that the PGN file or ``book:PATH`` exists and opens), when ``collect`` is to run.

    Args:
        spec: The spec.
        domain: The spec's domain, which checks its reference source.
        source: Where the spec came from, for messages.
        stages: The stages that are to run (default: all); a file only a stage
            outside them reads is not checked.

    Raises:
        MissingInputError: A listed checkpoint file does not exist.
        ConceptlabError: The domain refused the reference source (its own error
            class, its message prefixed with the spec and the field).
    """
    stages = STAGES if stages is None else stages
    checkpoints = spec.stages.train.checkpoints if "train" in stages else []
    if checkpoints != [SHIPPED]:
        for given in checkpoints:
            path = Path(given).expanduser()
            if not path.is_file():
                raise MissingInputError(
                    f"{source}: [stages.train.checkpoints] checkpoint file not found: {given!r}"
                    + (f" (resolved to {str(path.resolve())!r})" if not path.is_absolute() else "")
                )
    reference = spec.stages.collect.reference_source
    if reference and "collect" in stages:
        try:
            domain.check_reference_source(reference)
        except ConceptlabError as exc:
            exc.args = (f"{source}: [stages.collect.reference_source] {exc}",)
            raise exc from None
