"""Recovery of a known concept: does the pipeline find, and keep, a concept known to be there?

A domain with a concept planted in its rules names it among its known concepts
(:meth:`~conceptlab.interfaces.Domain.known_concepts`, a predicate on states).
After a run's train, collect, mine, teach and novelty stages, the pool positions
are labelled with the predicate and every mined concept's score ``v . z`` on
them is read as a classifier of the label:

- ``recall_auc``: the best surviving concept's area under the ROC curve (the
  chance that a position where the predicate holds scores above one where it
  does not; 0.5 is chance, the direction of ``v`` counts);
- ``prototype_precision``: the share of that concept's prototypes where the
  predicate holds: the rollout positions whose rollouts satisfy it when the teach
  stage chose prototypes by the paper's rule (``teach/rollout_support.json``),
  else its top pool positions by ``v . z``, as many as the verdict used
  (``prototype_rule`` says which);
- ``surviving``, ``surviving_planted``, ``planted_share_of_surviving``: concepts
  that passed both filters, those of them whose AUC reaches the threshold, and
  their share of the survivors (the precision of discovery);
- ``null_surviving_expected``: the surviving count expected of as many random
  directions, from the nulls of the teach and novelty stages (their pass rates
  multiplied, times the candidates assessed), with a 95% binomial interval;
- the verdicts of both filters on the candidate that best matches the planted
  concept, and on the one that best matches a concept of the rules both players
  share, which the novelty filter should reject.

:func:`recovery_figures` reads a finished run; ``conceptlab bench recovery``
runs the stages first, and the same on a control game where nothing is planted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from conceptlab.errors import ComponentError, RunDirError
from conceptlab.interfaces import Domain
from conceptlab.run.store import read_candidates
from conceptlab.rundir import read_json

__all__ = ["RECOVERY_STAGES", "auc_baselines", "check_concepts", "null_surviving", "recovery_figures", "roc_auc"]

RECOVERY_STAGES: tuple[str, ...] = ("train", "collect", "mine", "teach", "novelty")
"""The stages whose artifacts the recovery figures read."""


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve of ``scores`` for boolean ``labels`` (ties count one half).

    The Mann-Whitney statistic over ranks; ``None`` when either class is empty.
    """
    from scipy.stats import rankdata

    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return None
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def null_surviving(assessed: int, teach_figures: Mapping[str, Any],
                   novelty_figures: Mapping[str, Any]) -> dict[str, Any]:
    """The surviving count expected of ``assessed`` random directions, and its 95% interval.

    The probability of surviving is the null's teachable share (random sparse
    directions, at the run's false-discovery cutoff) times its novel share
    (random sparse directions against the reference); the count is binomial. The
    interval also carries the uncertainty of the two shares, each measured on a
    few directions: its low end is the binomial 2.5% quantile at the product of
    the shares' lower interval bounds, its high end the 97.5% quantile at the
    product of their upper bounds (a share measured as 0 of 20 still allows a
    few survivors). All ``None`` when a stage measured no null.
    """
    from scipy.stats import binom

    teach = teach_figures.get("null_teachable_share") or {}
    novel = novelty_figures.get("null_novel_share") or {}
    if teach.get("share") is None or novel.get("share") is None:
        return {"null_surviving_expected": None, "null_surviving_ci_low": None,
                "null_surviving_ci_high": None, "null_survival_rate": None}
    rate = float(teach["share"]) * float(novel["share"])
    low = float(teach.get("ci_low", teach["share"])) * float(novel.get("ci_low", novel["share"]))
    high = float(teach.get("ci_high", teach["share"])) * float(novel.get("ci_high", novel["share"]))
    return {
        "null_survival_rate": round(rate, 6),
        "null_surviving_expected": round(assessed * rate, 4),
        "null_surviving_ci_low": int(binom.ppf(0.025, assessed, low)),
        "null_surviving_ci_high": int(binom.ppf(0.975, assessed, high)),
    }


