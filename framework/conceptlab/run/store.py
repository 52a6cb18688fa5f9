"""Reading a run directory: its concepts, verdicts, checkpoints and activations as frozen values.

:func:`open_run` (also ``conceptlab.open_run``) gives notebooks, plugin tools and
the CLI one read-only view of a run directory, finished or not::

    run = open_run("runs/tictactoe-tiny")
    for concept in run.concepts():
        print(concept.id, run.verdict("teach", concept.id).passed)

Everything it returns is a value of :mod:`conceptlab.values` (:class:`Concept`,
:class:`Verdict`, :class:`CheckpointInfo`) or a NumPy array, never the JSON
records the stages write. :meth:`Run.score` puts new states through the run's
final agent and returns how present a concept is in each (``v . z`` at the
concept's layer), the number the stages rank prototypes and puzzles by.

The readers here are the ones the stages use too (:func:`read_checkpoints`,
:func:`read_candidates`, :func:`concept_from_record`), so a run is read one way.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from conceptlab.activations import read_layer
from conceptlab.errors import CheckpointError, RunDirError
from conceptlab.rundir import MANIFEST, check_format, file_sha256, read_json, read_record
from conceptlab.spec import STAGES, RunSpec, spec_from_dict
from conceptlab.values import CheckpointInfo, Concept, Verdict

__all__ = [
    "ACTIVATION_GROUPS",
    "Run",
    "concept_from_record",
    "open_run",
    "read_candidates",
    "read_checkpoints",
    "verdict_from_json",
    "verify_checkpoint",
]

ACTIVATION_GROUPS: Mapping[str, str] = {
    "pool": "pool_acts",
    "reference": "reference_acts",
    "rollouts": "rollout_acts",
}
"""Position group -> the collect stage's folder of its activations."""

FilterStage = Literal["teach", "novelty"]
"""The stages whose artifacts are verdicts."""


_VERIFIED: dict[tuple[str, int, int, str], None] = {}
"""Checkpoint files this process found sound: (path, size, mtime in ns, recorded hash)."""


def verify_checkpoint(info: CheckpointInfo) -> None:
    """Check that the checkpoint file of ``info`` still has the SHA-256 the run recorded.

    A checkpoint recorded without a hash (``file_sha256`` empty: a run from before
    hashes were recorded) is not checked. A file found sound is not hashed again in
    this process until its size or modification time changes.

    Raises:
        CheckpointError: The file is missing, or its bytes changed since the run recorded it;
            the message names the file and how to recover.
    """
    if not info.file_sha256:
        return
    path = Path(info.path)
    try:
        stat = path.stat()
    except OSError:
        raise CheckpointError(
            f"checkpoint {str(path)!r} of the run's series is missing: restore it, or run the spec "
            "again into a new run directory ('conceptlab run RUN_DIR/spec.json --out NEW_DIR') "
            "to run the train stage anew"
        ) from None
    key = (str(path), stat.st_size, stat.st_mtime_ns, info.file_sha256)
    if key in _VERIFIED:
        return
    digest = file_sha256(path)
    if digest != info.file_sha256:
        raise CheckpointError(
            f"checkpoint {str(path)!r} changed since the run recorded it (SHA-256 {info.file_sha256[:16]}... "
            f"recorded, {digest[:16]}... now): the run's results came from the recorded weights. "
            "Restore the file, or run the spec again into a new run directory "
            "('conceptlab run RUN_DIR/spec.json --out NEW_DIR') to run the train stage anew"
        )
    _VERIFIED[key] = None


def read_checkpoints(run_path: Path, *, verify: bool = True) -> list[CheckpointInfo]:
    """The train stage's checkpoint series of the run in ``run_path``, oldest first.

    Checkpoints the run trained are stored relative to the run directory; their
    paths come back absolute under it. Each file is checked against the SHA-256 the
    train stage recorded (:func:`verify_checkpoint`), so no stage and no reader of a
    run loads weights other than the run's.

    Args:
        run_path: The run directory.
        verify: Check each checkpoint file's hash (default).

    Raises:
        RunDirError: The train stage has not finished (no ``train/checkpoints.json``).
        CheckpointError: A checkpoint file is missing or changed since the run recorded it.
    """
    path = Path(run_path) / "train" / "checkpoints.json"
    if not path.exists():
        raise RunDirError(f"{path} is missing: the train stage has not finished")
    series = []
    for record in read_json(path):
        record = dict(record)
        record["path"] = str(Path(run_path) / record["path"])  # an absolute path stays as it is
        info = CheckpointInfo(**record)
        if verify:
            verify_checkpoint(info)
        series.append(info)
    return series


