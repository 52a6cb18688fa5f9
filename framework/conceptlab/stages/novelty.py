"""The novelty stage: the spec's novelty filter on the teachable concepts (method.md section 4).

The agent's side is the collect stage's pool (the final agent's self-play
positions), the reference side its reference positions, in equal numbers.
Artifacts: ``verdicts/<i>.json``, ``summary.json``.
"""

from __future__ import annotations

from typing import Any

from conceptlab.interfaces import NoveltyContext
from conceptlab.run.context import StageContext
from conceptlab.stages.common import load_activations, record_layers
from conceptlab.stages.mine import load_candidates
from conceptlab.stages.teach import assess_concepts

__all__ = ["run_novelty"]


def run_novelty(ctx: StageContext) -> dict[str, Any]:
    teach = {v["concept_id"]: v for v in ctx.read_stage_json("teach", "summary.json")}
    only_teachable = ctx.spec.stages.novelty.only_teachable
    records = [
        r for r in load_candidates(ctx)
        if r["id"] in teach and (teach[r["id"]]["passed"] or not only_teachable)
    ]
    reference = ctx.read_stage_json("collect", "reference.json")
    if not records:
        ctx.write_json("summary.json", [])
        return {"assessed": 0, "novel": 0, "reference": reference["source"],
                "note": "no concept passed the teachability filter"}

    layers = record_layers(ctx)
    agent_acts = {l: load_activations(ctx.run.path / "collect" / "pool_acts", l) for l in layers}
    ref_acts = {l: load_activations(ctx.run.path / "collect" / "reference_acts", l) for l in layers}
    n = min(len(next(iter(agent_acts.values()))), len(next(iter(ref_acts.values()))))
    context = NoveltyContext(
        agent_activations={l: a[:n] for l, a in agent_acts.items()},
        reference_activations={l: a[:n] for l, a in ref_acts.items()},
        reference_name=reference["source"],
    )
    flt = ctx.components.novelty
    flt.prepare(context, ctx.rng("prepare"))
    verdicts, passed = assess_concepts(ctx, flt, records, "novelty")
    return {
        "assessed": len(verdicts),
        "novel": passed,
        "removed_share": round(1 - passed / len(verdicts), 4),
        "positions_per_side": n,
        "reference": reference["source"],
        "filter": ctx.spec.novelty.name,
    }