def auc_baselines(activations: np.ndarray, labels: np.ndarray, *, directions: int, nonzeros: int,
                  rng: np.random.Generator, groups: Sequence[int] | None = None, folds: int = 5) -> dict[str, Any]:
    """What a mined concept's AUC is to be read against, on one layer's pool activations.

    - ``null_best_auc`` / ``null_median_auc``: the best and the median AUC of
      ``directions`` random sparse directions with ``nonzeros`` non-zero normal
      weights on random units (the best of as many as there are candidates is what
      the best candidate's AUC is compared with);
    - ``probe_auc``: the ceiling, a logistic-regression probe on the whole layer,
      cross-validated over ``folds`` folds (by game when ``groups`` are given, so
      no game's positions are on both sides); ``None`` when a class has fewer
      positions than folds.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    rows = np.asarray(activations, dtype=np.float64).reshape(len(labels), -1)
    dim = rows.shape[1]
    aucs = []
    for _ in range(directions):
        vector = np.zeros(dim)
        units = rng.choice(dim, size=max(1, min(nonzeros, dim)), replace=False)
        vector[units] = rng.normal(size=len(units))
        aucs.append(roc_auc(rows @ vector, labels))
    rated = [a for a in aucs if a is not None]
    out: dict[str, Any] = {
        "null_directions": directions,
        "null_best_auc": _finite(max(rated)) if rated else None,
        "null_median_auc": _finite(float(np.median(rated))) if rated else None,
        "probe_auc": None,
    }
    if min(int(labels.sum()), int((~labels).sum())) < folds:
        return out
    if groups is not None and len(set(groups)) >= folds:
        splits = GroupKFold(n_splits=folds).split(rows, labels, groups)
    else:
        splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(rows, labels)
    scored = np.full(len(labels), np.nan)
    for train, test in splits:
        if labels[train].all() or not labels[train].any():
            continue
        scaler = StandardScaler().fit(rows[train])
        model = LogisticRegression(C=0.1, max_iter=2000).fit(scaler.transform(rows[train]), labels[train])
        scored[test] = model.decision_function(scaler.transform(rows[test]))
    kept = ~np.isnan(scored)
    out["probe_auc"] = _finite(roc_auc(scored[kept], labels[kept])) if kept.any() else None
    return out


def _predicate(domain: Domain[Any], concept: str) -> Any:
    known = domain.known_concepts()
    if concept not in known:
        raise ComponentError(
            f"domain {domain.name!r} has no known concept {concept!r} "
            f"(it names: {', '.join(sorted(known)) or 'none'})"
        )
    return known[concept][1]


def check_concepts(domain: Domain[Any], *concepts: str | None) -> None:
    """Refuse, before any work, a concept that ``domain`` does not name among its known concepts.

    Raises:
        ComponentError: Naming the concept and the ones the domain has.
    """
    for concept in concepts:
        if concept is not None:
            _predicate(domain, concept)


def _labels(domain: Domain[Any], states: Sequence[Any], concept: str) -> np.ndarray:
    predicate = _predicate(domain, concept)
    values = [predicate(state) for state in states]
    if any(not isinstance(v, (bool, np.bool_)) for v in values):
        raise ComponentError(f"known concept {concept!r} of domain {domain.name!r} is a quantity, not a predicate")
    return np.asarray(values, dtype=bool)


def _verdict(row: Mapping[str, Any] | None, keys: Sequence[str]) -> dict[str, Any] | None:
    """A verdict's outcome and a few of its scores (``None``: the filter did not assess it)."""
    if row is None:
        return None
    scores = row.get("scores", {})
    found = {k: scores[k] for k in keys if k in scores}
    # a score the filter could not compute (NaN) is written as null: the JSON stays standard
    return {"passed": bool(row["passed"]),
            **{k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in found.items()}}


