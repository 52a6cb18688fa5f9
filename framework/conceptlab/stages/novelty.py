"""The novelty stage: the spec's novelty filter on the teachable concepts (method.md sections 4 and 8).

The agent's side is the collect stage's pool (the final agent's self-play
positions), the reference side its reference positions. The two sides are
matched by game phase (``match_strata``): per stratum of the domain's
``stratum`` key, as many random positions from each side as the smaller side
has there, so that a concept tied to a phase the reference lacks is not passed
as novel. Without strata, both sides are random subsamples of equal size.

Beside the verdicts, two false-positive rates of the filter's rule on the same
sets: random sparse directions (the mined concepts' median number of non-zeros)
judged against the real reference, and the assessed concepts judged with two
random halves of the agent's own positions on both sides (nothing is novel there).

Artifacts: ``verdicts/<i>.json``, ``summary.json``, ``null_verdicts/``, ``split_verdicts/``,
``null_summary.json``, ``matched.json`` (the rows used on each side).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from conceptlab.interfaces import NoveltyContext
from conceptlab.run.context import StageContext
from conceptlab.concepts.nulls import null_concepts
from conceptlab.stages.common import assess_units, load_activations, pass_rate, record_layers
from conceptlab.stages.mine import concept_from_record, load_candidates

__all__ = ["matched_rows", "run_novelty"]


def matched_rows(agent_strata: Sequence[Any], reference_strata: Sequence[Any],
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """(agent rows, reference rows, strata used): per stratum, as many random rows of each side
    as the smaller side has there; both sides in stratum order, so row i of one matches row i's
    stratum of the other."""
    by_stratum: dict[Any, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for i, key in enumerate(agent_strata):
        by_stratum[key][0].append(i)
    for i, key in enumerate(reference_strata):
        by_stratum[key][1].append(i)
    agent, reference, used = [], [], 0
    for key in sorted(by_stratum, key=str):
        ours, theirs = by_stratum[key]
        n = min(len(ours), len(theirs))
        if n:
            used += 1
            agent.extend(sorted(rng.choice(ours, size=n, replace=False).tolist()))
            reference.extend(sorted(rng.choice(theirs, size=n, replace=False).tolist()))
    return np.asarray(agent, dtype=np.int64), np.asarray(reference, dtype=np.int64), used


def _prepared(ctx: StageContext, agent: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray],
              name: str, key: str) -> Any:
    flt = ctx.components.registry.create("novelty_filter", ctx.spec.novelty.name, ctx.spec.novelty.params)
    flt.prepare(NoveltyContext(agent_activations=agent, reference_activations=reference, reference_name=name),
                ctx.rng("prepare", key))
    return flt


def run_novelty(ctx: StageContext) -> dict[str, Any]:
    cfg = ctx.spec.stages.novelty
    teach = {v["concept_id"]: v for v in ctx.read_stage_json("teach", "summary.json")}
    mined = [r for r in load_candidates(ctx) if r["id"] in teach]
    records = [r for r in mined if teach[r["id"]]["passed"] or not cfg.only_teachable]
    reference = ctx.read_stage_json("collect", "reference.json")
    if not mined:
        ctx.write_json("summary.json", [])
        return {"assessed": 0, "novel": 0, "reference": reference["source"], "note": "no mined concept to assess"}

    layers = record_layers(ctx)
    agent_acts = {l: load_activations(ctx.run.path / "collect" / "pool_acts", l) for l in layers}
    ref_acts = {l: load_activations(ctx.run.path / "collect" / "reference_acts", l) for l in layers}
    n_agent, n_ref = len(next(iter(agent_acts.values()))), len(next(iter(ref_acts.values())))
    strata_path = ctx.run.path / "collect" / "strata.json"
    strata = ctx.read_stage_json("collect", "strata.json") if strata_path.exists() else None
    rng = ctx.rng("match")
    if cfg.match_strata and strata is not None and any(k is not None for k in strata["pool"]):
        agent_rows, ref_rows, used = matched_rows(strata["pool"], strata["reference"], rng)
    else:  # random subsamples of equal size
        n = min(n_agent, n_ref)
        agent_rows = np.sort(rng.choice(n_agent, size=n, replace=False))
        ref_rows = np.sort(rng.choice(n_ref, size=n, replace=False))
        used = 0
    ctx.write_json("matched.json", {"agent": agent_rows.tolist(), "reference": ref_rows.tolist(), "strata": used})
    agent = {l: np.asarray(a[agent_rows]) for l, a in agent_acts.items()}
    flt = _prepared(ctx, agent, {l: np.asarray(a[ref_rows]) for l, a in ref_acts.items()}, reference["source"], "main")

    concepts = [concept_from_record(r, ctx.spec.name) for r in records]
    verdicts = assess_units(ctx, flt, concepts, "verdicts", "novelty")
    ctx.write_json("summary.json", verdicts)
    passed = sum(1 for v in verdicts if v["passed"])

    # false-positive rates of the rule: random sparse directions against the reference, and the
    # concepts (or, with none, the null directions) with the agent's own positions on both sides
    nulls = [c for c in null_concepts([concept_from_record(r, ctx.spec.name) for r in mined],
                                      cfg.null_directions, ctx.rng("null-directions"))
             if c.provenance["null"] == "sparse"]
    null_verdicts = assess_units(ctx, flt, nulls, "null_verdicts", "novelty of null directions")
    split_verdicts: list[dict[str, Any]] = []
    if cfg.agent_split and len(agent_rows) >= 4:
        half = rng.permutation(len(agent_rows))
        first, second = np.sort(half[: len(half) // 2]), np.sort(half[len(half) // 2: 2 * (len(half) // 2)])
        split = _prepared(ctx, {l: a[first] for l, a in agent.items()}, {l: a[second] for l, a in agent.items()},
                          "the agent's own positions (a random half)", "agent-split")
        split_verdicts = assess_units(ctx, split, concepts or nulls, "split_verdicts", "novelty, agent vs agent")
    ctx.write_json("null_summary.json", {"null_directions": null_verdicts, "agent_split": split_verdicts})
    null_passed = sum(1 for v in null_verdicts if v["passed"])
    split_passed = sum(1 for v in split_verdicts if v["passed"])
    return {
        "assessed": len(verdicts),
        "novel": passed,
        "novel_share": pass_rate(passed, len(verdicts)),
        "removed_share": round(1 - passed / len(verdicts), 4) if verdicts else None,
        "positions_per_side": int(len(agent_rows)),
        "strata": used,
        "null_directions": len(nulls),
        "null_novel_share": pass_rate(null_passed, len(null_verdicts)),
        "agent_split_novel_share": pass_rate(split_passed, len(split_verdicts)),
        "agent_split_assessed": "concepts" if concepts else "null directions",
        "reference": reference["source"],
        "filter": ctx.spec.novelty.name,
        **({} if records else {"note": "no concept passed the teachability filter"}),
    }
