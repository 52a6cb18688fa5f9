"""The probe stage: the domain's known concepts, validated and probed layer by layer.

Two checks of what the agent shares with people (method.md sections 2 and 7),
both on positions of the collect stage's pool, labelled with the domain's
:meth:`~conceptlab.interfaces.Domain.known_concepts`:

1. **Known-concept validation** (Schut et al. 2023): on the final agent, per
   concept and layer, a static concept (the spec's miner on pairs from Z+ x Z-,
   ``validation = "miner"``) or a sparse logistic probe (``"probe"``) is fitted
   on training positions and scored on held-out ones, then averaged per family.
   For a miner the score is the paper's: the share of held-out (present, absent)
   pairs with ``v . z+ > v . z-`` (ties count half, so a zero vector scores 0.5);
   the baseline is the mean score of random Gaussian directions. For a probe it
   is held-out accuracy against predicting the majority class. A quantity (a
   ``float`` predicate) is split at its median for validation.
2. **Probing** (McGrath et al. 2022): a sparse linear probe per concept, layer
   and checkpoint of the series, with the same split for every checkpoint: which
   concept is decodable where, and when in training it appears.

Concepts that are (almost) constant on the pool are left out with their reason.
A domain without known concepts is skipped, with that reason in the figures.

Artifacts: ``labels.json``, ``acts-<checkpoint>/`` (activations), ``validation/``
and ``probes/`` (units), ``known_concepts.json``, ``probing.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.concepts.probing import ProbeError, probe_layers
from conceptlab.concepts.problems import ConceptProblemError, static_problem
from conceptlab.errors import ComponentError, SpecError, did_you_mean
from conceptlab.pipeline import StageContext, components_for
from conceptlab.stages.common import activations_for, checkpoint_series, load_activations

__all__ = ["pair_accuracy", "run_probe"]

RANDOM_DIRECTIONS = 16
"""Random Gaussian directions whose mean score is the miner's baseline."""


def _finite(value: float) -> float | None:
    """``value``, or ``None`` for NaN (JSON has no NaN)."""
    return None if value is None or math.isnan(value) else float(value)


def pair_accuracy(scores_present: np.ndarray, scores_absent: np.ndarray) -> float:
    """Share of (present, absent) pairs with the present one scoring higher; ties count half."""
    diff = np.asarray(scores_present)[:, None] - np.asarray(scores_absent)[None, :]
    return float(np.mean(diff > 0) + 0.5 * np.mean(diff == 0))


def _split(
    labels: np.ndarray, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows), stratified by class so both sides appear in both parts."""
    train, test = [], []
    for value in (False, True):
        rows = rng.permutation(np.flatnonzero(labels == value))
        n_test = min(max(1, round(test_fraction * len(rows))), len(rows) - 1)
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _validation_unit(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one concept at every layer of the final agent.

    Payload: ``spec``, ``concept``, ``family``, ``present`` (0/1 per position),
    ``folder`` (activations), ``layers``, ``method``, ``test_fraction``,
    ``max_pairs``, ``strength``, ``max_iter``, ``seed``.
    """
    present = np.asarray(payload["present"], dtype=bool)
    folder = Path(payload["folder"])
    acts = {layer: load_activations(folder, layer).astype(np.float64) for layer in payload["layers"]}
    head = {"concept": payload["concept"], "family": payload["family"]}
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    if payload["method"] == "probe":
        rng = np.random.default_rng(payload["seed"])
        try:
            results = probe_layers(
                acts, present.astype(np.int64), task="classification", strength=payload["strength"],
                test_fraction=payload["test_fraction"], max_iter=payload["max_iter"], rng=rng,
            )
        except ProbeError as exc:
            return {"rows": [], "failures": [{**head, "layer": None, "reason": str(exc)}]}
        for r in results:
            rows.append({
                **head, "layer": r.layer, "test_accuracy": r.test_score,
                "baseline_accuracy": r.baseline_score, "n_train": r.num_train, "n_test": r.num_test,
                "train_accuracy": r.train_score, "nonzero": r.nonzero, "dim": r.dim,
            })
        return {"rows": rows, "failures": failures}

    miner = components_for(payload["spec"]).miner
    for index, (layer, z) in enumerate(acts.items()):
        rng = np.random.default_rng([payload["seed"], index])
        train, test = _split(present, payload["test_fraction"], np.random.default_rng(payload["seed"]))
        pos_train, neg_train = train[present[train]], train[~present[train]]
        pos_test, neg_test = test[present[test]], test[~present[test]]
        try:
            problem = static_problem(
                z[pos_train], z[neg_train], max_pairs=payload["max_pairs"], held_out_fraction=0.0,
                rng=rng, description=f"known concept {payload['concept']!r} at layer {layer!r}",
            )
        except ConceptProblemError as exc:
            failures.append({**head, "layer": layer, "status": "no_problem", "reason": str(exc)})
            continue
        mined = miner.mine(problem, rng)
        if mined.vector is None:
            failures.append({**head, "layer": layer, "status": mined.status, "reason": mined.reason})
            continue
        v = np.asarray(mined.vector, dtype=np.float64)
        directions = rng.standard_normal((z.shape[1], RANDOM_DIRECTIONS))
        chance = [
            pair_accuracy(z[pos_test] @ directions[:, j], z[neg_test] @ directions[:, j])
            for j in range(RANDOM_DIRECTIONS)
        ]
        rows.append({
            **head, "layer": layer,
            "test_accuracy": pair_accuracy(z[pos_test] @ v, z[neg_test] @ v),
            "baseline_accuracy": float(np.mean(chance)),
            "n_train": len(train), "n_test": len(test),
            "train_accuracy": pair_accuracy(z[pos_train] @ v, z[neg_train] @ v),
            "train_pairs": len(problem.positive), "status": mined.status,
            "nonzero": int(np.count_nonzero(v)), "dim": int(z.shape[1]),
        })
    return {"rows": rows, "failures": failures}


