"""The run directory: one per spec name, with a manifest, and units of work written atomically.

Layout::

    RUN_DIR/
      manifest.json          format version, spec hash, seed, package versions, and per stage:
                             its hash, status, timings and figures
      spec.json              the validated spec, as last run
      <stage>/               one folder per stage
        ...                  the stage's artifacts, each written atomically

A unit of work is done exactly when its artifact exists: writers go to a
temporary name and are renamed into place, so a run killed at any instant
leaves only whole artifacts behind and resumes from the next missing one. A
record whose arrays are kept beside it (:func:`write_record`) writes its array
file first and its JSON last, so the JSON exists only when both are whole.

Each stage's record in the manifest carries the stage's hash
(:func:`conceptlab.spec.stage_hashes`): what its results depend on. A resumed
run whose spec changed keeps the stages whose hash is unchanged and discards the
others (:meth:`RunDir.discard`), so that they, and only they, run again.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.activations import STORE_DIR
from conceptlab.arrays import crash_point, save_npz
from conceptlab.errors import RunDirError
from conceptlab.spec import STAGES, RunSpec, spec_hash, stage_hashes

__all__ = [
    "FORMAT_VERSION", "RunDir", "atomic_write_bytes", "atomic_write_json", "check_format", "file_sha256",
    "package_versions",
    "read_json",
    "read_record",
    "write_record",
]

MANIFEST = "manifest.json"

FORMAT_VERSION = 2
"""The run directory format this conceptlab writes and reads: 2 has a hash per stage
(format 1, with one hash for the whole spec, had no ``format_version`` field)."""

_DISCARDED = ".discarded-"
"""Prefix of a discarded stage folder while it is being removed."""


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
    crash_point(path)


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


ARRAYS_FILE = "arrays_file"
"""The field of a JSON record naming the ``.npz`` beside it that holds its arrays."""


def write_record(path: Path, record: dict[str, Any], array_fields: Sequence[str] = ()) -> None:
    """Write ``record`` as JSON at ``path``, with its ``array_fields`` in an array file beside it.

    Each of ``array_fields`` whose value is not ``None`` goes, as an array, into
    ``<path stem>.npz`` (:func:`conceptlab.arrays.save_npz`: stable bytes), and the
    JSON names that file in its ``arrays_file`` field instead; a field that is
    ``None`` stays in the JSON. The array file is written first, the JSON last, both
    atomically. :func:`read_record` gives the record back as it was.
    """
    arrays = {name: np.asarray(record[name]) for name in array_fields if record.get(name) is not None}
    if arrays:
        npz = path.with_suffix(".npz")
        save_npz(npz, **arrays)
        record = {k: v for k, v in record.items() if k not in arrays} | {ARRAYS_FILE: npz.name}
    atomic_write_json(path, record)


def read_record(path: Path) -> dict[str, Any]:
    """A JSON record written by :func:`write_record`, with the arrays of its array file put back.

    A record without an ``arrays_file`` field (written with its arrays as JSON lists)
    comes back as it is.

    Raises:
        OSError, ValueError, zipfile.BadZipFile: The JSON or its array file is missing or
            does not read.
    """
    path = Path(path)
    record = read_json(path)
    name = record.get(ARRAYS_FILE) if isinstance(record, dict) else None
    if name:
        with np.load(path.parent / name, allow_pickle=False) as data:
            record.update({key: data[key] for key in data.files})
    return record


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of the file ``path`` (hex), read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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

    The directory holds the runs of one spec name: opening it with a spec of
    another name is refused, so results of two experiments never mix. A spec of
    the same name whose settings changed may continue the run: the stages whose
    hash changed are discarded and run again (see :meth:`stale_stages`).
    """

    def __init__(self, path: str | Path, spec: RunSpec) -> None:
        self.path = Path(path)
        self.spec = spec
        self.spec_hash = spec_hash(spec)
        self.stage_hashes = stage_hashes(spec)
        """Stage -> its hash under this spec."""

    # -- the run's manifest ---------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def check(self) -> dict[str, Any] | None:
        """Check, writing nothing, that the directory holds a run of this spec's name or nothing.

        Returns:
            The existing run's manifest, or ``None`` when there is no run yet.

        Raises:
            RunDirError: The directory holds a run of another spec name or of another
                format, an unreadable manifest, or files that are not a conceptlab run.
        """
        if self.manifest_path.exists():
            try:
                manifest = read_json(self.manifest_path)
            except (json.JSONDecodeError, OSError) as exc:
                raise RunDirError(f"{self.manifest_path}: unreadable manifest ({exc})") from None
            check_format(self.path, manifest)
            if manifest.get("name") != self.spec.name:
                raise RunDirError(
                    f"run directory {str(self.path)!r} holds a run of spec {manifest.get('name')!r}, "
                    f"not {self.spec.name!r}; choose another --out or remove it"
                )
            return manifest
        if self.path.exists() and any(self.path.iterdir()):
            raise RunDirError(
                f"run directory {str(self.path)!r} exists and is not a conceptlab run; "
                "choose another --out or remove it"
            )
        return None

    def stale_stages(self, manifest: dict[str, Any] | None) -> list[str]:
        """The stages ``manifest`` records (finished or not) whose hash is not this spec's, in order.

        With hashes chained through the stages each reads, these are the stages whose
        settings changed and every stage downstream of them.
        """
        if manifest is None:
            return []
        recorded = manifest["stages"]
        return [s for s in STAGES if s in recorded and recorded[s].get("hash") != self.stage_hashes[s]]

    def open(self) -> dict[str, Any]:
        """Create the directory and manifest, or adopt an existing run of this spec's name.

        Adopting a run whose spec changed rewrites ``spec.json`` and the manifest's
        spec hash and seed; it discards no stage (see :meth:`discard`).
        """
        existing = self.check()
        if existing is not None:
            for leftover in self.path.glob(f"{_DISCARDED}*"):  # a removal that was interrupted
                shutil.rmtree(leftover, ignore_errors=True)
            if existing.get("spec_hash") != self.spec_hash:
                atomic_write_json(self.path / "spec.json", self.spec.model_dump(mode="json"))
                existing.update(spec_hash=self.spec_hash, seed=self.spec.seed)
                atomic_write_json(self.manifest_path, existing)
            return existing
        manifest = {
            "format": "conceptlab-run",
            "format_version": FORMAT_VERSION,
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

    def discard(self, stages: list[str]) -> None:
        """Remove the folders and manifest records of ``stages``, which then count as never run.

        Each folder is first renamed out of the way, then its record dropped, then the
        folder removed: a run killed in between never finds a record without its
        folder's artifacts being gone, nor old units under a stage that is to run again.
        """
        for stage in stages:
            folder = self.path / stage
            if folder.exists():
                trash = self.path / f"{_DISCARDED}{stage}-{os.getpid()}"
                os.replace(folder, trash)
            else:
                trash = None
            manifest = self.manifest()
            manifest["stages"].pop(stage, None)
            atomic_write_json(self.manifest_path, manifest)
            if trash is not None:
                shutil.rmtree(trash)

    def checksums(self, stage: str) -> dict[str, str]:
        """SHA-256 of every file in ``stage``'s folder: path relative to the run directory -> hex digest.

        The driver records these in the manifest when the stage finishes; a resumed
        run checks them (:meth:`damaged`) before a stage reads what this one wrote.
        """
        folder = self.path / stage
        out = {}
        for file in sorted(folder.rglob("*")) if folder.is_dir() else ():
            relative = file.relative_to(self.path)
            if file.is_file() and not any(part.startswith(".") for part in relative.parts):
                out[str(relative)] = file_sha256(file)
        return out

    def damaged(self, stage: str, record: dict[str, Any]) -> list[str]:
        """Files of a finished ``stage`` that are missing or no longer match the checksums its
        manifest ``record`` holds (truncated or edited since), relative to the run directory."""
        recorded: dict[str, str] = record.get("checksums") or {}
        return [
            name for name, digest in sorted(recorded.items())
            if not (self.path / name).is_file() or file_sha256(self.path / name) != digest
        ]

    def repair(self, stage: str, files: list[str]) -> None:
        """Remove damaged ``files`` of ``stage`` and mark the stage pending, so that running it
        again recomputes them (and only them, where they are units).

        A damaged file of an activation store removes the whole store, which the stage
        rebuilds from its units.
        """
        for name in files:
            path = self.path / name
            parts = path.relative_to(self.path).parts
            if STORE_DIR in parts[:-1]:
                shutil.rmtree(self.path.joinpath(*parts[: parts.index(STORE_DIR) + 1]), ignore_errors=True)
            elif path.is_file():
                path.unlink()
        self.update_stage(stage, status="pending")

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
            skip = skip or file.relative_to(self.path).parts[0].startswith(".")
            if file.is_file() and not skip:
                out[str(file.relative_to(self.path))] = file.read_bytes()
        return out



def check_format(path: Path, manifest: dict[str, Any]) -> None:
    """Refuse a run directory whose manifest is of a format this conceptlab does not read.

    Raises:
        RunDirError: The format is older or newer than :data:`FORMAT_VERSION`; the
            message says what to do.
    """
    version = manifest.get("format_version", 1)
    if version == FORMAT_VERSION:
        return
    if isinstance(version, int) and version < FORMAT_VERSION:
        raise RunDirError(
            f"run directory {str(path)!r} is in run format {version} (one hash for the whole spec), "
            f"this conceptlab reads format {FORMAT_VERSION} (a hash per stage): run the spec into "
            "another --out, or remove the directory"
        )
    raise RunDirError(
        f"run directory {str(path)!r} is in run format {version!r}, newer than this conceptlab's "
        f"{FORMAT_VERSION}: upgrade conceptlab, or choose another --out"
    )
