"""The amplify stage: a causal check of each surviving concept (method.md sections 5 and 8).

``method = "causal"`` (the default): the concept is added to the final agent's
layer (``z + e |z| v/|v|``) and its projection removed, on the positions of its
own chosen line (targets: the chosen moves) and on held-out pool positions where
it is most present (not on that line; targets: the agent's own moves), each
against ``random_directions`` random directions, with empirical p-values
(:func:`~conceptlab.concepts.amplify.causal_test`). ``method = "interpolate"``:
the paper's ``z' = (1 - a) z + a b (|z| / |v|) v`` per ``a`` on the chosen line,
beside one random direction. Artifacts: ``curves/<i>.json``, ``summary.json``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from conceptlab.concepts.amplify import amplify, causal_test
from conceptlab.run.context import StageContext
from conceptlab.stages.common import checkpoint_series, load_activations
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

    pool = ctx.read_stage_json("collect", "pool.json")

    def held_out(concept: Any, line_states: list[str]) -> list[Any]:
        """The pool positions where the concept is most present, off its own line."""
        rows = load_activations(ctx.run.path / "collect" / "pool_acts", concept.layer)
        presence = np.asarray(rows).reshape(len(pool), -1) @ np.asarray(concept.vector).reshape(-1)
        on_line = set(line_states)
        picks = [i for i in np.argsort(-presence, kind="stable") if pool[i] not in on_line][: cfg.positions]
        return [domain.from_text(pool[i]) for i in picks]

    def curve(index: int) -> dict[str, Any]:
        record = records[index]
        line = rollouts[record["position"]]["chosen"]
        count = min(cfg.positions, len(line["actions"]))
        states = [domain.from_text(t) for t in line["states"][:count]]
        concept = concept_from_record(record, ctx.spec.name)
        if cfg.method == "interpolate":
            result = amplify(
                agent, states, concept.layer, concept.vector, alphas=cfg.alphas, beta=cfg.beta,
                target_actions=line["actions"][:count], rng=ctx.rng("control", concept.id),
            )
            return {"concept_id": concept.id, "method": "interpolate", **result}
        others = held_out(concept, line["states"])
        own_moves = [int(a) for a in agent.evaluate(others).policy.argmax(axis=1)] if others else []
        options = {"epsilon": cfg.epsilon, "random_directions": cfg.random_directions}
        return {
            "concept_id": concept.id, "method": "causal",
            "line": causal_test(agent, states, concept.layer, concept.vector, target_actions=line["actions"][:count],
                                rng=ctx.rng("line", concept.id), **options),
            "held_out": causal_test(agent, others, concept.layer, concept.vector, target_actions=own_moves,
                                    rng=ctx.rng("held-out", concept.id), **options) if others else None,
        }

    curves = ctx.units("curves", curve, list(range(len(records))), in_process=True,
                       desc="amplification")
    ctx.write_json("summary.json", curves)
    return {"amplified": len(curves)}
