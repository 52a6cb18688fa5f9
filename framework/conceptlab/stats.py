"""Exact tests and multiplicity control for the filters' verdicts (method.md section 8).

- :func:`sign_flip_pvalue`: the exact one-sided paired test for outcomes scored on a
  small integer scale (e.g. per test prototype, how many of S training seeds the taught
  student got right minus how many the control got right). With S = 1 and 0/1
  outcomes it is the exact sign test on the discordant pairs (McNemar's exact test).
- :func:`benjamini_hochberg`: which of a family of p-values are discoveries at a
  false-discovery rate ``q`` (Benjamini and Hochberg, 1995).
- :func:`wilson_interval`: a confidence interval for a pass rate.
- :func:`mean_interval`: a Student-t confidence interval for a mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from statistics import NormalDist

import numpy as np

__all__ = ["benjamini_hochberg", "mean_interval", "pass_rate", "sign_flip_pvalue", "wilson_interval"]


def sign_flip_pvalue(differences: Sequence[int] | np.ndarray) -> float:
    """P(T >= t) for ``T = sum(d_i)`` when each ``d_i``'s sign is a fair coin (the paired null).

    Exact, by convolution over the integer sums; zeros carry no information and
    drop out. Under the null that both members of each pair are exchangeable, the
    sum of paired differences is symmetric in this way.

    Raises:
        ValueError: A difference is not an integer.
    """
    d = np.asarray(differences, dtype=np.float64).reshape(-1)
    if not np.all(d == np.round(d)):
        raise ValueError("sign_flip_pvalue needs integer differences (scale them first)")
    magnitudes = np.abs(d[d != 0]).astype(np.int64)
    observed = int(d.sum())
    total = int(magnitudes.sum())
    if total == 0:
        return 1.0
    # distribution of sum of +-m_i, indexed by sum + total
    dist = np.zeros(2 * total + 1)
    dist[total] = 1.0
    for m in magnitudes:
        dist = 0.5 * (np.roll(dist, m) + np.roll(dist, -m))
    return float(min(1.0, dist[observed + total:].sum()))


def benjamini_hochberg(pvalues: Sequence[float], q: float) -> tuple[np.ndarray, float]:
    """(discoveries mask, the p-value cutoff) of the step-up procedure at false-discovery rate ``q``.

    The cutoff is the largest ``p_(k)`` with ``p_(k) <= k q / m``; when nothing is
    discovered it is ``q / m``, the strictest threshold the procedure applies (so
    that another family can be held to the same bar). NaN p-values are never
    discoveries but count in ``m``.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    if m == 0:
        return np.zeros(0, dtype=bool), float(q)
    filled = np.where(np.isnan(p), np.inf, p)
    order = np.argsort(filled, kind="stable")
    ranked = filled[order]
    below = ranked <= q * np.arange(1, m + 1) / m
    if not below.any():
        return np.zeros(m, dtype=bool), q / m
    k = int(np.flatnonzero(below).max())
    cutoff = float(ranked[k])
    return filled <= cutoff, cutoff


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (``(0, 1)`` when ``n`` is 0)."""
    if n <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    phat = successes / n
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def pass_rate(passed: int, n: int) -> dict[str, Any]:
    """A pass rate with its 95% Wilson interval (``share`` is ``None`` when nothing was assessed)."""
    low, high = wilson_interval(passed, n)
    return {"share": round(passed / n, 4) if n else None, "ci_low": round(low, 4), "ci_high": round(high, 4)}


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """The Student-t confidence interval for the mean of ``values`` (independent draws).

    ``mean +- t(confidence, n - 1) * sd / sqrt(n)`` with the sample standard
    deviation; ``None`` for fewer than two values (no spread to estimate). Equal
    values give a zero-width interval.
    """
    n = len(values)
    if n < 2:
        return None
    from scipy.stats import t as student_t  # scipy's import is slow; only the study's summary needs it

    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(student_t.ppf(0.5 + confidence / 2.0, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half
