"""Exact paired tests, Benjamini-Hochberg, Wilson and Student-t intervals, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conceptlab.stats import benjamini_hochberg, mean_interval, sign_flip_pvalue, wilson_interval


def test_with_binary_outcomes_the_sign_flip_test_is_the_exact_sign_test():
    # three wins, no losses: (1/2)^3; four wins, no losses: (1/2)^4 (the review's c0037 and c0062)
    assert sign_flip_pvalue([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]) == pytest.approx(0.125)
    assert sign_flip_pvalue([1, 1, 1, 1, 0, 0]) == pytest.approx(0.0625)
    # 8 wins of 10 discordant pairs: P(Binomial(10, 1/2) >= 8)
    d = [1] * 8 + [-1] * 2 + [0] * 5
    assert sign_flip_pvalue(d) == pytest.approx(sum(math.comb(10, k) for k in range(8, 11)) / 2**10)
    assert sign_flip_pvalue([0, 0, 0]) == 1.0 and sign_flip_pvalue([-1, -1]) == 1.0


def test_counts_over_seeds_are_tested_by_their_exact_distribution():
    # d = (2, 1): sums of +-2 +-1 are 3, 1, -1, -3, each with probability 1/4
    assert sign_flip_pvalue([2, 1]) == pytest.approx(0.25)
    assert sign_flip_pvalue([2, -1]) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    d = rng.integers(-3, 4, size=12)
    flips = np.array(np.meshgrid(*[[-1, 1]] * 12)).reshape(12, -1).T
    brute = np.mean((flips * np.abs(d)).sum(axis=1) >= d.sum())
    assert sign_flip_pvalue(d) == pytest.approx(brute)
    with pytest.raises(ValueError, match="integer"):
        sign_flip_pvalue([0.5])


def test_benjamini_hochberg_steps_up():
    found, cutoff = benjamini_hochberg([0.01, 0.04, 0.03, 0.5], 0.1)
    assert found.tolist() == [True, True, True, False] and cutoff == 0.04
    found, cutoff = benjamini_hochberg([0.2, 0.3], 0.1)
    assert not found.any() and cutoff == 0.05  # nothing found: the strictest bar, q / m
    found, _ = benjamini_hochberg([0.001, float("nan")], 0.1)
    assert found.tolist() == [True, False]


def test_wilson_interval_matches_known_values():
    low, high = wilson_interval(2, 88)
    assert low == pytest.approx(0.00625, abs=1e-4) and high == pytest.approx(0.0791, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(10, 10)
    assert high == 1.0 and 0.7 < low < 0.75


def test_the_mean_interval_is_students_t():
    # n = 2: mean 0.5, sd sqrt(1/2), t(0.975, 1) = 12.7062 (printed tables): 0.5 +- 12.7062 / 2
    low, high = mean_interval([0.0, 1.0])
    assert (low, high) == pytest.approx((0.5 - 6.3531, 0.5 + 6.3531), abs=1e-3)
    # n = 5: mean 3, sd sqrt(2.5), t(0.975, 4) = 2.7764: 3 +- 2.7764 * sqrt(2.5 / 5)
    low, high = mean_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (low, high) == pytest.approx((3 - 1.9632, 3 + 1.9632), abs=1e-3)
    assert mean_interval([0.25, 0.25, 0.25]) == pytest.approx((0.25, 0.25))
    assert mean_interval([0.5]) is None and mean_interval([]) is None
