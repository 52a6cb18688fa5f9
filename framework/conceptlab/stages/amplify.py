"""The amplify stage: a causal check of each surviving concept (method.md section 5).

The concept is written into the final agent's layer on the positions of its own
chosen line, ``z' = (1 - a) z + a b (|z| / |v|) v``, and the policy's mass on the
chosen line's moves is measured per ``a``, beside a random direction of the same
norm. Artifacts: ``curves/<i>.json``, ``summary.json``.
"""

from __future__ import annotations

from typing import Any

from conceptlab.concepts.amplify import amplify
from conceptlab.run.context import StageContext
from conceptlab.stages.common import checkpoint_series
from conceptlab.stages.mine import concept_from_record, load_candidates

__all__ = ["run_amplify", "surviving_ids"]


def surviving_ids(ctx: StageContext) -> list[str]:
    """Ids of the concepts that passed both filters, in mining order."""
    teach = {v["concept_id"]: v["passed"] for v in ctx.read_stage_json("teach", "summary.json")}
    novel = {v["concept_id"]: v["passed"] for v in ctx.read_stage_json("novelty", "summary.json")}
    return [cid for cid, ok in teach.items() if ok and novel.get(cid, False)]


def run_amplify(ctx: StageContext) -> dict[str, Any]:
    cfg = ctx.spec.stages.amplify
    survivors = set(surviving_ids(ctx))
    records = [r for r in load_candidates(ctx) if r["id"] in survivors]
    if not records:
        ctx.write_json("summary.json", [])
        return {"amplified": 0, "note": "no concept passed both filters"}
    comps = ctx.components
    agent = comps.agent(checkpoint_series(ctx)[-1].path)
    rollouts = ctx.read_stage_json("collect", "rollouts.json")
    domain = comps.domain

    def curve(index: int) -> dict[str, Any]:
        record = records[index]
        line = rollouts[record["position"]]["chosen"]
        count = min(cfg.positions, len(line["actions"]))
        states = [domain.from_text(t) for t in line["states"][:count]]
        concept = concept_from_record(record, ctx.spec.name)
        result = amplify(
            agent, states, concept.layer, concept.vector, alphas=cfg.alphas, beta=cfg.beta,
            target_actions=line["actions"][:count], rng=ctx.rng("control", concept.id),
        )
        return {"concept_id": concept.id, **result}

    curves = ctx.units("curves", curve, list(range(len(records))), in_process=True,
                       desc="amplification")
    ctx.write_json("summary.json", curves)
    return {"amplified": len(curves)}
