"""What several stages share: the checkpoint series, layers, activations on disk.

States cross process and stage boundaries in their text form
(:meth:`Domain.to_text`); activations are stored as ``.npz`` chunks, one array per
layer, gathered into a memory-mapped activation store once a group is complete,
and read back with :func:`load_activations`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.activations import STORE_DIR, build_store, read_layer
from conceptlab.errors import ComponentError
from conceptlab.run.context import StageContext
from conceptlab.run.store import read_checkpoints
from conceptlab.run.worker import components_for
from conceptlab.stats import pass_rate
from conceptlab.values import CheckpointInfo

__all__ = [
    "activation_unit",
    "assess_units",
    "checkpoint_series",
    "chunks",
    "default_layers",
    "load_activations",
    "pass_rate",
    "record_layers",
    "verdict_json",
]

ACTIVATION_CHUNK = 64
"""States per activation unit."""


def checkpoint_series(ctx: StageContext) -> list[CheckpointInfo]:
    """The train stage's checkpoint series, oldest first (the last is the final agent)."""
    return read_checkpoints(ctx.run.path)


def default_layers(layer_names: Sequence[str]) -> list[str]:
    """The last torso layer: the last named layer that is not a head."""
    torso = [name for name in layer_names if "head" not in name]
    return [torso[-1] if torso else layer_names[-1]]


def record_layers(ctx: StageContext) -> list[str]:
    """Layers whose activations this run records (the collect stage's choice)."""
    layers = ctx.spec.stages.collect.layers
    if layers:
        return list(layers)
    return default_layers(ctx.components.layer_names)


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    """``items`` cut into consecutive lists of at most ``size``."""
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def activation_unit(payload: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Activations of the listed layers for a chunk of states (text form), one forward pass.

    Payload: ``spec`` (JSON data), ``checkpoint``, ``states`` (texts), ``layers``.
    Returns layer -> ``(len(states), dim)`` float32, flattened per state.
    """
    comps = components_for(payload["spec"])
    agent = comps.agent(payload["checkpoint"])
    states = [comps.domain.from_text(text) for text in payload["states"]]
    evaluation = agent.evaluate(states, payload["layers"])
    return {
        layer: np.ascontiguousarray(acts.reshape(len(states), -1), dtype=np.float32)
        for layer, acts in evaluation.activations.items()
    }


def activations_for(
    ctx: StageContext, group: str, states: Sequence[str], checkpoint: str, layers: Sequence[str]
) -> Path:
    """Record activations of ``states`` as units under ``<stage>/<group>``; return that folder."""
    payloads = [
        {"spec": ctx.run.spec_data, "checkpoint": checkpoint, "states": chunk, "layers": list(layers)}
        for chunk in chunks(states, ACTIVATION_CHUNK)
    ]
    ctx.units(group, activation_unit, payloads, kind="npz", desc=f"{group} activations")
    folder = ctx.dir / group
    units = sorted(folder.glob("*.npz"))
    if units:  # no states, no store: readers then say there are no activations
        build_store(units, folder / STORE_DIR, layers)
    return folder


def load_activations(folder: Path, layer: str) -> np.ndarray:
    """One layer of the activations recorded in ``folder``, ``(n, dim)`` float32.

    A read-only memory map of the folder's activation store when it has one (see
    :mod:`conceptlab.activations`), else its unit files stacked in memory.
    """
    acts = read_layer(folder, layer)
    if acts is None:
        raise ComponentError(f"no activations of layer {layer!r} in {folder}")
    return acts


def verdict_json(verdict: Any) -> dict[str, Any]:
    """A filter's verdict as JSON data."""
    return {
        "concept_id": verdict.concept_id, "filter": verdict.filter, "passed": bool(verdict.passed),
        "scores": {k: float(v) for k, v in verdict.scores.items()}, "reason": verdict.reason,
    }


def assess_units(ctx: StageContext, flt: Any, concepts: Sequence[Any], group: str, desc: str) -> list[dict[str, Any]]:
    """A prepared filter's verdict on each concept, one resumable unit each (run in this process,
    where the filter was prepared), as JSON data in order; each concept's randomness keyed by its id."""
    def assess(index: int) -> dict[str, Any]:
        return verdict_json(flt.assess(concepts[index], ctx.rng(group, concepts[index].id)))

    return ctx.units(group, assess, list(range(len(concepts))), in_process=True, desc=desc)


