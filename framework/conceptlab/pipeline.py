"""Running a spec: stages in order, each resumable unit by unit, with lifecycle hooks.

:func:`run_pipeline` opens the run directory, calls ``before_run``, and runs each
requested stage that is not finished yet. A stage is a function of a
:class:`StageContext`; it splits its work into units with
:meth:`StageContext.units`, which skips units whose artifact exists, runs the
rest on the executor, and writes each result atomically as it arrives. Every
random number a unit draws comes from :meth:`StageContext.rng` keyed by the
unit, so a resumed run reaches the same bytes as an uninterrupted one.
"""

from __future__ import annotations

import functools
import os
import time
import traceback
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from conceptlab.errors import ComponentError, ConceptlabError, SpecError
from conceptlab.executors import Executor, SerialExecutor, make_executor
from conceptlab.interfaces import Agent, Domain, Search
from conceptlab.plugins import Registry, get_registry
from conceptlab.precision import AUTO_PRECISION_ENV, PrecisionChoice, resolve_precision
from conceptlab.arrays import save_npz
from conceptlab.rundir import RunDir, atomic_write_json, read_json
from conceptlab.spec import STAGES, ResolvedSpec, RunSpec, resolve_spec, spec_from_dict, spec_hash
from conceptlab.threads import current_thread_policy

__all__ = [
    "STAGE_NEEDS",
    "Components",
    "RunContext",
    "StageContext",
    "StageSummary",
    "components_for",
    "run_pipeline",
]

STAGE_NEEDS: Mapping[str, tuple[str, ...]] = {
    "train": (),
    "collect": ("train",),
    "mine": ("collect",),
    "teach": ("train", "collect", "mine"),
    "novelty": ("collect", "mine", "teach"),
    "amplify": ("collect", "mine", "teach", "novelty"),
    "export": ("collect", "mine", "teach", "novelty", "amplify"),
    "probe": ("train", "collect"),
}
"""Stage -> the stages whose artifacts it reads."""


class Components:
    """The spec's components, built on demand and cached (one per process)."""

    def __init__(self, resolved: ResolvedSpec, registry: Registry) -> None:
        self.resolved = resolved
        self.spec = resolved.spec
        self.registry = registry
        self._agents: dict[str, Agent[Any]] = {}

    def _make(self, field_name: str, *args: Any, **kwargs: Any) -> Any:
        cls = self.resolved.classes[field_name]
        return cls(*args, self.resolved.params[field_name], **kwargs)

    @functools.cached_property
    def domain(self) -> Domain[Any]:
        return self._make("domain")

    @functools.cached_property
    def search(self) -> Search[Any]:
        return self._make("search", self.domain)

    @functools.cached_property
    def layer_names(self) -> tuple[str, ...]:
        """The agent's layer names (from one freshly built agent)."""
        return tuple(self.new_agent(0).layer_names)

    @functools.cached_property
    def precision(self) -> PrecisionChoice:
        """The spec's precision as resolved on this machine (``auto`` once per process)."""
        return resolve_precision(self.spec.precision)

    def new_agent(self, seed: int) -> Agent[Any]:
        """A freshly initialised agent (weights seeded by ``seed``), in the spec's precision.

        Raises:
            ComponentError: The spec asks for ``bf16`` and the agent has no ``set_precision``.
        """
        agent = self._make("agent", self.domain, seed=seed)
        used = self.precision.used
        set_precision = getattr(agent, "set_precision", None)
        if set_precision is not None:
            set_precision(used)
        elif self.spec.precision == "bf16":
            raise ComponentError(
                f"precision = 'bf16', but agent {self.spec.agent.name!r} has no set_precision "
                "(only network agents such as TorchAgent subclasses run in bf16); use 'fp32' or 'auto'"
            )
        return agent

    def agent(self, checkpoint: str) -> Agent[Any]:
        """The agent with the weights of ``checkpoint`` (cached per path)."""
        if checkpoint not in self._agents:
            agent = self.new_agent(0)
            agent.load(checkpoint)  # type: ignore[attr-defined]
            self._agents[checkpoint] = agent
        return self._agents[checkpoint]

    @functools.cached_property
    def miner(self) -> Any:
        return self._make("miner")

    @functools.cached_property
    def teachability(self) -> Any:
        return self._make("teachability")

    @functools.cached_property
    def novelty(self) -> Any:
        return self._make("novelty")


