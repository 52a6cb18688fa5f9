"""Sparse linear probes: which layer computes a known concept (McGrath et al. 2022).

For each layer, an L1-regularised linear model predicts a concept label (an
engine evaluation term, a board predicate) from the layer's activations, and is
scored on held-out positions. Run it once per checkpoint with the same ``rng``
seed (the split depends only on the positions, their groups and the seed) to get
the "what, when and where" picture: which concept is linearly decodable in which
layer, and when in training it appears. Labels come from the caller.

Held out means held out: given each position's group (its game),
:func:`split_positions` keeps every group on one side of the split, so no
position has a near-twin from its own game on the other side; a validation part
lets the caller choose a best layer without looking at the test scores.

Every fit is bounded: a logistic probe (liblinear) stops after ``max_iter``
Newton steps, a Lasso probe after ``max_iter`` coordinate-descent passes, and
each result says whether the solver converged, how many iterations it took and
how many seconds.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from conceptlab.errors import ConceptlabError

__all__ = ["ProbeError", "ProbeResult", "ProbeSplit", "probe_layers", "probe_rows", "split_positions"]

Task = Literal["auto", "regression", "classification"]


class ProbeError(ConceptlabError):
    """Activations and labels that cannot be probed (sizes, too few positions)."""


@dataclass(frozen=True)
class ProbeResult:
    """How well one layer's activations predict a concept, on held-out positions."""

    layer: str
    task: str
    """``"regression"`` (score: R^2) or ``"classification"`` (score: accuracy)."""
    train_score: float
    test_score: float
    baseline_score: float
    """The test score of predicting the training mean (regression) or majority class."""
    nonzero: int
    """Number of activation dimensions the sparse probe uses."""
    dim: int
    num_train: int
    num_test: int
    converged: bool
    validation_score: float = float("nan")
    """The score on the validation part (NaN without one): what a best layer is chosen by."""
    num_validation: int = 0
    iterations: int = 0
    """Solver iterations used (Newton steps for a logistic probe, passes for Lasso)."""
    seconds: float = 0.0
    """Wall seconds of the fit."""


