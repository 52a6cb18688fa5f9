"""The mine stage: one candidate concept per (position, layer, sign).

For each position where the final and the weaker agent disagreed, the chosen
rollout's activations are paired with the subpar rollouts' (method.md section 2,
:func:`conceptlab.concepts.problems.dynamic_problem`), and the spec's miner
finds the direction. A candidate the miner cannot solve is recorded with its
status and reason; it never stops the run.

Artifacts: ``candidates/<i>.json`` (one per candidate: its provenance and
metrics, or the failure), ``candidates/<i>.npz`` beside each mined one (its
vector, float64, as the array ``vector``) and ``concepts.json`` (the index,
without vectors). :func:`conceptlab.run.store.read_candidates` reads them back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from conceptlab.concepts.problems import concept_metrics, dynamic_problem, rollout_slices
from conceptlab.run.context import StageContext
from conceptlab.run.store import concept_from_record, read_candidates
from conceptlab.run.worker import components_for
from conceptlab.rundir import ARRAYS_FILE
from conceptlab.stages.common import load_activations, record_layers

__all__ = ["concept_from_record", "load_candidates", "run_mine"]


def _mine_unit(payload: Mapping[str, Any]) -> dict[str, Any]:
    comps = components_for(payload["spec"])
    cfg = comps.spec.stages.mine
    rng = np.random.default_rng(payload["seed"])
    record: dict[str, Any] = {
        key: payload[key] for key in ("id", "position", "layer", "sign", "steps", "state")
    }
    record["miner"] = {"name": comps.spec.miner.name, "params": comps.resolved.params["miner"].model_dump(mode="json")}
    try:
        problem = dynamic_problem(
            payload["chosen"], payload["subpar"], steps=cfg.steps, sign=payload["sign"],
            held_out_fraction=cfg.held_out_fraction, rng=rng,
        )
    except Exception as exc:  # a malformed problem is this candidate's failure, not the run's
        record.update(status="invalid-problem", reason=f"{type(exc).__name__}: {exc}", vector=None, metrics={})
        return record
    mined = comps.miner.mine(problem, rng)
    record.update(
        status=mined.status,
        reason=mined.reason,
        # wall-clock figures are left out: an artifact must not depend on the machine's load
        details={
            k: v for k, v in mined.details.items()
            if isinstance(v, (int, float, str, bool)) and "time" not in k
        },
        pairs=int(problem.positive.shape[0]),
        held_out_pairs=int(problem.held_out_positive.shape[0]),
        vector=None if mined.vector is None else np.asarray(mined.vector, dtype=np.float64).reshape(-1),
        metrics={} if mined.vector is None else {
            k: float(v) for k, v in concept_metrics(mined.vector, problem).items()
        },
    )
    return record


def run_mine(ctx: StageContext) -> dict[str, Any]:
    cfg = ctx.spec.stages.mine
    rollouts = ctx.read_stage_json("collect", "rollouts.json")
    layers = record_layers(ctx)
    # no disagreement position, no rollout and so no activations: nothing to mine, not an error
    acts = {layer: load_activations(ctx.run.path / "collect" / "rollout_acts", layer) for layer in layers} if rollouts else {}
    slices = rollout_slices(rollouts)

    payloads = []
    for p, ((c0, c1), subpar) in enumerate(slices):
        for layer in layers:
            for sign in cfg.signs:
                kind = "active" if sign > 0 else "prophylactic"
                payloads.append({
                    "spec": ctx.run.spec_data,
                    "id": f"c{len(payloads):04d}-p{p:03d}-{layer}-{kind}-{cfg.steps}",
                    "position": p, "state": rollouts[p]["state"], "layer": layer,
                    "sign": sign, "steps": cfg.steps,
                    "seed": ctx.seed("candidate", p, layer, sign),
                    "chosen": acts[layer][c0:c1],
                    "subpar": [(j, acts[layer][s0:s1]) for j, s0, s1 in subpar],
                })
    if cfg.max_candidates is not None:
        payloads = payloads[: cfg.max_candidates]
    records = ctx.units("candidates", _mine_unit, payloads, desc="candidate concepts", array_fields=("vector",))
    index = [
        {k: v for k, v in r.items() if k not in ("vector", ARRAYS_FILE)} | {"ok": r["vector"] is not None}
        for r in records
    ]
    ctx.write_json("concepts.json", index)
    found = sum(1 for r in index if r["ok"])
    statuses: dict[str, int] = {}
    for r in index:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    return {"candidates": len(index), "mined": found, "failed": len(index) - found, "statuses": statuses}


def load_candidates(ctx: StageContext) -> list[dict[str, Any]]:
    """Every candidate record of the mine stage, in order, with its vector (an array, or ``None``)."""
    return read_candidates(ctx.run.path)