TEACH_KEYS = ("p_value", "effect", "improvement", "num_prototypes", "p_null_sparse")
NOVELTY_KEYS = ("fraction_positive", "mean_score", "min_score")


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def recovery_figures(run: str | Path, domain: Domain[Any], concept: str, *,
                     shared_concept: str | None = None, auc_threshold: float = 0.9,
                     seed: int = 0) -> dict[str, Any]:
    """The recovery figures of a run whose train to novelty stages have finished.

    Args:
        run: The run directory.
        domain: The run's domain, which names ``concept`` among its known concepts.
        concept: The planted concept: a boolean known concept of ``domain``.
        shared_concept: A boolean known concept both players have (a rule of the
            standard game); its best-matching candidate's verdicts are reported too.
        auc_threshold: The AUC from which a concept counts as the planted one.
        seed: Draws the random directions of the AUC's null (:func:`auc_baselines`).

    Raises:
        RunDirError: A stage the figures read has not finished in ``run``.
        ComponentError: ``concept`` is not a boolean known concept of ``domain``.
    """
    from conceptlab.stages.common import load_activations

    run = Path(run)
    manifest_path = run / "manifest.json"
    manifest = read_json(manifest_path) if manifest_path.is_file() else {"stages": {}}
    for stage in RECOVERY_STAGES:
        if manifest["stages"].get(stage, {}).get("status") != "finished":
            raise RunDirError(f"stage {stage!r} has not finished in {str(run)!r}; run it first")
    figures_of = {stage: manifest["stages"][stage].get("figures", {}) for stage in RECOVERY_STAGES}

    pool = [domain.from_text(text) for text in read_json(run / "collect" / "pool.json")]
    labels = _labels(domain, pool, concept)
    shared_labels = _labels(domain, pool, shared_concept) if shared_concept else None
    candidates = read_candidates(run)
    candidates = [c for c in candidates if c["vector"] is not None]
    teach = {v["concept_id"]: v for v in read_json(run / "teach" / "summary.json")}
    novelty = {v["concept_id"]: v for v in read_json(run / "novelty" / "summary.json")}

    activations: dict[str, np.ndarray] = {}
    scores: dict[str, np.ndarray] = {}
    for record in candidates:
        layer = record["layer"]
        if layer not in activations:
            rows = load_activations(run / "collect" / "pool_acts", layer)
            activations[layer] = np.asarray(rows, dtype=np.float64).reshape(len(pool), -1)
        scores[record["id"]] = activations[layer] @ np.asarray(record["vector"], dtype=np.float64).reshape(-1)
    auc = {cid: roc_auc(s, labels) for cid, s in scores.items()}
    surviving = [cid for cid in scores
                 if teach.get(cid, {}).get("passed") and novelty.get(cid, {}).get("passed")]
    planted = [cid for cid in surviving if (auc[cid] or 0.0) >= auc_threshold]

    def best(ids: Sequence[str], aucs: Mapping[str, float | None]) -> str | None:
        rated = [cid for cid in ids if aucs[cid] is not None]
        return max(rated, key=lambda cid: aucs[cid]) if rated else None  # type: ignore[arg-type,return-value]

    support_path = run / "teach" / "rollout_support.json"
    support = read_json(support_path)["support"] if support_path.is_file() else None
    rollout_labels = (_labels(domain, [domain.from_text(r["state"]) for r in read_json(run / "collect" / "rollouts.json")],
                              concept) if support is not None else None)

    def prototype_share(cid: str) -> float | None:
        if rollout_labels is not None:  # the paper's rule: the positions whose rollouts satisfy the concept
            found = support.get(cid, [])  # type: ignore[union-attr]
            return float(rollout_labels[found].mean()) if found else None
        count = int(teach.get(cid, {}).get("scores", {}).get("num_prototypes", 0)) or max(1, len(pool) // 40)
        top = np.argsort(-scores[cid], kind="stable")[:count]
        return float(labels[top].mean())

    recall = best(surviving, auc)
    candidate = best(list(scores), auc)
    baselines: dict[str, Any] = {}
    if candidate is not None:
        layer = next(r["layer"] for r in candidates if r["id"] == candidate)
        nonzeros = int(np.median([np.count_nonzero(np.asarray(r["vector"])) for r in candidates]))
        games_path = run / "collect" / "pool_games.json"
        groups = read_json(games_path) if games_path.is_file() else None
        found = auc_baselines(activations[layer], labels, directions=len(scores), nonzeros=nonzeros,
                              rng=np.random.default_rng(seed), groups=groups)
        baselines = {
            "null_best_auc": found["null_best_auc"], "null_median_auc": found["null_median_auc"],
            "null_auc_directions": found["null_directions"], "probe_auc": found["probe_auc"],
            "baseline_layer": layer,
        }
    out: dict[str, Any] = {
        "concept": concept,
        "pool_positions": len(pool),
        "predicate_share": _finite(float(labels.mean())) if len(pool) else None,
        "candidates": len(candidates),
        "surviving": len(surviving),
        "surviving_planted": len(planted),
        "planted_share_of_surviving": round(len(planted) / len(surviving), 4) if surviving else None,
        "auc_threshold": auc_threshold,
        "recall_auc": _finite(auc[recall]) if recall else None,
        "recall_concept": recall,
        "prototype_rule": "rollouts" if support is not None else "top",
        "prototype_precision": _finite(prototype_share(recall)) if recall else None,
        "best_candidate_auc": _finite(auc[candidate]) if candidate else None,
        "best_candidate": candidate,
        "best_candidate_prototype_precision": _finite(prototype_share(candidate)) if candidate else None,
        "median_candidate_auc": _finite(float(np.median([a for a in auc.values() if a is not None])))
        if any(a is not None for a in auc.values()) else None,
        **baselines,
        "planted_verdicts": {
            "teachability": _verdict(teach.get(candidate), TEACH_KEYS) if candidate else None,
            "novelty": _verdict(novelty.get(candidate), NOVELTY_KEYS) if candidate else None,
        },
        **null_surviving(int(figures_of["teach"].get("assessed", 0)), figures_of["teach"], figures_of["novelty"]),
    }
    if shared_labels is not None:
        shared_auc = {cid: roc_auc(s, shared_labels) for cid, s in scores.items()}
        shared = best(list(scores), shared_auc)
        out.update({
            "shared_concept": shared_concept,
            "shared_best_auc": _finite(shared_auc[shared]) if shared else None,
            "shared_candidate": shared,
            "shared_verdicts": {
                "teachability": _verdict(teach.get(shared), TEACH_KEYS) if shared else None,
                "novelty": _verdict(novelty.get(shared), NOVELTY_KEYS) if shared else None,
            },
        })
    return out