@dataclass(frozen=True)
class ProbeSplit:
    """Row indices of the training, validation and test parts of one probing problem."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    by_group: bool
    """Whether whole groups (games) were kept on one side; ``False``: split at random."""


SPLIT_DRAWS = 20
"""Group orders tried for a split whose every part holds each class (the first is kept otherwise)."""


def _part_sizes(n: int, validation_fraction: float, test_fraction: float) -> tuple[int, int]:
    n_test = min(max(1, round(test_fraction * n)), n - 2)
    n_validation = min(max(1, round(validation_fraction * n)), n - 2 - n_test) if validation_fraction > 0 else 0
    return n_test, n_validation


def split_positions(
    n: int,
    *,
    groups: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    validation_fraction: float = 0.0,
    test_fraction: float = 0.2,
    rng: np.random.Generator,
) -> ProbeSplit:
    """Training, validation and test rows of ``n`` positions.

    With ``groups`` (one id per position, e.g. its game) and enough groups for
    every part, whole groups go to the test part, in a random order, until it
    holds ``test_fraction`` of the positions, then to the validation part; the
    rest train. With class ``labels``, up to :data:`SPLIT_DRAWS` group orders are
    tried for one whose every part holds each class. Without groups (or with too
    few), positions are split at random.

    Raises:
        ProbeError: Fractions outside (0, 1), or that leave nothing to train on.
    """
    if not 0.0 < test_fraction < 1.0 or not 0.0 <= validation_fraction < 1.0:
        raise ProbeError(
            f"test_fraction must be in (0, 1) and validation_fraction in [0, 1), "
            f"got {test_fraction!r} and {validation_fraction!r}"
        )
    if test_fraction + validation_fraction >= 1.0:
        raise ProbeError(
            f"test_fraction + validation_fraction = {test_fraction + validation_fraction:g} leaves no "
            "positions to train on"
        )
    n_test, n_validation = _part_sizes(n, validation_fraction, test_fraction)
    parts = 3 if n_validation else 2
    if groups is not None:
        groups = np.asarray(groups).reshape(-1)
        if len(groups) != n:
            raise ProbeError(f"{len(groups)} group ids for {n} positions")
        unique = np.unique(groups)
        if len(unique) >= parts:
            first: ProbeSplit | None = None
            for _ in range(SPLIT_DRAWS if labels is not None else 1):
                split = _group_split(groups, rng.permutation(unique), n_test, n_validation)
                first = first or split
                if labels is None or _every_part_has_every_class(split, np.asarray(labels)):
                    return split
            assert first is not None
            return first
    order = rng.permutation(n)
    return ProbeSplit(
        train=order[n_test + n_validation:], validation=order[n_test:n_test + n_validation],
        test=order[:n_test], by_group=False,
    )


def _group_split(groups: np.ndarray, order: np.ndarray, n_test: int, n_validation: int) -> ProbeSplit:
    """Whole groups, in ``order``, to the test part, then the validation part; at least one group trains."""
    sides: list[list[int]] = [[], []]
    counts = [0, 0]
    targets = [n_test, n_validation]
    side = 0
    for game in order[:-1]:
        while side < 2 and counts[side] >= targets[side]:
            side += 1
        if side == 2:
            break
        sides[side].append(game)
        counts[side] += int(np.sum(groups == game))
    test = np.flatnonzero(np.isin(groups, sides[0]))
    validation = np.flatnonzero(np.isin(groups, sides[1]))
    train = np.flatnonzero(~np.isin(groups, sides[0] + sides[1]))
    return ProbeSplit(train=train, validation=validation, test=test, by_group=True)


def _every_part_has_every_class(split: ProbeSplit, labels: np.ndarray) -> bool:
    classes = np.unique(labels)
    return all(
        len(part) == 0 or np.array_equal(np.unique(labels[part]), classes)
        for part in (split.train, split.validation, split.test)
    )


def _resolve_task(labels: np.ndarray, task: Task) -> str:
    if task != "auto":
        return task
    values = np.unique(labels)
    integral = np.all(np.mod(values, 1) == 0) if np.issubdtype(values.dtype, np.number) else True
    return "classification" if integral and len(values) <= 10 else "regression"


def _fit_one(x_train: np.ndarray, y_train: np.ndarray, task: str, strength: float,
             seed: int, max_iter: int, tol: float) -> tuple[Any, bool, int]:
    """The fitted model, whether it converged, and the solver iterations it used."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso, LogisticRegression

    if task == "regression":
        model: Any = Lasso(alpha=strength, max_iter=max_iter, tol=tol)
    else:
        # liblinear's coordinate descent fits a binary L1 probe on thousands of
        # dimensions in about a second; saga took 30-80 s on the same (and did not
        # converge). saga remains for more than two classes. liblinear's max_iter
        # counts Newton steps, each of at most 1,000 coordinate-descent passes: a
        # probe that does not converge costs at most max_iter of them.
        binary = len(np.unique(y_train)) <= 2
        model = LogisticRegression(C=1.0 / strength, l1_ratio=1.0,
                                   solver="liblinear" if binary else "saga",
                                   max_iter=max_iter, tol=tol, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x_train, y_train)
    iterations = int(np.max(np.atleast_1d(model.n_iter_)))
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught) and iterations < max_iter
    return model, converged, iterations


def _labels_for(y: np.ndarray, task: str) -> np.ndarray:
    """Labels in the precision the model fits in (float32 for regression, see :func:`probe_layers`)."""
    return y.astype(np.float32) if task == "regression" else y


def _baseline(y_train: np.ndarray, y_test: np.ndarray, task: str) -> float:
    if task == "regression":
        spread = float(np.sum((y_test - y_test.mean()) ** 2))
        if spread == 0.0:
            return float("nan")
        return 1.0 - float(np.sum((y_test - y_train.mean()) ** 2)) / spread
    values, counts = np.unique(y_train, return_counts=True)
    return float(np.mean(y_test == values[np.argmax(counts)]))