def read_candidates(run_path: Path) -> list[dict[str, Any]]:
    """The mine stage's candidate records of the run in ``run_path``, in mining order.

    Each record's ``vector`` is a float64 array read from the candidate's array file
    (``mine/candidates/<i>.npz``), or ``None`` where mining failed; a record written
    with its vector as a JSON list (runs from before the array files) reads the same.
    """
    folder = Path(run_path) / "mine" / "candidates"
    records = []
    for path in sorted(folder.glob("*.json")):
        record = read_record(path)
        if record.get("vector") is not None:
            record["vector"] = np.asarray(record["vector"], dtype=np.float64)
        records.append(record)
    return records


def concept_from_record(record: Mapping[str, Any], run_name: str) -> Concept:
    """The :class:`Concept` of a mined candidate record (``mine/candidates/<i>.json``)."""
    return Concept(
        id=record["id"],
        layer=record["layer"],
        vector=np.asarray(record["vector"], dtype=np.float64),
        provenance={
            "run": run_name, "position": record["state"], "sign": record["sign"],
            "steps": record["steps"], "miner": record["miner"], "status": record["status"],
        },
        metrics=dict(record["metrics"]),
    )


def verdict_from_json(data: Mapping[str, Any]) -> Verdict:
    """A :class:`Verdict` from the JSON form the filter stages write."""
    return Verdict(
        concept_id=data["concept_id"], filter=data["filter"], passed=bool(data["passed"]),
        scores=dict(data["scores"]), reason=data["reason"],
    )


