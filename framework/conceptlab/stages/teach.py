"""The teach stage: the spec's teachability filter on every mined concept (method.md sections 3 and 8).

The filter is prepared once per (re)start with the final agent as teacher, the
earlier checkpoints as candidate students (or the spec's ``student`` player) and
the collect stage's pool, with the game of each pool position so that prototypes
can be split by game. Each concept's verdict is one unit.

Then the verdicts become evidence: the same filter assesses ``null_directions``
random sparse directions (with the mined concepts' median number of non-zeros)
and as many random dense ones; the candidates' p-values are held to a
false-discovery rate ``fdr_q`` (Benjamini-Hochberg), which decides ``passed``;
each verdict also gets empirical p-values against the null directions' effects,
and the figures put the null pass rate beside the mined one.

Artifacts: ``verdicts/<i>.json`` (the filter's own verdicts), ``null_verdicts/<i>.json``,
``null_directions.json``, ``summary.json`` (the final verdicts), ``null_summary.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from conceptlab.interfaces import TeachabilityContext
from conceptlab.run.context import StageContext
from conceptlab.concepts.nulls import null_concepts
from conceptlab.stages.common import assess_units, checkpoint_series, load_activations, pass_rate, record_layers
from conceptlab.stages.mine import concept_from_record, load_candidates
from conceptlab.stats import benjamini_hochberg
from conceptlab.values import CheckpointInfo

__all__ = ["run_teach"]


def _empirical_p(effect: float, null_effects: Sequence[float]) -> float:
    """(1 + #nulls at least as large) / (1 + #nulls): the verdict's p-value against the null directions."""
    finite = [e for e in null_effects if np.isfinite(e)]
    if not finite or not np.isfinite(effect):
        return float("nan")
    return (1 + sum(e >= effect for e in finite)) / (1 + len(finite))


def run_teach(ctx: StageContext) -> dict[str, Any]:
    comps = ctx.components
    cfg = ctx.spec.stages.teach
    series = checkpoint_series(ctx)
    candidates = [r for r in load_candidates(ctx) if r["vector"] is not None]
    limit = cfg.max_concepts
    candidates = candidates[:limit] if limit is not None else candidates
    if not candidates:
        ctx.write_json("summary.json", [])
        return {"assessed": 0, "teachable": 0, "note": "no mined concept to assess"}

    domain = comps.domain
    pool_texts = ctx.read_stage_json("collect", "pool.json")
    groups_path = ctx.run.path / "collect" / "pool_games.json"
    pool_groups = ctx.read_stage_json("collect", "pool_games.json") if groups_path.exists() else None
    pool_acts = {
        layer: load_activations(ctx.run.path / "collect" / "pool_acts", layer)
        for layer in record_layers(ctx)
    }
    students: list[tuple[CheckpointInfo, Any]] = []
    if cfg.student is not None:
        agent = comps.agent(cfg.student)
        students = [(CheckpointInfo(cfg.student, -1, 0, getattr(agent, "architecture", dict)()), agent)]
    context = TeachabilityContext(
        domain=domain,
        teacher=comps.agent(series[-1].path),  # type: ignore[arg-type]
        checkpoints=series[:-1],
        pool_states=[domain.from_text(t) for t in pool_texts],
        pool_activations=pool_acts,
        pool_groups=pool_groups,
        students=students,
    )
    flt = comps.teachability
    flt.prepare(context, ctx.rng("prepare"))

    concepts = [concept_from_record(r, ctx.spec.name) for r in candidates]
    verdicts = assess_units(ctx, flt, concepts, "verdicts", "teachability")
    nulls = null_concepts(concepts, cfg.null_directions, ctx.rng("null-directions"))
    ctx.write_json("null_directions.json", [
        {"id": c.id, "layer": c.layer, "kind": c.provenance["null"], "nonzeros": c.provenance["nonzeros"]}
        for c in nulls
    ])
    null_verdicts = assess_units(ctx, flt, nulls, "null_verdicts", "teachability of null directions")

    # filters that give no p-value keep their own verdicts; the others face the family's bar
    tested = [i for i, v in enumerate(verdicts) if "p_value" in v["scores"]]
    found, cutoff = benjamini_hochberg([verdicts[i]["scores"]["p_value"] for i in tested], cfg.fdr_q)
    discovered = [True] * len(verdicts)
    for i, hit in zip(tested, found, strict=True):
        discovered[i] = bool(hit)
    null_effects = {
        kind: [v["scores"].get("effect", float("nan")) for v in null_verdicts if v["concept_id"].startswith(f"null-{kind}")]
        for kind in ("sparse", "dense")
    }
    final = []
    for verdict, found in zip(verdicts, discovered, strict=True):
        scores = dict(verdict["scores"])
        effect = scores.get("effect", float("nan"))
        scores["passed_uncorrected"] = float(verdict["passed"])
        scores["p_null_sparse"] = _empirical_p(effect, null_effects["sparse"])
        scores["p_null_dense"] = _empirical_p(effect, null_effects["dense"])
        passed = bool(verdict["passed"] and found)
        note = (f" Over the {len(tested)} candidates at a false-discovery rate of {cfg.fdr_q:g} "
                f"(Benjamini-Hochberg, p-value cutoff {cutoff:.3g}): {'teachable' if passed else 'not teachable'}."
                if "p_value" in scores else "")
        final.append({**verdict, "passed": passed, "scores": scores, "reason": verdict["reason"] + note})
    ctx.write_json("summary.json", final)

    def null_passes(kind: str) -> tuple[int, int]:
        rows = [v for v in null_verdicts if v["concept_id"].startswith(f"null-{kind}")]
        passing = sum(1 for v in rows if v["passed"] and v["scores"].get("p_value", 1.0) <= cutoff)
        return passing, len(rows)

    ctx.write_json("null_summary.json", null_verdicts)
    teachable = sum(1 for v in final if v["passed"])
    sparse_pass, sparse_n = null_passes("sparse")
    dense_pass, dense_n = null_passes("dense")
    test_sizes = [v["scores"]["num_test"] for v in verdicts if "num_test" in v["scores"]]
    return {
        "assessed": len(final),
        "teachable": teachable,
        "teachable_share": pass_rate(teachable, len(final)),
        "teachable_uncorrected": sum(1 for v in verdicts if v["passed"]),
        "removed_share": round(1 - teachable / len(final), 4),
        "fdr_q": cfg.fdr_q,
        "p_cutoff": cutoff,
        "null_directions": cfg.null_directions,
        "null_teachable_share": pass_rate(sparse_pass, sparse_n),
        "null_dense_teachable_share": pass_rate(dense_pass, dense_n),
        "test_prototypes_median": float(np.median(test_sizes)) if test_sizes else None,
        "student_fallbacks": sum(1 for v in verdicts if v["scores"].get("student_fallback", 0.0) == 1.0),
        "split_by_game": sum(1 for v in verdicts if v["scores"].get("split_by_game", 0.0) == 1.0),
        "filter": ctx.spec.teachability.name,
        "student": cfg.student if cfg.student is not None else "earlier checkpoints of the agent",
    }
