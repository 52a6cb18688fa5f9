"""Known-concept validation against its number of training pairs, on a finished probe stage.

The probe stage's validation mines one static concept per known concept and
layer from at most ``max_pairs`` (present, absent) pairs, and the miner's LP
time grows faster than linearly in the pairs. :func:`bench_probe_pairs` reruns
exactly that validation on the agent's layers (the stage's own unit function,
its seeds, labels, game-grouped split and activations, read from a run directory
whose probe stage has run; not its baselines) at several pair budgets, and
reports for each the seconds it took and the known-concept figures it reaches:
the mean held-out pair accuracy at each concept's best layer (chosen on the
validation games), per family and overall, and how far each concept's best
accuracy moved from the stage's own (``known_concepts.json``). A move counts as
outside the figure's interval when it exceeds 1.96 standard errors of the
stage's accuracy: held-out pair accuracy is an AUC, whose standard error follows
Hanley and McNeil (1982) from the accuracy and the numbers of held-out positions
with and without the concept. Where the figures stop moving, more pairs buy
nothing but time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.errors import ParamsError, RunDirError
from conceptlab.executors import Executor, SerialExecutor, run_all
from conceptlab.pipeline import Components, RunContext, StageContext
from conceptlab.plugins import get_registry
from conceptlab.rundir import RunDir, read_json
from conceptlab.spec import resolve_spec, spec_from_dict
from conceptlab.stages.probe import _split, _summary, _usable, _validation_unit

__all__ = ["bench_probe_pairs"]


def auc_standard_error(accuracy: float, n_present: int, n_absent: int) -> float:
    """Hanley and McNeil's standard error of a pair accuracy (AUC) from ``n_present`` x ``n_absent`` pairs."""
    a = min(max(accuracy, 1e-9), 1.0 - 1e-9)
    q1, q2 = a / (2.0 - a), 2.0 * a * a / (1.0 + a)
    variance = (a * (1 - a) + (n_present - 1) * (q1 - a * a) + (n_absent - 1) * (q2 - a * a)) / (n_present * n_absent)
    return float(np.sqrt(max(variance, 0.0)))


def _payloads(run_path: Path, executor: Executor, max_pairs: int) -> tuple[list[dict[str, Any]], list[str]]:
    """The probe stage's validation payloads for ``max_pairs``, and the layers."""
    spec_data = read_json(run_path / "spec.json")
    spec = spec_from_dict(spec_data, source=str(run_path / "spec.json"))
    registry = get_registry()
    components = Components(resolve_spec(spec, registry), registry)
    run = RunContext(spec, RunDir(run_path, spec), registry, components, executor, progress=False)
    ctx = StageContext(run, "probe")
    cfg = spec.stages.probe
    labelled = read_json(run_path / "probe" / "labels.json")
    known = dict(components.domain.known_concepts())
    layers = list(cfg.layers) or list(components.layer_names)
    # the checkpoints' folders are numbered (acts-000, ...); acts-input and acts-untrained are baselines
    finals = sorted(p for p in (run_path / "probe").glob("acts-*") if p.name[len("acts-"):].isdigit())
    if not finals:
        raise RunDirError(f"{run_path}: no probe activations (acts-*): run the probe stage first")
    folder = str(finals[-1])
    states = [components.domain.from_text(text) for text in labelled["positions"]]
    payloads = []
    for name, values in labelled["labels"].items():
        # as the stage decides it: a predicate is a concept when it returns bools, else a quantity
        is_bool = all(isinstance(known[name][1](state), (bool, np.bool_)) for state in states)
        _, present, _ = _usable(np.asarray(values), is_bool, cfg.min_examples)
        if present is None:
            continue
        payloads.append({
            "layers": layers, "test_fraction": cfg.test_fraction, "validation_fraction": cfg.validation_fraction,
            "groups": labelled.get("games"), "strength": cfg.probe_strength, "max_iter": cfg.probe_max_iter,
            "tol": cfg.probe_tol, "spec": run.spec_data, "concept": name,
            "family": known[name][0], "present": present.astype(int).tolist(), "folder": folder,
            "method": "miner", "max_pairs": max_pairs, "seed": ctx.seed("validation", name),
        })
    return payloads, layers


def bench_probe_pairs(
    run_dir: str | Path, pair_budgets: Sequence[int], *, executor: Executor | None = None
) -> list[dict[str, Any]]:
    """Known-concept validation of a finished probe stage at each of ``pair_budgets``.

    Args:
        run_dir: A run directory whose probe stage has run (its labels and activations are reused).
        pair_budgets: Values of ``stages.probe.max_pairs`` to try.
        executor: Runs the validation units (default: in this process).

    Returns:
        One row per budget, in the order given: ``max_pairs``, ``seconds``,
        ``mean_best_accuracy``, ``families`` (family -> mean best accuracy),
        ``max_abs_change`` and ``mean_abs_change`` (each concept's best accuracy
        against the largest budget's), ``best`` (concept -> best accuracy).

    Raises:
        ParamsError: No budgets, or a budget below 1.
    """
    if not pair_budgets or min(pair_budgets) < 1:
        raise ParamsError(f"bench_probe_pairs: pair budgets must be >= 1, got {list(pair_budgets)!r}")
    executor = executor or SerialExecutor()
    path = Path(run_dir)
    stage = read_json(path / "probe" / "known_concepts.json")
    reference = {name: best["test_accuracy"] for name, best in stage["best"].items()}
    rows = []
    for budget in pair_budgets:
        payloads, layers = _payloads(path, executor, budget)
        start = time.perf_counter()
        units = run_all(executor, _validation_unit, payloads)
        seconds = time.perf_counter() - start
        results = [row for unit in units for row in unit["rows"]]
        best, _ = _summary(results, layers)
        families: dict[str, list[float]] = {}
        for payload in payloads:
            if payload["concept"] in best:
                families.setdefault(payload["family"], []).append(best[payload["concept"]]["test_accuracy"])
        rows.append({
            "max_pairs": budget,
            "seconds": seconds,
            "mean_best_accuracy": float(np.mean([b["test_accuracy"] for b in best.values()])),
            "families": {family: float(np.mean(scores)) for family, scores in sorted(families.items())},
            "best": {name: b["test_accuracy"] for name, b in best.items()},
        })
    payloads, _ = _payloads(path, executor, max(pair_budgets))
    errors = {}
    for payload in payloads:
        present = np.asarray(payload["present"], dtype=bool)
        test = _split(payload, present.astype(np.int64)).test
        n_present = int(present[test].sum())
        if payload["concept"] in reference:
            errors[payload["concept"]] = auc_standard_error(
                reference[payload["concept"]], n_present, len(test) - n_present)
    for row in rows:
        changes = {name: row["best"][name] - reference[name] for name in reference if name in row["best"]}
        magnitudes = [abs(c) for c in changes.values()]
        row["max_abs_change"] = float(max(magnitudes)) if magnitudes else float("nan")
        row["mean_abs_change"] = float(np.mean(magnitudes)) if magnitudes else float("nan")
        row["outside_interval"] = sorted(
            name for name, change in changes.items() if abs(change) > 1.96 * errors.get(name, 0.0))
        row["stage_mean_best_accuracy"] = float(np.mean(list(reference.values())))
    return rows
