"""``bench_search``: batched vs one-leaf search vs raw evaluation, measured in one run."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conceptlab.agents.pvnet import PVNetAgent  # noqa: E402
from conceptlab.bench.search import bench_search  # noqa: E402
from conceptlab.errors import ParamsError  # noqa: E402
from conceptlab.interfaces import build_params  # noqa: E402
from conceptlab.testing.tictactoe import TicTacToe  # noqa: E402

torch.set_num_threads(1)

DOMAIN = TicTacToe()


def test_figures_are_measured_and_consistent() -> None:
    agent = PVNetAgent(DOMAIN, build_params(PVNetAgent, {"blocks": 1, "channels": 8}))
    figures = bench_search(DOMAIN, agent, {"simulations": 48, "batch_size": 8},
                           positions=3, rng=np.random.default_rng(0))
    assert (figures["positions"], figures["batch_size"], figures["simulations"]) == (3, 8, 48)
    for key in ("batched_sims_per_s", "one_leaf_sims_per_s", "net_evals_per_s"):
        assert figures[key] > 0, key
    assert figures["batched_over_one_leaf"] == pytest.approx(
        figures["batched_sims_per_s"] / figures["one_leaf_sims_per_s"])
    assert figures["search_efficiency"] == pytest.approx(
        figures["batched_sims_per_s"] / figures["net_evals_per_s"])
    assert figures["outside_net_us_per_sim"] == pytest.approx(
        1e6 / figures["batched_sims_per_s"] - 1e6 / figures["net_evals_per_s"])
    assert figures["repeats"] == 1
    # timed inside the search: 3 searches of 48 simulations, in batches of at most 8 (roots alone)
    assert 1 <= figures["search_mean_batch"] <= 8
    assert figures["search_evals_per_s"] > 0
    # the tree's share of a simulation is what is left once the net's calls are taken out
    assert 0 < figures["tree_us_per_sim"] < 1e6 / figures["batched_sims_per_s"]
    assert figures["batched_over_one_leaf_min"] == pytest.approx(figures["batched_over_one_leaf"])
    assert figures["search_efficiency_max"] == pytest.approx(figures["search_efficiency"])


def test_repeats_keep_the_best_round_and_the_spread() -> None:
    agent = PVNetAgent(DOMAIN, build_params(PVNetAgent, {"blocks": 1, "channels": 8}))
    figures = bench_search(DOMAIN, agent, {"simulations": 32, "batch_size": 4},
                           positions=2, rng=np.random.default_rng(1), repeats=3)
    assert figures["repeats"] == 3
    for ratio in ("batched_over_one_leaf", "search_efficiency"):
        assert figures[f"{ratio}_min"] <= figures[f"{ratio}_max"]
        assert figures[f"{ratio}_min"] > 0
    # the headline ratios come from the best round of each timing, not from one round
    assert figures["batched_over_one_leaf"] == pytest.approx(
        figures["batched_sims_per_s"] / figures["one_leaf_sims_per_s"])


def test_explicit_positions_and_errors() -> None:
    agent = PVNetAgent(DOMAIN, build_params(PVNetAgent, {"blocks": 0, "channels": 4}))
    terminal = DOMAIN.from_text("XXXOO....")
    figures = bench_search(DOMAIN, agent, {"simulations": 8, "batch_size": 2},
                           positions=[DOMAIN.initial_state(), terminal], rng=np.random.default_rng(0))
    assert figures["positions"] == 1
    with pytest.raises(ParamsError, match="no non-terminal"):
        bench_search(DOMAIN, agent, {}, positions=[terminal], rng=np.random.default_rng(0))
    with pytest.raises(ParamsError, match="repeats"):
        bench_search(DOMAIN, agent, {}, positions=1, rng=np.random.default_rng(0), repeats=0)
    with pytest.raises(ParamsError, match="simulations"):
        bench_search(DOMAIN, agent, {"simulations": 0}, positions=1, rng=np.random.default_rng(0))
