"""The teach stage: the spec's teachability filter on every mined concept (method.md sections 3 and 8).

The filter is prepared once per (re)start with the final agent as teacher, the
earlier checkpoints as candidate students (or the spec's ``student`` player) and
the collect stage's pool, with the game of each pool position so that prototypes
can be split by game. Each concept's verdict is one unit.

Mined concepts are dynamic: with ``dynamic_prototypes = "rollouts"`` (the paper's
rule) a concept's prototypes are the root states of the rollout positions whose
own rollouts satisfy its constraints
(:func:`~conceptlab.concepts.problems.rollout_constraints`, at least
``constraint_share`` of each position's pairs). Those root states are appended to
the pool, with their games, and named by the context's ``concept_support``; the
pool proper still gives the random control positions. Null directions get their
prototypes by the same rule, with the layer, sign and steps of the concept each
is matched to. With ``"top"`` every concept's prototypes are the top of the pool by ``v . z``.

Then the verdicts become evidence: the same filter assesses ``null_directions``
random sparse directions (with the mined concepts' median number of non-zeros)
and as many random dense ones; the candidates' p-values are held to a
false-discovery rate ``fdr_q`` (Benjamini-Hochberg), which decides ``passed``;
each verdict also gets empirical p-values against the null directions' effects,
and the figures put the null pass rate beside the mined one.

Artifacts: ``verdicts/<i>.json`` (the filter's own verdicts), ``null_verdicts/<i>.json``,
``null_directions.json``, ``summary.json`` (the final verdicts), ``null_summary.json``,
``rollout_support.json`` (with ``"rollouts"``: per concept and null direction, the rollout
positions whose rollouts satisfy it, as indices into ``collect/rollouts.json``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from conceptlab.concepts.nulls import null_concepts
from conceptlab.concepts.problems import rollout_constraints, rollout_slices
from conceptlab.errors import RunDirError
from conceptlab.interfaces import TeachabilityContext
from conceptlab.rundir import read_json
from conceptlab.run.context import StageContext
from conceptlab.stages.common import assess_units, checkpoint_series, load_activations, pass_rate, record_layers
from conceptlab.stages.mine import concept_from_record, load_candidates
from conceptlab.stats import benjamini_hochberg
from conceptlab.values import CheckpointInfo, Concept

__all__ = ["run_teach"]


def _empirical_p(effect: float, null_effects: Sequence[float]) -> float:
    """(1 + #nulls at least as large) / (1 + #nulls): the verdict's p-value against the null directions."""
    finite = [e for e in null_effects if np.isfinite(e)]
    if not finite or not np.isfinite(effect):
        return float("nan")
    return (1 + sum(e >= effect for e in finite)) / (1 + len(finite))


def _rollout_games(ctx: StageContext, rollouts: Sequence[Mapping[str, Any]]) -> list[int]:
    """The game of each rollout position: ``collect/rollout_games.json``, or for a run collected
    before that file existed, the first of the collect stage's games that holds the position.

    Raises:
        RunDirError: Neither says which game a rollout position comes from.
    """
    collect = ctx.run.path / "collect"
    if (collect / "rollout_games.json").exists():
        return [int(g) for g in ctx.read_stage_json("collect", "rollout_games.json")]
    first: dict[str, int] = {}
    for index, path in enumerate(sorted((collect / "games").glob("*.json"))):
        for text in read_json(path)["states"]:
            first.setdefault(text, index)
    missing = [r["state"] for r in rollouts if r["state"] not in first]
    if missing:
        raise RunDirError(
            f"{str(collect)!r} does not say which game {len(missing)} of its {len(rollouts)} rollout "
            "positions come from (no rollout_games.json, and its games/ do not hold them), so their "
            "root states cannot be split by game as prototypes: run the spec into another --out, or "
            "set stages.teach.dynamic_prototypes = 'top'"
        )
    return [first[r["state"]] for r in rollouts]


def _rollout_supports(
    concepts: Sequence[Concept], acts: Mapping[str, np.ndarray], slices: Sequence[Any], share: float
) -> dict[str, list[int]]:
    """Concept id -> the rollout positions whose own rollouts satisfy at least ``share`` of its constraints
    (a position needs a pair; its layer, sign and steps are the concept's, a null's those it is matched to)."""
    out = {}
    for concept in concepts:
        found = rollout_constraints(concept.vector, acts[concept.layer], slices,
                                    steps=concept.provenance["steps"], sign=concept.provenance["sign"])
        ok = (found.pairs > 0) & (np.nan_to_num(found.share, nan=0.0) >= share)
        out[concept.id] = [int(i) for i in np.flatnonzero(ok)]
    return out


def _median(values: Sequence[float]) -> float | None:
    return float(np.median(values)) if values else None


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
    pool_states = [domain.from_text(t) for t in pool_texts]
    students: list[tuple[CheckpointInfo, Any]] = []
    if cfg.student is not None:
        agent = comps.agent(cfg.student)
        students = [(CheckpointInfo(cfg.student, -1, 0, getattr(agent, "architecture", dict)()), agent)]

    concepts = [concept_from_record(r, ctx.spec.name) for r in candidates]
    nulls = null_concepts(concepts, cfg.null_directions, ctx.rng("null-directions"))
    support: dict[str, list[int]] = {}
    rollouts: list[dict[str, Any]] = []
    if cfg.dynamic_prototypes == "rollouts":
        # the root states of the rollout positions join the pool; a concept's support names those
        # whose own rollouts satisfy its constraints, as indices into the extended pool
        rollouts = ctx.read_stage_json("collect", "rollouts.json")
        slices = rollout_slices(rollouts)
        layers = list(pool_acts)
        rollout_acts = {layer: load_activations(ctx.run.path / "collect" / "rollout_acts", layer) for layer in layers}
        by_position = _rollout_supports([*concepts, *nulls], rollout_acts, slices, cfg.constraint_share)
        ctx.write_json("rollout_support.json", {
            "constraint_share": cfg.constraint_share, "rollout_positions": len(rollouts),
            "support": by_position,
        })
        roots = [c0 for (c0, _), _ in slices]
        for layer in layers:
            rows = np.asarray(pool_acts[layer])
            pool_acts[layer] = np.concatenate(
                [rows, np.asarray(rollout_acts[layer][roots]).reshape(len(roots), *rows.shape[1:])])
        if pool_groups is not None:
            pool_groups = [*pool_groups, *_rollout_games(ctx, rollouts)]
        support = {cid: [len(pool_states) + i for i in found] for cid, found in by_position.items()}
    context = TeachabilityContext(
        domain=domain,
        teacher=comps.agent(series[-1].path),  # type: ignore[arg-type]
        checkpoints=series[:-1],
        pool_states=[*pool_states, *(domain.from_text(r["state"]) for r in rollouts)],
        pool_activations=pool_acts,
        concept_support=support,
        pool_proper=len(pool_states),
        pool_groups=pool_groups,
        students=students,
    )
    flt = comps.teachability
    flt.prepare(context, ctx.rng("prepare"))

    verdicts = assess_units(ctx, flt, concepts, "verdicts", "teachability")
    ctx.write_json("null_directions.json", [
        {"id": c.id, "layer": c.layer, "kind": c.provenance["null"], "nonzeros": c.provenance["nonzeros"],
         "matched": c.provenance["matched"]}
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

    def from_rollouts(rows: Sequence[Mapping[str, Any]]) -> list[float]:
        return [v["scores"]["prototypes_outside_pool"] for v in rows if "prototypes_outside_pool" in v["scores"]]

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
        "test_prototypes_median": _median(test_sizes),
        "dynamic_prototypes": cfg.dynamic_prototypes,
        "constraint_share": cfg.constraint_share,
        "rollout_positions": len(rollouts),
        "rollout_prototypes_median": _median(from_rollouts(verdicts)),
        "null_rollout_prototypes_median": _median(from_rollouts(null_verdicts)),
        "student_fallbacks": sum(1 for v in verdicts if v["scores"].get("student_fallback", 0.0) == 1.0),
        "split_by_game": sum(1 for v in verdicts if v["scores"].get("split_by_game", 0.0) == 1.0),
        "filter": ctx.spec.teachability.name,
        "student": cfg.student if cfg.student is not None else "earlier checkpoints of the agent",
    }