_WORKER_COMPONENTS: dict[str, Components] = {}


def components_for(spec_data: Mapping[str, Any]) -> Components:
    """Components for a spec given as JSON data; cached per process (for worker units).

    In the process that runs the pipeline, this is the run's own :class:`Components`.
    """
    spec = spec_from_dict(spec_data)
    key = spec_hash(spec)
    if key not in _WORKER_COMPONENTS:
        registry = get_registry()
        _WORKER_COMPONENTS[key] = Components(resolve_spec(spec, registry), registry)
    return _WORKER_COMPONENTS[key]


@dataclass
class StageSummary:
    """What a finished stage reports to ``after_stage`` hooks and the manifest."""

    stage: str
    seconds: float
    units: int
    """Units of work the stage has (done now or in an earlier, interrupted run)."""
    figures: dict[str, Any] = field(default_factory=dict)
    """The stage's headline numbers (e.g. candidates mined, share that passed)."""


@dataclass
class RunContext:
    """One run: the spec, its run directory, the registry and the executor."""

    spec: RunSpec
    run_dir: RunDir
    registry: Registry
    components: Components
    executor: Executor
    progress: bool = True

    @property
    def path(self) -> Path:
        return self.run_dir.path

    @property
    def spec_data(self) -> dict[str, Any]:
        """The spec as JSON data: what worker units rebuild components from."""
        return self.spec.model_dump(mode="json")


def _key_int(part: Any) -> int:
    if isinstance(part, (int, np.integer)) and part >= 0:
        return int(part)
    return zlib.crc32(str(part).encode())


class StageContext:
    """What a stage function is given: its folder, seeded randomness, units and progress."""

    def __init__(self, run: RunContext, stage: str) -> None:
        self.run = run
        self.stage = stage
        self.dir = run.run_dir.stage_dir(stage)
        self.units_total = 0

    @property
    def spec(self) -> RunSpec:
        return self.run.spec

    @property
    def components(self) -> Components:
        return self.run.components

    def rng(self, *key: Any) -> np.random.Generator:
        """A generator determined by the spec's seed, this stage and ``key`` alone."""
        entropy = [self.spec.seed, STAGES.index(self.stage), *(_key_int(k) for k in key)]
        return np.random.default_rng(np.random.SeedSequence(entropy))

    def seed(self, *key: Any) -> int:
        """An integer seed derived like :meth:`rng` (for libraries that take ints)."""
        return int(self.rng(*key).integers(2**31 - 1))

    def progress(self, total: int, desc: str) -> tqdm:  # type: ignore[type-arg]
        """A progress bar on stderr (silent when progress is off)."""
        return tqdm(
            total=total,
            desc=f"{self.stage}: {desc}",
            unit="unit",
            disable=not self.run.progress or os.environ.get("CONCEPTLAB_PROGRESS") == "0",
            leave=True,
            dynamic_ncols=True,
        )

    def units(
        self,
        group: str,
        fn: Callable[[Any], Any],
        payloads: Sequence[Any],
        *,
        kind: str = "json",
        desc: str | None = None,
        in_process: bool = False,
    ) -> list[Any]:
        """Run ``fn`` over ``payloads`` as resumable units; return every result, in order.

        Unit ``i`` is stored at ``<stage>/<group>/<i>.json`` (``kind="json"``) or
        ``.npz`` (``kind="npz"``, results are dicts of arrays). Stored units are
        not run again. Results are always read back from disk, so a resumed run
        sees exactly what an uninterrupted one saw. ``in_process`` runs the units
        here, in order (for work that needs state prepared in this process).
        """
        folder = self.dir / group
        suffix = ".json" if kind == "json" else ".npz"
        paths = [folder / f"{i:05d}{suffix}" for i in range(len(payloads))]
        todo = [i for i, path in enumerate(paths) if not path.exists()]
        self.units_total += len(payloads)
        with self.progress(len(payloads), desc or group) as bar:
            bar.update(len(payloads) - len(todo))
            executor = SerialExecutor() if in_process else self.run.executor
            for j, result in executor.imap(fn, [payloads[i] for i in todo]):
                path = paths[todo[j]]
                if kind == "json":
                    atomic_write_json(path, result)
                else:
                    save_npz(path, **result)
                bar.update(1)
        return [self._read(path, kind) for path in paths]

    @staticmethod
    def _read(path: Path, kind: str) -> Any:
        if kind == "json":
            return read_json(path)
        with np.load(path) as data:
            return {name: data[name] for name in data.files}

    def write_json(self, name: str, value: Any) -> Path:
        """Write a stage artifact ``<stage>/<name>`` atomically."""
        path = self.dir / name
        atomic_write_json(path, value)
        return path

    def read_stage_json(self, stage: str, name: str) -> Any:
        """Read an artifact of an earlier stage."""
        return read_json(self.run.run_dir.path / stage / name)


