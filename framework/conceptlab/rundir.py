"""The run directory: one per spec, with a manifest, and units of work written atomically.

Layout::

    RUN_DIR/
      manifest.json          spec hash, the spec, seed, package versions, stage status and timings
      spec.json              the validated spec, as run
      <stage>/               one folder per stage
        manifest.json        the stage's status, units done, timings and figures
        ...                  the stage's artifacts, each written atomically

A unit of work is done exactly when its artifact exists: writers go to a
temporary name and are renamed into place, so a run killed at any instant
leaves only whole artifacts behind and resumes from the next missing one.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.errors import RunDirError
from conceptlab.spec import STAGES, RunSpec, spec_hash

__all__ = ["RunDir", "atomic_write_bytes", "atomic_write_json", "package_versions", "read_json"]

MANIFEST = "manifest.json"


@contextmanager
def _atomic_path(path: Path) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    with _atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented, key-sorted JSON (stable bytes for equal values)."""
    text = json.dumps(value, indent=2, sort_keys=True, default=_json_default) + "\n"
    atomic_write_bytes(path, text.encode())


def read_json(path: Path) -> Any:
    """Read a JSON artifact."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def package_versions() -> dict[str, str]:
    """Versions of Python, conceptlab, its plugins and the numeric libraries in use."""
    versions = {"python": platform.python_version()}
    wanted = {"conceptlab", "numpy", "torch", "cvxpy", "scikit-learn", "pydantic", "pluggy", "chess"}
    eps = metadata.entry_points(group="conceptlab")
    wanted |= {ep.dist.name for ep in eps if ep.dist is not None}
    for name in sorted(wanted):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


class RunDir:
    """A run directory bound to one spec.

    Opening a directory that holds another spec's run is refused (the hashes
    differ), so results of two specs never mix.
    """

    def __init__(self, path: str | Path, spec: RunSpec) -> None:
        self.path = Path(path)
        self.spec = spec
        self.spec_hash = spec_hash(spec)

    # -- the run's manifest ---------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def check(self) -> dict[str, Any] | None:
        """Check, writing nothing, that the directory holds this spec's run or nothing.

        Returns:
            The existing run's manifest, or ``None`` when there is no run yet.

        Raises:
            RunDirError: The directory holds another spec's run, an unreadable
                manifest, or files that are not a conceptlab run.
        """
        if self.manifest_path.exists():
            try:
                manifest = read_json(self.manifest_path)
            except (json.JSONDecodeError, OSError) as exc:
                raise RunDirError(f"{self.manifest_path}: unreadable manifest ({exc})") from None
            if manifest.get("spec_hash") != self.spec_hash:
                raise RunDirError(
                    f"run directory {str(self.path)!r} holds a run of another spec "
                    f"(spec hash {manifest.get('spec_hash', '?')[:12]} != {self.spec_hash[:12]}); "
                    "choose another --out or remove it"
                )
            return manifest
        if self.path.exists() and any(self.path.iterdir()):
            raise RunDirError(
                f"run directory {str(self.path)!r} exists and is not a conceptlab run; "
                "choose another --out or remove it"
            )
        return None

    def open(self) -> dict[str, Any]:
        """Create the directory and manifest, or check an existing one belongs to this spec."""
        existing = self.check()
        if existing is not None:
            return existing
        manifest = {
            "format": "conceptlab-run/1",
            "name": self.spec.name,
            "spec_hash": self.spec_hash,
            "seed": self.spec.seed,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "versions": package_versions(),
            "command": sys.argv,
            "stages": {},
        }
        atomic_write_json(self.path / "spec.json", self.spec.model_dump(mode="json"))
        atomic_write_json(self.manifest_path, manifest)
        return manifest

    def manifest(self) -> dict[str, Any]:
        """The run's manifest as it is on disk."""
        return read_json(self.manifest_path)

    def record_runtime(self, **fields: Any) -> None:
        """Record how this invocation runs (thread policy, precision) under the manifest's ``runtime``.

        Each invocation (a first run, a resume) replaces the record; each finished
        stage also keeps the precision and threads it ran with.
        """
        manifest = self.manifest()
        manifest["runtime"] = {**fields, "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        atomic_write_json(self.manifest_path, manifest)

    def update_stage(self, stage: str, **fields: Any) -> None:
        """Merge ``fields`` into the manifest's record of ``stage``."""
        manifest = self.manifest()
        manifest["stages"].setdefault(stage, {}).update(fields)
        atomic_write_json(self.manifest_path, manifest)

    def stage_status(self, stage: str) -> str:
        """``"finished"``, ``"running"``, ``"failed"`` or ``"pending"``."""
        return self.manifest()["stages"].get(stage, {}).get("status", "pending")

    def stage_dir(self, stage: str) -> Path:
        """The stage's folder (created on demand)."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        path = self.path / stage
        path.mkdir(parents=True, exist_ok=True)
        return path

    def artifacts(self) -> dict[str, bytes]:
        """Every stage artifact (relative path -> bytes): what a resume must reproduce.

        Manifests (timings) and the report (written on request) are not artifacts.
        """
        out = {}
        for file in sorted(self.path.rglob("*")):
            skip = file.name in (MANIFEST, "report.html") or file.name.startswith(".")
            if file.is_file() and not skip:
                out[str(file.relative_to(self.path))] = file.read_bytes()
        return out