def probe_layers(
    activations: Mapping[str, np.ndarray],
    labels: np.ndarray,
    *,
    task: Task = "auto",
    strength: float = 0.01,
    test_fraction: float = 0.2,
    validation_fraction: float = 0.0,
    groups: np.ndarray | None = None,
    standardize: bool = True,
    max_iter: int = 2000,
    tol: float = 1e-4,
    rng: np.random.Generator,
) -> list[ProbeResult]:
    """Fit and score one sparse probe per layer, all on the same split.

    Args:
        activations: Layer -> ``(positions, ...)`` activations of one agent (checkpoint),
            or any other named features of the same positions (e.g. the input planes).
        labels: ``(positions,)`` concept values (regression) or classes.
        task: ``"auto"`` picks classification for at most 10 integer-valued labels.
        strength: L1 strength: Lasso's ``alpha`` (regression) or ``1 / C`` (logistic).
        test_fraction: Share of positions held out for ``test_score``.
        validation_fraction: Share held out for ``validation_score`` (0: none).
        groups: One group id (e.g. game) per position: no group on two sides of the split
            (see :func:`split_positions`).
        standardize: Scale each activation dimension (and a regression label) by its
            training mean and spread. Regression probes (Lasso) are fitted in float32.
        max_iter: Solver iterations per probe at most: Newton steps (logistic) or
            coordinate-descent passes (Lasso).
        tol: The solver's stopping tolerance.
        rng: Draws the split (and seeds the logistic solver).

    Raises:
        ProbeError: A layer's rows do not match the labels, or there are too few positions.
    """
    y = np.asarray(labels).reshape(-1)
    if len(y) < 4:
        raise ProbeError(f"probing needs at least 4 labelled positions, got {len(y)}")
    if strength <= 0:
        raise ProbeError(f"strength must be positive, got {strength!r}")
    if max_iter < 1 or tol <= 0:
        raise ProbeError(f"max_iter must be >= 1 and tol positive, got {max_iter!r} and {tol!r}")
    kind = _resolve_task(y, task)
    y = y.astype(np.float64) if kind == "regression" else y
    split = split_positions(
        len(y), groups=groups, labels=y if kind == "classification" else None,
        validation_fraction=validation_fraction, test_fraction=test_fraction, rng=rng,
    )
    train, validation, test = split.train, split.validation, split.test
    if kind == "classification" and len(np.unique(y[train])) < 2:
        raise ProbeError("the training split has a single class; a classifier cannot be probed")
    seed = int(rng.integers(2**31 - 1))
    if kind == "regression" and standardize:
        # R^2 is unchanged by an affine map of the labels, and the L1 strength then
        # means the same for a quantity counted in units or in hundreds
        spread = float(y[train].std())
        y = (y - y[train].mean()) / (spread if spread > 0 else 1.0)
    results = []
    for layer, acts in activations.items():
        x = np.asarray(acts, dtype=np.float64)
        x = x.reshape(x.shape[0], -1)
        if len(x) != len(y):
            raise ProbeError(f"layer {layer!r} has {len(x)} rows for {len(y)} labels")
        x_train, x_validation, x_test = x[train], x[validation], x[test]
        if standardize:
            mean, std = x_train.mean(axis=0), x_train.std(axis=0)
            std[std == 0] = 1.0
            x_train, x_validation, x_test = ((part - mean) / std for part in (x_train, x_validation, x_test))
        if kind == "regression":
            # Lasso's coordinate descent runs in the data's precision: float32 is 2.5-3x faster
            # on layers of thousands of dimensions, with the same held-out R^2 to 4 decimals
            x_train, x_validation, x_test = (part.astype(np.float32) for part in (x_train, x_validation, x_test))
        start = time.perf_counter()
        model, converged, iterations = _fit_one(
            x_train, _labels_for(y[train], kind), kind, strength, seed, max_iter, tol)
        seconds = time.perf_counter() - start
        results.append(ProbeResult(
            layer=layer, task=kind,
            train_score=float(model.score(x_train, _labels_for(y[train], kind))),
            test_score=float(model.score(x_test, _labels_for(y[test], kind))),
            baseline_score=_baseline(y[train], y[test], kind),
            nonzero=int(np.count_nonzero(model.coef_)), dim=x.shape[1],
            num_train=len(train), num_test=len(test), converged=converged,
            validation_score=(
                float(model.score(x_validation, _labels_for(y[validation], kind)))
                if len(validation) > 1 else float("nan")
            ),
            num_validation=len(validation), iterations=iterations, seconds=seconds,
        ))
    return results


def probe_rows(results: list[ProbeResult], **columns: Any) -> list[dict[str, Any]]:
    """``results`` as table rows (dicts), each extended by ``columns`` (e.g. ``checkpoint=3``)."""
    return [{**columns, **asdict(result)} for result in results]
