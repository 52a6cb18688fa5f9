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

Both are scored against baselines (method.md section 8, "probes beat baselines
or say nothing"): the same fit on the domain's encoded input planes (``input``),
on an untrained net of the agent's architecture initialised as the train stage
initialises its first checkpoint (``untrained``, every layer), and the trivial
one (the majority class or the training mean for a probe, random directions for
a miner). Positions are split by game (the collect stage's ``pool_games.json``)
into training, validation and test parts, one split per concept for every
checkpoint, layer and baseline; a concept's best layer, and each baseline's, is
chosen on the validation part and scored on the test part. The gain of a
concept is its best layer's test score minus the best baseline's.

Concepts that are (almost) constant on the pool are left out with their reason.
A domain without known concepts is skipped, with that reason in the figures.

Artifacts: ``labels.json``, ``acts-<checkpoint>/``, ``acts-input/`` and
``acts-untrained/`` (features), ``untrained.pt``, ``validation/`` and
``probes/`` (units), ``known_concepts.json``, ``probing.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.arrays import save_npz
from conceptlab.concepts.probing import ProbeError, ProbeSplit, probe_layers, split_positions
from conceptlab.concepts.problems import ConceptProblemError, static_problem
from conceptlab.errors import ComponentError, SpecError, did_you_mean
from conceptlab.interfaces import TrainableAgent
from conceptlab.pipeline import StageContext, components_for
from conceptlab.stages.common import activations_for, checkpoint_series, load_activations

__all__ = ["best_by_validation", "compare_with_baselines", "pair_accuracy", "run_probe"]

INPUT = "input"
"""The baseline of the domain's encoded input planes (its one "layer" has this name too)."""
UNTRAINED = "untrained"
"""The baseline of an untrained net of the agent's architecture."""
AGENT = "agent"
"""The features of the agent itself (the final checkpoint's layers) in a validation row."""

RANDOM_DIRECTIONS = 16
"""Random Gaussian directions whose mean score is the miner's baseline."""


def _finite(value: float) -> float | None:
    """``value``, or ``None`` for NaN (JSON has no NaN)."""
    return None if value is None or math.isnan(value) else float(value)


def pair_accuracy(scores_present: np.ndarray, scores_absent: np.ndarray) -> float:
    """Share of (present, absent) pairs with the present one scoring higher; ties count half."""
    diff = np.asarray(scores_present)[:, None] - np.asarray(scores_absent)[None, :]
    return float(np.mean(diff > 0) + 0.5 * np.mean(diff == 0))


def _split(payload: Mapping[str, Any], labels: np.ndarray) -> ProbeSplit:
    """A validation unit's split: by game when the payload has games, the same for every layer."""
    groups = payload.get("groups")
    return split_positions(
        len(labels), groups=None if groups is None else np.asarray(groups), labels=labels,
        validation_fraction=payload.get("validation_fraction", 0.0), test_fraction=payload["test_fraction"],
        rng=np.random.default_rng(payload["seed"]),
    )


def _pair_score(z: np.ndarray, v: np.ndarray, rows: np.ndarray, present: np.ndarray) -> float | None:
    """Pair accuracy of direction ``v`` on ``rows``; ``None`` when they lack a class."""
    pos, neg = rows[present[rows]], rows[~present[rows]]
    if len(pos) == 0 or len(neg) == 0:
        return None
    return pair_accuracy(z[pos] @ v, z[neg] @ v)


def _features(payload: Mapping[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(feature set, folder, layers) of a unit: ``features``, or the agent's ``folder`` and ``layers``."""
    if "features" in payload:
        return [(str(name), str(folder), list(layers)) for name, folder, layers in payload["features"]]
    return [(AGENT, str(payload["folder"]), list(payload["layers"]))]


def _validation_unit(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate one concept at every layer of the final agent and of each baseline.

    Payload: ``spec``, ``concept``, ``family``, ``present`` (0/1 per position),
    ``features`` (``[name, folder, layers]`` per feature set, the agent's first;
    or ``folder`` and ``layers`` for the agent alone), ``method``,
    ``test_fraction``, ``validation_fraction``, ``groups`` (a game per position,
    or ``None``), ``max_pairs``, ``strength``, ``max_iter``, ``tol``, ``seed``.
    Every row names its ``features``. No wall-clock time is recorded: an artifact
    must not depend on the machine's load (the manifest has the stage's seconds).
    """
    present = np.asarray(payload["present"], dtype=bool)
    head = {"concept": payload["concept"], "family": payload["family"]}
    rows: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    split = _split(payload, present.astype(np.int64))
    train, validation, test = split.train, split.validation, split.test
    miner = components_for(payload["spec"]).miner if payload["method"] == "miner" else None
    index = 0
    for features, folder, layers in _features(payload):
        acts = {layer: load_activations(Path(folder), layer).astype(np.float64) for layer in layers}
        if miner is None:
            try:
                results = probe_layers(
                    acts, present.astype(np.int64), task="classification", strength=payload["strength"],
                    test_fraction=payload["test_fraction"],
                    validation_fraction=payload.get("validation_fraction", 0.0), groups=payload.get("groups"),
                    max_iter=payload["max_iter"], tol=payload.get("tol", 1e-4),
                    rng=np.random.default_rng(payload["seed"]),
                )
            except ProbeError as exc:
                failures.append({**head, "features": features, "layer": None, "reason": str(exc)})
                continue
            for r in results:
                rows.append({
                    **head, "features": features, "layer": r.layer, "test_accuracy": r.test_score,
                    "validation_accuracy": _finite(r.validation_score), "baseline_accuracy": r.baseline_score,
                    "n_train": r.num_train, "n_validation": r.num_validation, "n_test": r.num_test,
                    "train_accuracy": r.train_score, "nonzero": r.nonzero, "dim": r.dim,
                    "converged": r.converged, "iterations": r.iterations,
                })
            continue
        for layer, z in acts.items():
            rng = np.random.default_rng([payload["seed"], index])
            index += 1
            try:
                problem = static_problem(
                    z[train[present[train]]], z[train[~present[train]]], max_pairs=payload["max_pairs"],
                    held_out_fraction=0.0, rng=rng,
                    description=f"known concept {payload['concept']!r} at layer {layer!r} ({features})",
                )
            except ConceptProblemError as exc:
                failures.append({**head, "features": features, "layer": layer, "status": "no_problem",
                                 "reason": str(exc)})
                continue
            mined = miner.mine(problem, rng)
            if mined.vector is None:
                failures.append({**head, "features": features, "layer": layer, "status": mined.status,
                                 "reason": mined.reason})
                continue
            v = np.asarray(mined.vector, dtype=np.float64)
            directions = rng.standard_normal((z.shape[1], RANDOM_DIRECTIONS))
            test_score = _pair_score(z, v, test, present)
            if test_score is None:
                failures.append({**head, "features": features, "layer": layer, "status": "no_test_pairs",
                                 "reason": "the test positions lack a class"})
                continue
            chance = [_pair_score(z, directions[:, j], test, present) for j in range(RANDOM_DIRECTIONS)]
            rows.append({
                **head, "features": features, "layer": layer, "test_accuracy": test_score,
                "validation_accuracy": _pair_score(z, v, validation, present),
                "baseline_accuracy": float(np.mean([c for c in chance if c is not None])),
                "n_train": len(train), "n_validation": len(validation), "n_test": len(test),
                "train_accuracy": _pair_score(z, v, train, present),
                "train_pairs": len(problem.positive), "status": mined.status,
                "nonzero": int(np.count_nonzero(v)), "dim": int(z.shape[1]),
            })
    return {"rows": rows, "failures": failures, "split_by_game": split.by_group}


def _probe_unit(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Probe one concept at every layer of one feature set (a checkpoint, or a baseline).

    Payload: ``labels``, ``task``, ``folder``, ``layers``, ``test_fraction``,
    ``validation_fraction``, ``groups``, ``strength``, ``max_iter``, ``tol``,
    ``seed`` (the same for every checkpoint and baseline, so the split is too).
    """
    folder = Path(payload["folder"])
    acts = {layer: load_activations(folder, layer) for layer in payload["layers"]}
    labels = np.asarray(payload["labels"], dtype=np.float64)
    if payload["task"] == "classification":
        labels = labels.astype(np.int64)
    groups = payload.get("groups")
    try:
        results = probe_layers(
            acts, labels, task=payload["task"], strength=payload["strength"],
            test_fraction=payload["test_fraction"], validation_fraction=payload.get("validation_fraction", 0.0),
            groups=None if groups is None else np.asarray(groups),
            max_iter=payload["max_iter"], tol=payload.get("tol", 1e-4),
            rng=np.random.default_rng(payload["seed"]),
        )
    except ProbeError as exc:
        return {"layers": {}, "reason": str(exc)}
    return {
        "layers": {
            r.layer: {
                "test_score": _finite(r.test_score), "validation_score": _finite(r.validation_score),
                "baseline_score": _finite(r.baseline_score), "train_score": _finite(r.train_score),
                "nonzero": r.nonzero, "converged": r.converged, "iterations": r.iterations,
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


def best_by_validation(cells: Mapping[str, tuple[float | None, float | None]]) -> dict[str, Any] | None:
    """The best of ``cells`` (layer -> (validation score, test score)), chosen on validation.

    Returns ``layer``, ``test`` (its test score) and ``chosen_on``: ``"validation"``,
    or ``"test"`` only when no cell has a validation score (a validation part
    without both classes); ``None`` when no cell has a test score.
    """
    scored = {layer: cell for layer, cell in cells.items() if cell[1] is not None}
    if not scored:
        return None
    validated = {layer: cell for layer, cell in scored.items() if cell[0] is not None}
    if validated:
        layer = max(validated, key=lambda name: validated[name][0])  # type: ignore[arg-type,return-value]
        return {"layer": layer, "test": scored[layer][1], "chosen_on": "validation"}
    layer = max(scored, key=lambda name: scored[name][1])  # type: ignore[arg-type,return-value]
    return {"layer": layer, "test": scored[layer][1], "chosen_on": "test"}


def compare_with_baselines(score: float, baselines: Mapping[str, float | None]) -> dict[str, Any]:
    """``score`` against the best of ``baselines`` (name -> test score; ``None`` for one not run).

    Returns ``baseline`` (the best baseline's name), ``baseline_score`` and
    ``gain`` (``score`` minus it); the name is ``None`` and the gain ``score``'s
    own when no baseline has a score.
    """
    known = {name: value for name, value in baselines.items() if value is not None}
    if not known:
        return {"baseline": None, "baseline_score": None, "gain": None}
    name = max(known, key=lambda key: known[key])
    return {"baseline": name, "baseline_score": known[name], "gain": score - known[name]}


def _summary(
    rows: list[dict[str, Any]], layers: Sequence[str], baseline_rows: Sequence[dict[str, Any]] = (),
    chance: str = "random directions",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each concept's best agent layer (chosen on validation) against its baselines; family means."""
    best: dict[str, Any] = {}
    for concept in dict.fromkeys(row["concept"] for row in rows):
        mine = [r for r in rows if r["concept"] == concept]
        choice = best_by_validation({r["layer"]: (r.get("validation_accuracy"), r["test_accuracy"]) for r in mine})
        if choice is None:
            continue
        chosen = next(r for r in mine if r["layer"] == choice["layer"])
        baselines: dict[str, float | None] = {chance: chosen["baseline_accuracy"]}
        for features in (INPUT, UNTRAINED):
            theirs = [r for r in baseline_rows if r["concept"] == concept and r["features"] == features]
            pick = best_by_validation({r["layer"]: (r.get("validation_accuracy"), r["test_accuracy"]) for r in theirs})
            if pick is not None:
                baselines[features if features == INPUT else f"{UNTRAINED} {pick['layer']}"] = pick["test"]
        best[concept] = {
            "layer": choice["layer"], "test_accuracy": choice["test"],
            "validation_accuracy": chosen.get("validation_accuracy"), "chosen_on": choice["chosen_on"],
            "baselines": baselines, **compare_with_baselines(choice["test"], baselines),
        }
    families: dict[str, dict[str, float]] = {}
    for family in sorted({row["family"] for row in rows}):
        families[family] = {}
        for layer in layers:
            scores = [r["test_accuracy"] for r in rows if r["family"] == family and r["layer"] == layer]
            if scores:
                families[family][layer] = float(np.mean(scores))
    return best, families


def _untrained_checkpoint(ctx: StageContext) -> tuple[Path | None, str]:
    """An untrained net of the agent's architecture, initialised as the train stage's first
    checkpoint is (the same seed key), saved in this stage; or ``None`` and why not."""
    path = ctx.dir / "untrained.pt"
    if path.exists():
        return path, ""
    agent = ctx.components.new_agent(StageContext(ctx.run, "train").seed("init"))
    if not isinstance(agent, TrainableAgent):
        return None, f"agent {ctx.spec.agent.name!r} cannot save its weights, so it has no untrained baseline"
    agent.save(path, step=0, games=0)
    return path, ""


def _input_planes(ctx: StageContext, states: Sequence[Any]) -> Path:
    """The domain's encoding of ``states``, flattened, as the one "layer" ``input`` of a folder."""
    folder = ctx.dir / f"acts-{INPUT}"
    path = folder / "00000.npz"
    if not path.exists():
        planes = np.asarray(ctx.components.domain.encode(states), dtype=np.float32)
        save_npz(path, **{INPUT: planes.reshape(len(states), -1)})
    return folder


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(float(np.mean(known)), 4) if known else None


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
    games_path = ctx.run.path / "collect" / "pool_games.json"
    groups: list[int] | None = None
    if games_path.exists():
        game_of = dict(zip(pool, ctx.read_stage_json("collect", "pool_games.json"), strict=True))
        groups = [int(game_of[text]) for text in positions]
    ctx.write_json("labels.json", {"positions": positions, "labels": labels, "games": groups})

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
    baselines: dict[str, tuple[Path, list[str]]] = {}
    baseline_reasons: dict[str, str] = {}
    if INPUT in cfg.baselines:
        baselines[INPUT] = (_input_planes(ctx, states), [INPUT])
    if UNTRAINED in cfg.baselines:
        untrained, why = _untrained_checkpoint(ctx)
        if untrained is None:
            baseline_reasons[UNTRAINED] = why
        else:
            baselines[UNTRAINED] = (activations_for(ctx, f"acts-{UNTRAINED}", positions, str(untrained), layers),
                                    layers)
    common = {"layers": layers, "test_fraction": cfg.test_fraction,
              "validation_fraction": cfg.validation_fraction, "groups": groups,
              "strength": cfg.probe_strength, "max_iter": cfg.probe_max_iter, "tol": cfg.probe_tol}
    features = [[AGENT, str(folders[final]), layers]] + [
        [name, str(folder), their_layers] for name, (folder, their_layers) in baselines.items()]
    validation = ctx.units("validation", _validation_unit, [
        {**common, "spec": ctx.run.spec_data, "concept": name, "family": known[name][0],
         "present": present[name].astype(int).tolist(), "features": features,
         "method": cfg.validation, "max_pairs": cfg.max_pairs, "seed": ctx.seed("validation", name)}
        for name in usable
    ], desc="known-concept validation")
    all_rows = [row for unit in validation for row in unit["rows"]]
    rows = [row for row in all_rows if row["features"] == AGENT]
    baseline_rows = [row for row in all_rows if row["features"] != AGENT]
    failures = [failure for unit in validation for failure in unit["failures"]]
    chance = "random directions" if cfg.validation == "miner" else "majority class"
    best, families = _summary(rows, layers, baseline_rows, chance)
    miner_name = ctx.spec.miner.name
    method = (
        f"static concepts mined with {miner_name!r} from (present, absent) pairs; accuracy = share "
        "of held-out pairs with v.z+ > v.z- (ties count half); chance = the mean of "
        f"{RANDOM_DIRECTIONS} random Gaussian directions"
        if cfg.validation == "miner" else
        "sparse (L1) logistic probe; accuracy on held-out positions; chance = the majority class"
    )
    split_by_game = bool(validation) and all(unit["split_by_game"] for unit in validation)
    ctx.write_json("known_concepts.json", {
        "checkpoint": Path(series[final].path).stem, "method": method, "rows": rows,
        "baseline_rows": baseline_rows, "baselines": sorted(baselines), "baselines_missing": baseline_reasons,
        "best": best, "families": families, "failures": failures, "skipped": skipped,
        "split_by_game": split_by_game,
    })

    feature_sets: list[tuple[str, str, list[str]]] = [
        (Path(series[i].path).stem, str(folders[i]), layers) for i in indices
    ] + [(name, str(folder), their_layers) for name, (folder, their_layers) in baselines.items()]
    caps = {name: cfg.probe_max_iter if tasks[name] == "classification" else cfg.probe_max_passes
            for name in usable}
    payloads = [
        {**common, "labels": labels[name], "task": tasks[name], "folder": folder, "layers": their_layers,
         "max_iter": caps[name], "seed": ctx.seed("probing", name)}
        for name in usable for _, folder, their_layers in feature_sets
    ]
    probes = ctx.units("probes", _probe_unit, payloads, desc="probes (concept x checkpoint or baseline)")
    per_concept = len(feature_sets)
    score: list[list[list[float | None]]] = []
    held: list[list[list[float | None]]] = []
    baseline: list[list[list[float | None]]] = []
    base_scores: dict[str, dict[str, list[list[float | None]]]] = {
        name: {"score": [], "validation": []} for name in baselines}
    probe_failures: dict[str, str] = {}
    best_probe: dict[str, Any] = {}
    for c, name in enumerate(usable):
        units = probes[c * per_concept:(c + 1) * per_concept]
        for (label, _, _), unit in zip(feature_sets, units, strict=True):
            if unit["reason"]:
                probe_failures[f"{name} @ {label}"] = unit["reason"]
        score.append([])
        held.append([])
        baseline.append([])
        for k in range(len(indices)):
            cells = units[k]["layers"]
            score[-1].append([cells.get(layer, {}).get("test_score") for layer in layers])
            held[-1].append([cells.get(layer, {}).get("validation_score") for layer in layers])
            baseline[-1].append([cells.get(layer, {}).get("baseline_score") for layer in layers])
        trivial = "majority class" if tasks[name] == "classification" else "training mean"
        last = units[len(indices) - 1]["layers"]
        choice = best_by_validation({
            layer: (last[layer].get("validation_score"), last[layer].get("test_score")) for layer in last})
        references: dict[str, float | None] = {}
        if choice is not None:
            references[trivial] = last[choice["layer"]].get("baseline_score")
        for (label, _, their_layers), unit in zip(feature_sets[len(indices):], units[len(indices):], strict=True):
            cells = unit["layers"]
            base_scores[label]["score"].append([cells.get(layer, {}).get("test_score") for layer in their_layers])
            base_scores[label]["validation"].append(
                [cells.get(layer, {}).get("validation_score") for layer in their_layers])
            pick = best_by_validation({
                layer: (cells[layer].get("validation_score"), cells[layer].get("test_score")) for layer in cells})
            if pick is not None:
                references[label if label == INPUT else f"{label} {pick['layer']}"] = pick["test"]
        if choice is not None:
            best_probe[name] = {"layer": choice["layer"], "score": choice["test"],
                                "chosen_on": choice["chosen_on"], "baselines": references,
                                **compare_with_baselines(choice["test"], references)}
    fits = [cell for unit in probes for cell in unit["layers"].values()]
    at_cap = sum(
        1 for payload, unit in zip(payloads, probes, strict=True)
        for cell in unit["layers"].values() if cell["iterations"] >= payload["max_iter"]
    )
    ctx.write_json("probing.json", {
        "concepts": usable, "checkpoints": [Path(series[i].path).stem for i in indices],
        "checkpoint_steps": [series[i].step for i in indices], "layers": layers, "score": score,
        "validation": held, "baseline": baseline, "baselines": base_scores,
        "baseline_layers": {name: their_layers for name, (_, their_layers) in baselines.items()},
        "baselines_missing": baseline_reasons, "best": best_probe,
        "task": tasks, "families": {name: known[name][0] for name in usable},
        "score_meaning": {"classification": "held-out accuracy", "regression": "held-out R^2"},
        "split_by_game": groups is not None, "failures": probe_failures, "skipped": skipped,
    })
    gains = {task: [b["gain"] for n, b in best_probe.items() if tasks[n] == task]
             for task in ("classification", "regression")}
    return {
        "concepts": len(names),
        "usable": len(usable),
        "skipped_concepts": len(skipped),
        "positions": len(positions),
        "split_by_game": groups is not None,
        "validation_method": cfg.validation,
        "validation_failures": len(failures),
        "mean_best_accuracy": _mean([b["test_accuracy"] for b in best.values()]),
        "validation_gain_over_baseline": _mean([b["gain"] for b in best.values()]),
        "probes": len(fits),
        "probe_gain_over_baseline": _mean(gains["classification"]),
        "probe_gain_over_baseline_r2": _mean(gains["regression"]),
        "probe_concepts_above_baseline": sum(1 for b in best_probe.values() if (b["gain"] or 0.0) > 0),
        "probe_fits_at_cap": at_cap,
    }