def _check_needs(run_dir: RunDir, stages: Sequence[str]) -> None:
    for stage in stages:
        for need in STAGE_NEEDS[stage]:
            if need not in stages and run_dir.stage_status(need) != "finished":
                raise SpecError(
                    f"stage {stage!r} needs stage {need!r}, which has not finished in "
                    f"{str(run_dir.path)!r}; run it first or add it to --stages"
                )


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

    Args:
        spec: A structurally valid spec; its components are resolved here.
        out: The run directory.
        stages: Stages to run (default: all), always in pipeline order.
        resume: Continue a run already in ``out``; without it an existing run is refused.
        registry: The registry to use (default: a fresh one from the plugin manager).
        progress: Show progress bars on stderr.
        source: Where the spec came from, for error messages.
    """
    from conceptlab.stages import stage_function

    registry = registry or get_registry()
    resolved = resolve_spec(spec, registry, source=source)
    run_dir = RunDir(out, spec)
    if run_dir.manifest_path.exists() and not resume:
        raise SpecError(
            f"run directory {str(run_dir.path)!r} already holds this run; "
            "pass --resume to continue it, or choose another --out"
        )
    run_dir.open()
    wanted = [s for s in STAGES if stages is None or s in stages]
    unknown = sorted(set(stages or ()) - set(STAGES))
    if unknown:
        raise SpecError(f"unknown stage(s) {', '.join(unknown)}; stages: {', '.join(STAGES)}")
    _check_needs(run_dir, wanted)

    components = Components(resolved, registry)
    # units run in this process use the run's own components (and so its registry)
    _WORKER_COMPONENTS[spec_hash(spec)] = components
    precision = components.precision
    if spec.precision == "auto":  # workers reuse this process's choice rather than measure again
        os.environ[AUTO_PRECISION_ENV] = precision.used
    run_dir.record_runtime(threads=current_thread_policy().as_dict(), precision=precision.as_dict())
    with make_executor(spec.executor) as executor:
        run = RunContext(spec, run_dir, registry, components, executor, progress)
        registry.hook.before_run(run=run)
        status = "failed"
        try:
            for stage in wanted:
                if run_dir.stage_status(stage) == "finished":
                    continue
                _run_stage(run, stage, stage_function(stage))
            status = "finished"
        finally:
            registry.hook.after_run(run=run, status=status)
    return run_dir.manifest()


def _run_stage(run: RunContext, stage: str, fn: Callable[[StageContext], dict[str, Any]]) -> None:
    registry, run_dir = run.registry, run.run_dir
    registry.hook.before_stage(run=run, stage=stage)
    started = time.time()
    run_dir.update_stage(stage, status="running", error=None)
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
    )
    summary = StageSummary(stage, seconds, ctx.units_total, figures)
    registry.hook.after_stage(run=run, stage=stage, summary=summary)

