"""What lifecycle hooks and stage functions are given while a run works.

:class:`RunContext` is one run (its spec, run directory, registry, components and
executor); :class:`StageContext` is what a stage function gets: its folder, seeded
randomness, resumable units and progress bars; :class:`StageSummary` is what a
finished stage reports. Every random number a unit draws comes from
:meth:`StageContext.rng` keyed by the unit, so a resumed run reaches the same
bytes as an uninterrupted one.
"""

from __future__ import annotations

import os
import sys
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from conceptlab.arrays import save_npz
from conceptlab.executors import Executor, SerialExecutor
from conceptlab.registry import Registry
from conceptlab.run.components import Components
from conceptlab.rundir import RunDir, atomic_write_json, read_json, read_record, write_record
from conceptlab.spec import RunSpec

__all__ = ["RunContext", "StageContext", "StageSummary"]


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
        """A generator determined by the spec's seed, this stage's name and ``key`` alone
        (keyed by name, not position, so that adding a stage changes no other stage's stream)."""
        entropy = [self.spec.seed, _key_int(self.stage), *(_key_int(k) for k in key)]
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
        array_fields: Sequence[str] = (),
    ) -> list[Any]:
        """Run ``fn`` over ``payloads`` as resumable units; return every result, in order.

        Unit ``i`` is stored at ``<stage>/<group>/<i>.json`` (``kind="json"``) or
        ``.npz`` (``kind="npz"``, results are dicts of arrays). Stored units are
        not run again. Results are always read back from disk, so a resumed run
        sees exactly what an uninterrupted one saw. ``in_process`` runs the units
        here, in order (for work that needs state prepared in this process).
        ``array_fields`` (JSON units): fields of each result stored as arrays in
        ``<i>.npz`` beside its JSON (:func:`conceptlab.rundir.write_record`) rather
        than as JSON lists; they read back as NumPy arrays.
        """
        folder = self.dir / group
        suffix = ".json" if kind == "json" else ".npz"
        paths = [folder / f"{i:05d}{suffix}" for i in range(len(payloads))]
        todo = [i for i, path in enumerate(paths) if not path.exists() or not self._readable(path, kind)]
        self.units_total += len(payloads)
        with self.progress(len(payloads), desc or group) as bar:
            bar.update(len(payloads) - len(todo))
            executor = SerialExecutor() if in_process else self.run.executor
            for j, result in executor.imap(fn, [payloads[i] for i in todo]):
                path = paths[todo[j]]
                if kind == "json":
                    write_record(path, result, array_fields)
                else:
                    save_npz(path, **result)
                bar.update(1)
        return [self._read(path, kind) for path in paths]

    @classmethod
    def _readable(cls, path: Path, kind: str) -> bool:
        """Whether a stored unit reads back; one that does not (truncated or edited since it was
        written whole) is removed, said on stderr, and recomputed."""
        try:
            cls._read(path, kind)
            return True
        except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            print(f"conceptlab: {path} does not read back ({type(exc).__name__}); recomputing it",
                  file=sys.stderr)
            path.unlink()
            return False

    @staticmethod
    def _read(path: Path, kind: str) -> Any:
        if kind == "json":
            return read_record(path)
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