def _probe_unit(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Probe one concept at every layer of one checkpoint.

    Payload: ``labels``, ``task``, ``folder``, ``layers``, ``test_fraction``,
    ``strength``, ``max_iter``, ``seed`` (the same for every checkpoint, so the split is too).
    """
    folder = Path(payload["folder"])
    acts = {layer: load_activations(folder, layer) for layer in payload["layers"]}
    labels = np.asarray(payload["labels"], dtype=np.float64)
    if payload["task"] == "classification":
        labels = labels.astype(np.int64)
    try:
        results = probe_layers(
            acts, labels, task=payload["task"], strength=payload["strength"],
            test_fraction=payload["test_fraction"], max_iter=payload["max_iter"],
            rng=np.random.default_rng(payload["seed"]),
        )
    except ProbeError as exc:
        return {"layers": {}, "reason": str(exc)}
    return {
        "layers": {
            r.layer: {
                "test_score": _finite(r.test_score), "baseline_score": _finite(r.baseline_score),
                "train_score": _finite(r.train_score), "nonzero": r.nonzero, "converged": r.converged,
            }
            for r in results
        },
        "reason": "",
    }


def _label(value: Any, concept: str) -> float:
    """A predicate's value as a number (``1.0``/``0.0`` for a bool); refuses anything else."""
    if isinstance(value, (bool, np.bool_)):
        return float(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(float(value)):
        return float(value)
    raise ComponentError(
        f"known concept {concept!r} labelled a state with {value!r}; expected a bool or a finite number"
    )


def _choose(names: Sequence[str], wanted: Sequence[str], what: str) -> list[str]:
    for name in wanted:
        if name not in names:
            raise SpecError(
                f"stages.probe.{what}: unknown {what[:-1]} {name!r}{did_you_mean(name, names)}; "
                f"known: {', '.join(names)}"
            )
    return list(wanted) if wanted else list(names)


def _usable(
    values: np.ndarray, is_bool: bool, min_examples: int
) -> tuple[str, np.ndarray | None, str]:
    """(task, present-or-absent split for validation or None, reason when unusable)."""
    if is_bool:
        n_present = int(values.sum())
        n_absent = len(values) - n_present
        if min(n_present, n_absent) < min_examples:
            return "classification", None, (
                f"present in {n_present} of {len(values)} positions; validation and probing need "
                f"at least {min_examples} positions with and without it"
            )
        return "classification", values.astype(bool), ""
    median = float(np.median(values))
    above = values > median
    if min(int(above.sum()), int((~above).sum())) < min_examples:
        return "regression", None, (
            f"a quantity with {len(np.unique(values))} distinct values; fewer than {min_examples} "
            f"positions lie on one side of its median {median:g}"
        )
    return "regression", above, ""


def _sample_positions(pool: list[str], count: int, rng: np.random.Generator) -> list[str]:
    if len(pool) <= count:
        return list(pool)
    return [pool[i] for i in sorted(rng.choice(len(pool), size=count, replace=False))]


def _summary(rows: list[dict[str, Any]], layers: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    best: dict[str, Any] = {}
    for row in rows:
        current = best.get(row["concept"])
        if current is None or row["test_accuracy"] > current["test_accuracy"]:
            best[row["concept"]] = {"layer": row["layer"], "test_accuracy": row["test_accuracy"]}
    families: dict[str, dict[str, float]] = {}
    for family in sorted({row["family"] for row in rows}):
        families[family] = {}
        for layer in layers:
            scores = [r["test_accuracy"] for r in rows if r["family"] == family and r["layer"] == layer]
            if scores:
                families[family][layer] = float(np.mean(scores))
    return best, families


def run_probe(ctx: StageContext) -> dict[str, Any]:
    cfg = ctx.spec.stages.probe
    comps = ctx.components
    domain = comps.domain
    known = dict(domain.known_concepts())
    if not known:
        reason = f"domain {domain.name!r} names no known concepts (Domain.known_concepts)"
        return {"skipped": reason}
    names = _choose(list(known), cfg.concepts, "concepts")
    layers = _choose(list(comps.layer_names), cfg.layers, "layers")
    series = checkpoint_series(ctx)
    indices = list(range(len(series)))
    if cfg.checkpoints:
        try:
            indices = sorted({range(len(series))[i] for i in cfg.checkpoints})
        except IndexError:
            raise SpecError(
                f"stages.probe.checkpoints = {cfg.checkpoints}, but the series has {len(series)} checkpoints"
            ) from None
    final = len(series) - 1

    pool = ctx.read_stage_json("collect", "pool.json")
    positions = _sample_positions(pool, cfg.positions, ctx.rng("positions"))
    if len(positions) < 2 * cfg.min_examples:
        return {"skipped": f"the pool has {len(positions)} positions; probing needs at least "
                           f"{2 * cfg.min_examples} (stages.probe.min_examples on each side)"}
    states = [domain.from_text(text) for text in positions]
    labels: dict[str, list[float]] = {}
    kinds: dict[str, bool] = {}
    with ctx.progress(len(names), "labelling positions") as bar:
        for name in names:
            raw = [known[name][1](state) for state in states]
            kinds[name] = all(isinstance(v, (bool, np.bool_)) for v in raw)
            labels[name] = [_label(v, name) for v in raw]
            bar.update(1)
    ctx.write_json("labels.json", {"positions": positions, "labels": labels})

    tasks: dict[str, str] = {}
    present: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    for name in names:
        task, split, reason = _usable(np.asarray(labels[name]), kinds[name], cfg.min_examples)
        if split is None:
            skipped[name] = reason
        else:
            tasks[name], present[name] = task, split
    usable = [name for name in names if name in tasks]

    folders = {
        i: activations_for(ctx, f"acts-{i:03d}", positions, series[i].path, layers)
        for i in sorted(set(indices) | {final})
    }
    common = {"layers": layers, "test_fraction": cfg.test_fraction, "strength": cfg.probe_strength,
              "max_iter": cfg.probe_max_iter}
    validation = ctx.units("validation", _validation_unit, [
        {**common, "spec": ctx.run.spec_data, "concept": name, "family": known[name][0],
         "present": present[name].astype(int).tolist(), "folder": str(folders[final]),
         "method": cfg.validation, "max_pairs": cfg.max_pairs, "seed": ctx.seed("validation", name)}
        for name in usable
    ], desc="known-concept validation")
    rows = [row for unit in validation for row in unit["rows"]]
    failures = [failure for unit in validation for failure in unit["failures"]]
    best, families = _summary(rows, layers)
    miner_name = ctx.spec.miner.name
    method = (
        f"static concepts mined with {miner_name!r} from (present, absent) pairs; accuracy = share "
        "of held-out pairs with v.z+ > v.z- (ties count half); baseline = the mean of "
        f"{RANDOM_DIRECTIONS} random Gaussian directions"
        if cfg.validation == "miner" else
        "sparse (L1) logistic probe; accuracy on held-out positions; baseline = the majority class"
    )
    ctx.write_json("known_concepts.json", {
        "checkpoint": Path(series[final].path).stem, "method": method, "rows": rows, "best": best,
        "families": families, "failures": failures, "skipped": skipped,
    })

    payloads = [
        {**common, "labels": labels[name], "task": tasks[name], "folder": str(folders[i]),
         "seed": ctx.seed("probing", name)}
        for name in usable for i in indices
    ]
    probes = ctx.units("probes", _probe_unit, payloads, desc="probes (concept x checkpoint)")
    score: list[list[list[float | None]]] = []
    baseline: list[list[list[float | None]]] = []
    probe_failures: dict[str, str] = {}
    for c, name in enumerate(usable):
        score.append([])
        baseline.append([])
        for k in range(len(indices)):
            unit = probes[c * len(indices) + k]
            if unit["reason"]:
                probe_failures[f"{name} @ {Path(series[indices[k]].path).stem}"] = unit["reason"]
            cells = unit["layers"]
            score[-1].append([cells.get(layer, {}).get("test_score") for layer in layers])
            baseline[-1].append([cells.get(layer, {}).get("baseline_score") for layer in layers])
    ctx.write_json("probing.json", {
        "concepts": usable, "checkpoints": [Path(series[i].path).stem for i in indices],
        "checkpoint_steps": [series[i].step for i in indices], "layers": layers, "score": score,
        "baseline": baseline, "task": tasks, "families": {name: known[name][0] for name in usable},
        "score_meaning": {"classification": "held-out accuracy", "regression": "held-out R^2"},
        "failures": probe_failures, "skipped": skipped,
    })
    best_overall = {n: b["test_accuracy"] for n, b in best.items()}
    return {
        "concepts": len(names),
        "usable": len(usable),
        "skipped_concepts": len(skipped),
        "positions": len(positions),
        "validation_method": cfg.validation,
        "validation_failures": len(failures),
        "mean_best_accuracy": round(float(np.mean(list(best_overall.values()))), 4) if best_overall else None,
        "probes": len(payloads) * len(layers),
    }
