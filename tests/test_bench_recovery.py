"""`bench recovery`'s figures: the AUC, the null's expected survivors, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from conceptlab.bench.recovery import check_concepts, null_surviving, recovery_figures, roc_auc
from conceptlab.errors import ComponentError, RunDirError
from conceptlab.testing.tictactoe import TicTacToe


def test_auc_of_perfect_reversed_and_tied_scores() -> None:
    labels = np.array([True, True, False, False])
    assert roc_auc(np.array([3.0, 4.0, 1.0, 2.0]), labels) == 1.0
    assert roc_auc(np.array([1.0, 2.0, 3.0, 4.0]), labels) == 0.0
    assert roc_auc(np.zeros(4), labels) == 0.5
    assert roc_auc(np.array([1.0, 2.0]), np.array([True, True])) is None


def test_auc_is_the_share_of_correctly_ordered_pairs() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=60), 1)  # rounding makes ties
    labels = rng.random(60) < 0.3
    pos, neg = scores[labels], scores[~labels]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert roc_auc(scores, labels) == pytest.approx(pairs)


def test_null_survivors_are_the_product_of_the_null_pass_rates() -> None:
    figures = null_surviving(40, {"null_teachable_share": {"share": 0.25}}, {"null_novel_share": {"share": 0.2}})
    assert figures["null_survival_rate"] == pytest.approx(0.05)
    assert figures["null_surviving_expected"] == pytest.approx(2.0)
    assert figures["null_surviving_ci_low"] <= 2 <= figures["null_surviving_ci_high"]
    assert figures["null_surviving_ci_low"] == 0 and figures["null_surviving_ci_high"] == 5
    # measured on few directions, a share of 0 still leaves room for survivors: the interval says so
    zero = null_surviving(170, {"null_teachable_share": {"share": 0.0, "ci_low": 0.0, "ci_high": 0.1611}},
                          {"null_novel_share": {"share": 0.0, "ci_low": 0.0, "ci_high": 0.1611}})
    assert zero["null_surviving_expected"] == 0.0 and zero["null_surviving_ci_low"] == 0
    assert zero["null_surviving_ci_high"] == 9  # binomial 97.5% quantile of 170 draws at 0.1611 ** 2
    missing = null_surviving(40, {"null_teachable_share": {"share": None}}, {"null_novel_share": {"share": 0.2}})
    assert missing["null_surviving_expected"] is None


def test_unknown_concepts_are_refused_naming_the_known_ones() -> None:
    with pytest.raises(ComponentError, match="no known concept 'planted'.*mover_threatens"):
        check_concepts(TicTacToe(), "planted")
    check_concepts(TicTacToe(), "mover_threatens", None)


def test_a_run_without_its_novelty_stage_is_refused(tmp_path) -> None:
    with pytest.raises(RunDirError, match="stage 'train' has not finished"):
        recovery_figures(tmp_path, TicTacToe(), "mover_threatens")


def test_auc_baselines_give_the_probe_ceiling_and_a_chance_null() -> None:
    from conceptlab.bench.recovery import auc_baselines

    rng = np.random.default_rng(0)
    acts = rng.normal(size=(400, 32))
    labels = acts[:, 3] + 0.5 * acts[:, 7] > 0.3  # linear in two units: a probe finds it
    groups = [i // 10 for i in range(400)]  # 40 games of 10 positions
    found = auc_baselines(acts, labels, directions=50, nonzeros=2, rng=np.random.default_rng(1), groups=groups)
    assert found["probe_auc"] > 0.95
    assert 0.35 < found["null_median_auc"] < 0.65  # random directions: chance on the median...
    assert found["null_median_auc"] < found["null_best_auc"] < found["probe_auc"]  # ...some by luck
    noise = auc_baselines(acts, rng.random(400) < 0.3, directions=10, nonzeros=2,
                          rng=np.random.default_rng(1), groups=groups)
    assert 0.35 < noise["probe_auc"] < 0.65  # nothing to find: the ceiling is chance
    few = auc_baselines(acts, np.arange(400) < 3, directions=5, nonzeros=2, rng=np.random.default_rng(1))
    assert few["probe_auc"] is None and few["null_best_auc"] is not None
