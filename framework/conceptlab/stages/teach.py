"""The teach stage: the spec's teachability filter on every mined concept (method.md section 3).

The filter is prepared once per (re)start with the final agent as teacher, the
earlier checkpoints as candidate students (or the spec's ``student`` player) and
the collect stage's pool; each
concept's verdict is one unit. Artifacts: ``verdicts/<i>.json``, ``summary.json``.
"""

from __future__ import annotations

from typing import Any

from conceptlab.interfaces import TeachabilityContext
from conceptlab.run.context import StageContext
from conceptlab.stages.common import checkpoint_series, load_activations, record_layers
from conceptlab.stages.mine import concept_from_record, load_candidates
from conceptlab.values import CheckpointInfo

__all__ = ["assess_concepts", "run_teach", "verdict_json"]


def verdict_json(verdict: Any) -> dict[str, Any]:
    """A verdict as JSON data."""
    return {
        "concept_id": verdict.concept_id, "filter": verdict.filter, "passed": bool(verdict.passed),
        "scores": {k: float(v) for k, v in verdict.scores.items()}, "reason": verdict.reason,
    }


def assess_concepts(
    ctx: StageContext, flt: Any, records: list[dict[str, Any]], desc: str
) -> tuple[list[dict[str, Any]], int]:
    """Run a prepared filter on each candidate record as a unit; write ``summary.json``.

    Returns the verdicts (as JSON data, in order) and how many passed.
    """
    concepts = [concept_from_record(r, ctx.spec.name) for r in records]

    def assess(index: int) -> dict[str, Any]:
        return verdict_json(flt.assess(concepts[index], ctx.rng("assess", concepts[index].id)))

    verdicts = ctx.units("verdicts", assess, list(range(len(concepts))), in_process=True, desc=desc)
    ctx.write_json("summary.json", verdicts)
    return verdicts, sum(1 for v in verdicts if v["passed"])


def run_teach(ctx: StageContext) -> dict[str, Any]:
    comps = ctx.components
    series = checkpoint_series(ctx)
    candidates = [r for r in load_candidates(ctx) if r["vector"] is not None]
    limit = ctx.spec.stages.teach.max_concepts
    candidates = candidates[:limit] if limit is not None else candidates
    if not candidates:
        ctx.write_json("summary.json", [])
        return {"assessed": 0, "teachable": 0, "note": "no mined concept to assess"}

    domain = comps.domain
    pool_texts = ctx.read_stage_json("collect", "pool.json")
    pool_acts = {
        layer: load_activations(ctx.run.path / "collect" / "pool_acts", layer)
        for layer in record_layers(ctx)
    }
    student = ctx.spec.stages.teach.student
    students: list[tuple[CheckpointInfo, Any]] = []
    if student is not None:
        agent = comps.agent(student)
        students = [(CheckpointInfo(student, -1, 0, getattr(agent, "architecture", dict)()), agent)]
    context = TeachabilityContext(
        domain=domain,
        teacher=comps.agent(series[-1].path),  # type: ignore[arg-type]
        checkpoints=series[:-1],
        pool_states=[domain.from_text(t) for t in pool_texts],
        pool_activations=pool_acts,
        students=students,
    )
    flt = comps.teachability
    flt.prepare(context, ctx.rng("prepare"))
    verdicts, passed = assess_concepts(ctx, flt, candidates, "teachability")
    return {
        "assessed": len(verdicts),
        "teachable": passed,
        "removed_share": round(1 - passed / len(verdicts), 4),
        "filter": ctx.spec.teachability.name,
        "student": student if student is not None else "earlier checkpoints of the agent",
    }