class Run:
    """A run directory, read-only; see :func:`open_run`.

    Reading an artifact of a stage that has not finished raises :class:`RunDirError`
    naming the stage. Components (the domain, the agents) are built on first use,
    from the spec the run directory holds and the plugins installed now.
    """

    def __init__(self, path: str | Path, registry: Any = None) -> None:
        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        if not manifest_path.is_file():
            raise RunDirError(f"{str(self.path)!r} is not a run directory (no {MANIFEST})")
        self.manifest: Mapping[str, Any] = read_json(manifest_path)
        """The run's manifest as it was when opened."""
        check_format(self.path, dict(self.manifest))
        self.spec: RunSpec = spec_from_dict(read_json(self.path / "spec.json"), source=str(self.path / "spec.json"))
        """The spec the run's stages ran with."""
        self._registry = registry

    def __repr__(self) -> str:
        finished = [s for s in STAGES if self.finished(s)]
        return f"Run({str(self.path)!r}, spec={self.spec.name!r}, finished={finished})"

    @property
    def name(self) -> str:
        """The spec's name."""
        return self.spec.name

    # -- stages -----------------------------------------------------------------------------------
    def status(self, stage: str) -> str:
        """``"finished"``, ``"running"``, ``"failed"`` or ``"pending"``."""
        if stage not in STAGES:
            raise RunDirError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
        return str(self.manifest["stages"].get(stage, {}).get("status", "pending"))

    def finished(self, stage: str) -> bool:
        """Whether ``stage`` has finished in this run directory."""
        return self.status(stage) == "finished"

    def figures(self, stage: str) -> Mapping[str, Any]:
        """The headline figures ``stage`` recorded in the manifest (empty before it finished)."""
        self.status(stage)
        return dict(self.manifest["stages"].get(stage, {}).get("figures") or {})

    def _need(self, stage: str) -> Path:
        if not self.finished(stage):
            raise RunDirError(
                f"the {stage} stage has not finished in {str(self.path)!r} (status: {self.status(stage)})"
            )
        return self.path / stage

    # -- artifacts --------------------------------------------------------------------------------
    def checkpoints(self) -> list[CheckpointInfo]:
        """The agent's checkpoint series, oldest first; the last is the final agent."""
        self._need("train")
        return read_checkpoints(self.path)

    @functools.cached_property
    def _candidates(self) -> list[dict[str, Any]]:
        self._need("mine")
        return read_candidates(self.path)

    def concepts(self) -> list[Concept]:
        """Every mined concept (candidates the miner solved), in mining order."""
        return [concept_from_record(r, self.name) for r in self._candidates if r["vector"] is not None]

    def concept(self, concept_id: str) -> Concept:
        """The mined concept ``concept_id``.

        Raises:
            RunDirError: No candidate of that id, or its mining failed (the reason is given).
        """
        for record in self._candidates:
            if record["id"] == concept_id:
                if record["vector"] is None:
                    raise RunDirError(f"candidate {concept_id!r} has no vector: {record['reason']}")
                return concept_from_record(record, self.name)
        raise RunDirError(f"no candidate {concept_id!r} in {str(self.path)!r}")

    def verdicts(self, stage: FilterStage) -> list[Verdict]:
        """The final verdicts of the ``"teach"`` or ``"novelty"`` stage, in mining order."""
        if stage not in ("teach", "novelty"):
            raise RunDirError(f"stage {stage!r} has no verdicts; choose 'teach' or 'novelty'")
        return [verdict_from_json(v) for v in read_json(self._need(stage) / "summary.json")]

    def verdict(self, stage: FilterStage, concept_id: str) -> Verdict | None:
        """The verdict of ``stage`` on ``concept_id``, or ``None`` when it did not assess it."""
        return next((v for v in self.verdicts(stage) if v.concept_id == concept_id), None)

    def survivors(self) -> list[Concept]:
        """The concepts that passed both filters, in mining order."""
        teachable = {v.concept_id for v in self.verdicts("teach") if v.passed}
        novel = {v.concept_id for v in self.verdicts("novelty") if v.passed}
        return [c for c in self.concepts() if c.id in teachable and c.id in novel]

    def positions(self, group: str) -> list[str]:
        """The collect stage's positions of ``group``, in the domain's text form.

        ``"pool"``: the final agent's self-play positions (prototypes, the agent's
        side of novelty); ``"reference"``: the reference positions; ``"rollouts"``:
        every state of the disagreement positions' chosen and subpar lines, in order.
        Row ``i`` of :meth:`activations` of the same group is position ``i``.
        """
        folder = self._need("collect")
        if group == "pool":
            return list(read_json(folder / "pool.json"))
        if group == "reference":
            return list(read_json(folder / "reference.json")["states"])
        if group == "rollouts":
            return [
                text for r in read_json(folder / "rollouts.json")
                for line in (r["chosen"], *r["subpar"]) for text in line["states"]
            ]
        raise RunDirError(f"unknown position group {group!r}; groups: {', '.join(ACTIVATION_GROUPS)}")

    def layers(self) -> list[str]:
        """The layers whose activations the collect stage recorded."""
        return list(self.figures("collect").get("layers") or [])

    def activations(self, group: str, layer: str) -> np.ndarray:
        """The final agent's ``(positions, dim)`` float32 activations of ``layer`` on ``group``'s positions.

        A read-only memory map when the group has an activation store.

        Raises:
            RunDirError: An unknown group, or a layer the run did not record.
        """
        if group not in ACTIVATION_GROUPS:
            raise RunDirError(f"unknown position group {group!r}; groups: {', '.join(ACTIVATION_GROUPS)}")
        folder = self._need("collect") / ACTIVATION_GROUPS[group]
        if layer not in self.layers():
            raise RunDirError(f"layer {layer!r} was not recorded; recorded: {', '.join(self.layers())}")
        acts = read_layer(folder, layer)
        return np.zeros((0, 0), dtype=np.float32) if acts is None else acts

    # -- components -------------------------------------------------------------------------------
    @functools.cached_property
    def components(self) -> Any:
        """The run's :class:`~conceptlab.run.components.Components`, from its spec and the installed plugins."""
        from conceptlab.plugins import get_registry
        from conceptlab.run.components import Components
        from conceptlab.spec import resolve_spec

        registry = self._registry or get_registry()
        return Components(resolve_spec(self.spec, registry, source=str(self.path / "spec.json")), registry)

    @property
    def domain(self) -> Any:
        """The run's domain."""
        return self.components.domain

    def agent(self, checkpoint: int = -1) -> Any:
        """The agent with the weights of checkpoint ``checkpoint`` of the series (default: the final one)."""
        series = self.checkpoints()
        try:
            info = series[checkpoint]
        except IndexError:
            raise RunDirError(f"checkpoint {checkpoint}: the series has {len(series)} checkpoints") from None
        return self.components.agent(info.path)

    def score(self, concept: Concept | str, states: Sequence[Any], checkpoint: int = -1) -> np.ndarray:
        """How present ``concept`` is in each state: ``v . z``, with ``z`` the agent's activations
        at the concept's layer (flattened, float32), as the stages compute it.

        Args:
            concept: A :class:`Concept` or the id of one of this run's concepts.
            states: Domain states, or their text forms (``Domain.to_text``).
            checkpoint: Index into the checkpoint series of the agent (default: the final agent,
                whose activations the concepts were mined from).

        Returns:
            ``(len(states),)`` float64 scores.
        """
        if isinstance(concept, str):
            concept = self.concept(concept)
        if not states:
            return np.zeros(0, dtype=np.float64)
        domain = self.domain
        parsed = [domain.from_text(s) if isinstance(s, str) else s for s in states]
        evaluation = self.agent(checkpoint).evaluate(parsed, [concept.layer])
        acts = np.asarray(evaluation.activations[concept.layer], dtype=np.float32).reshape(len(parsed), -1)
        return np.asarray(concept.presence(acts), dtype=np.float64)


def open_run(path: str | Path, registry: Any = None) -> Run:
    """Open the run directory ``path`` for reading (finished or not).

    Args:
        path: A run directory written by ``conceptlab run``.
        registry: The component registry to build the domain and agents from
            (default: the installed plugins); only :meth:`Run.score`, :attr:`Run.domain`
            and :meth:`Run.agent` need one.

    Raises:
        RunDirError: ``path`` holds no run, or a run of a format this conceptlab does not read.
    """
    return Run(path, registry)
