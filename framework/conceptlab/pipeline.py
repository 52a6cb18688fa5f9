"""Running a spec: stages in order, each resumable unit by unit, with lifecycle hooks.

:func:`run_pipeline` opens the run directory, discards the stages whose hash
changed since they ran (:func:`conceptlab.spec.stage_hashes`), calls
``before_run``, and runs each requested stage that is not finished yet. A stage is a function of a
:class:`~conceptlab.run.context.StageContext`; it splits its work into units with
:meth:`~conceptlab.run.context.StageContext.units`, which skips units whose
artifact exists, runs the rest on the executor, and writes each result
atomically as it arrives. The contexts and components live in
:mod:`conceptlab.run` (re-exported here); this module is the driver.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conceptlab.checks import check_inputs, check_stages
from conceptlab.errors import ConceptlabError, SpecError
from conceptlab.executors import make_executor
from conceptlab.plugins import get_registry
from conceptlab.precision import AUTO_PRECISION_ENV
from conceptlab.registry import Registry
from conceptlab.run.components import PLAYER_PREFIX, Components
from conceptlab.run.context import RunContext, StageContext, StageSummary
from conceptlab.run.worker import components_for, use_components
from conceptlab.rundir import RunDir
from conceptlab.spec import STAGE_NEEDS, STAGES, RunSpec, resolve_spec
from conceptlab.stages import StageFunction, stage_function
from conceptlab.threads import current_thread_policy

__all__ = [
    "PLAYER_PREFIX",
    "STAGE_NEEDS",
    "Components",
    "RunContext",
    "StageContext",
    "StageSummary",
    "components_for",
    "run_pipeline",
]


def _check_needs(
    run_dir: RunDir, manifest: Mapping[str, Any] | None, stages: Sequence[str], stale: Sequence[str]
) -> None:
    done = manifest["stages"] if manifest else {}
    for stage in stages:
        for need in STAGE_NEEDS[stage]:
            if need in stages:
                continue
            if need in stale:
                raise SpecError(
                    f"stage {stage!r} needs stage {need!r}, whose settings changed since it ran in "
                    f"{str(run_dir.path)!r}; add it to --stages to run it again"
                )
            if done.get(need, {}).get("status") != "finished":
                raise SpecError(
                    f"stage {stage!r} needs stage {need!r}, which has not finished in "
                    f"{str(run_dir.path)!r}; run it first or add it to --stages"
                )


def _damaged_inputs(
    run_dir: RunDir, done: Mapping[str, Any], pending: Sequence[str], stale: Sequence[str]
) -> dict[str, list[str]]:
    """Finished stages that a stage to run reads, whose files no longer match their checksums.

    Stage -> its damaged files. Such a stage runs again first, recomputing the damaged
    files; its own inputs are checked in turn (stages read only stages before them).
    """
    to_run, damaged = set(pending), {}
    for stage in reversed(STAGES):
        record = done.get(stage, {})
        if stage in to_run or stage in stale or record.get("status") != "finished":
            continue
        if any(stage in STAGE_NEEDS[s] for s in to_run):
            files = run_dir.damaged(stage, record)
            if files:
                damaged[stage] = files
                to_run.add(stage)
    return dict(sorted(damaged.items(), key=lambda item: STAGES.index(item[0])))


def run_pipeline(
    spec: RunSpec,
    out: str | Path,
    *,
    stages: Sequence[str] | None = None,
    resume: bool = False,
    registry: Registry | None = None,
    progress: bool = True,
    source: str = "<spec>",
) -> dict[str, Any]:
    """Run ``spec``'s stages into ``out``; return the final manifest.

    Everything is checked before the run directory is written: the stage names,
    the components and their params, the files the spec names
    (:mod:`conceptlab.checks`), that ``out`` holds a run of this spec's name or nothing, and
    that every stage asked for finds the stages it reads.

    Resuming with a spec whose settings changed keeps every stage whose hash is
    unchanged and discards the others (folder and record), which then run again
    when asked for; the manifest's ``runtime.discarded`` lists them. A finished
    stage that a stage to run reads is checked against the checksums recorded when
    it finished: its files that are missing, truncated or edited are removed and
    the stage runs again first, recomputing them (``runtime.recomputed``).

    Args:
        spec: A structurally valid spec; its components are resolved here.
        out: The run directory.
        stages: Stages to run (default: all), always in pipeline order.
        resume: Continue a run already in ``out``; without it an existing run is refused.
        registry: The registry to use (default: a fresh one from the plugin manager).
        progress: Show progress bars on stderr.
        source: Where the spec came from, for error messages.
    """
    wanted = check_stages(stages)
    registry = registry or get_registry()
    resolved = resolve_spec(spec, registry, source=source)
    run_dir = RunDir(out, spec)
    if run_dir.manifest_path.exists() and not resume:
        raise SpecError(
            f"run directory {str(run_dir.path)!r} already holds this run; "
            "pass --resume to continue it, or choose another --out"
        )
    existing = run_dir.check()
    stale = run_dir.stale_stages(existing)
    _check_needs(run_dir, existing, wanted, stale)
    done = existing["stages"] if existing else {}
    pending = [s for s in wanted if s in stale or done.get(s, {}).get("status") != "finished"]
    damaged = _damaged_inputs(run_dir, done, pending, stale)
    to_run = [s for s in STAGES if s in pending or s in damaged]
    components = Components(resolved, registry)
    check_inputs(spec, components.domain, source, to_run)
    run_dir.open()
    run_dir.discard(stale)
    for stage, files in damaged.items():
        run_dir.repair(stage, files)

    use_components(components)
    precision = components.precision
    if spec.precision == "auto":  # workers reuse this process's choice rather than measure again
        os.environ[AUTO_PRECISION_ENV] = precision.used
    run_dir.record_runtime(
        threads=current_thread_policy().as_dict(), precision=precision.as_dict(), discarded=stale,
        recomputed=sorted(name for files in damaged.values() for name in files),
    )
    with make_executor(spec.executor) as executor:
        run = RunContext(spec, run_dir, registry, components, executor, progress)
        registry.hook.before_run(run=run)
        status = "failed"
        try:
            for stage in to_run:
                if run_dir.stage_status(stage) == "finished":
                    continue
                _run_stage(run, stage, stage_function(stage))
            status = "finished"
        finally:
            registry.hook.after_run(run=run, status=status)
    return run_dir.manifest()


def _run_stage(run: RunContext, stage: str, fn: StageFunction) -> None:
    registry, run_dir = run.registry, run.run_dir
    registry.hook.before_stage(run=run, stage=stage)
    started = time.time()
    run_dir.update_stage(stage, status="running", error=None, hash=run_dir.stage_hashes[stage])
    ctx = StageContext(run, stage)
    try:
        figures = fn(ctx)
    except BaseException as exc:
        message = str(exc) if isinstance(exc, ConceptlabError) else traceback.format_exc(limit=3)
        run_dir.update_stage(stage, status="failed", error=f"{type(exc).__name__}: {message}")
        registry.hook.on_stage_error(run=run, stage=stage, error=exc)
        raise
    seconds = round(time.time() - started, 3)
    run_dir.update_stage(
        stage, status="finished", seconds=seconds, units=ctx.units_total, figures=figures,
        precision=run.components.precision.used, threads=current_thread_policy().threads,
        checksums=run_dir.checksums(stage),
    )
    summary = StageSummary(stage, seconds, ctx.units_total, figures)
    registry.hook.after_stage(run=run, stage=stage, summary=summary)

