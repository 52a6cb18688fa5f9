"""The train stage's options: self-play search overrides, mixed value targets, symmetric images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conceptlab.agents.pvnet import PVNetAgent  # noqa: E402
from conceptlab.errors import ComponentError  # noqa: E402
from conceptlab.interfaces import build_params  # noqa: E402
from conceptlab.pipeline import Components, run_pipeline  # noqa: E402
from conceptlab.plugins import get_registry  # noqa: E402
from conceptlab.search.puct import PUCTSearch  # noqa: E402
from conceptlab.spec import load_spec, resolve_spec  # noqa: E402
from conceptlab.stages.train import selfplay_search  # noqa: E402
from conceptlab.testing.tictactoe import TicTacToe  # noqa: E402
from conceptlab.training import ReplayBuffer, play_game  # noqa: E402
from conceptlab.training.selfplay import symmetric_images, train_on_buffer  # noqa: E402

torch.set_num_threads(1)

TINY = Path(__file__).resolve().parents[1] / "specs" / "tictactoe-tiny.toml"
MIRROR = np.array([2, 1, 0, 5, 4, 3, 8, 7, 6])
"""Tic-tac-toe's left-right mirror of the squares 0..8 (row-major)."""


class MirroredTicTacToe(TicTacToe):
    """Tic-tac-toe declaring its left-right mirror as a symmetry."""

    def symmetries(self, state: tuple[int, ...]) -> Sequence[tuple[tuple[int, ...], np.ndarray]]:
        image = [0] * 9
        for square, mark in enumerate(state):
            image[MIRROR[square]] = mark
        return [(tuple(image), MIRROR)]


def agent(domain: TicTacToe) -> PVNetAgent:
    return PVNetAgent(domain, build_params(PVNetAgent, {"blocks": 1, "channels": 8, "value_hidden": 8}), seed=0)


def search(domain: TicTacToe, simulations: int = 16) -> PUCTSearch:
    return PUCTSearch(domain, build_params(PUCTSearch, {"simulations": simulations, "batch_size": 4}))


def test_value_mix_blends_the_outcome_with_the_root_values() -> None:
    domain = TicTacToe()
    games = {
        mix: play_game(domain, agent(domain), search(domain), domain.initial_state(),
                       np.random.default_rng(3), max_moves=9, temperature_moves=4, value_mix=mix)
        for mix in (0.0, 0.25, 1.0)
    }
    plain = games[0.0]
    outcome = np.asarray([plain.final_returns[p] for p in plain.players], dtype=np.float32)
    np.testing.assert_array_equal(plain.value_targets, outcome)
    assert plain.root_values is not None and plain.root_values.shape == (len(plain),)
    assert np.all(np.abs(plain.root_values) <= 1) and np.any(plain.root_values != outcome)
    for mix in (0.25, 1.0):
        mixed = games[mix]  # the same seed plays the same game: the targets alone change
        np.testing.assert_array_equal(mixed.actions, plain.actions)
        np.testing.assert_allclose(
            mixed.value_targets, (1 - mix) * outcome + mix * plain.root_values, rtol=1e-6, atol=1e-7
        )
    with pytest.raises(ComponentError, match="value_mix"):
        play_game(domain, agent(domain), search(domain), domain.initial_state(),
                  np.random.default_rng(0), max_moves=9, temperature_moves=0, value_mix=1.5)


def test_symmetric_images_map_the_policy_targets() -> None:
    domain = MirroredTicTacToe()
    start = domain.initial_state()
    state = domain.apply(domain.apply(start, 0), 4)  # X in the top-left corner, O in the centre
    policy = np.zeros((1, 9), dtype=np.float32)
    policy[0, 1], policy[0, 5] = 0.75, 0.25
    states, policies, values = symmetric_images(domain, [state], policy, np.asarray([0.5], np.float32))
    assert len(states) == 2 and states[0] == state
    assert states[1] == domain.apply(domain.apply(start, 2), 4)
    assert policies[1, 1] == 0.75 and policies[1, 3] == 0.25 and policies[1].sum() == 1
    np.testing.assert_array_equal(values, [0.5, 0.5])
    with pytest.raises(ComponentError, match="declares no symmetries"):
        symmetric_images(TicTacToe(), [state], policy, np.asarray([0.5], np.float32))


def test_fitting_with_symmetries_sees_the_images() -> None:
    domain = MirroredTicTacToe()
    buffer = ReplayBuffer(domain, 100)
    buffer.add(play_game(domain, agent(domain), search(domain), domain.initial_state(),
                         np.random.default_rng(1), max_moves=9, temperature_moves=9))
    seen: list[int] = []

    class Counting(PVNetAgent):
        def fit(self, states, *args, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(len(states))
            return super().fit(states, *args, **kwargs)

    learner = Counting(domain, build_params(PVNetAgent, {"blocks": 1, "channels": 8}), seed=0)
    for symmetries in (False, True):
        train_on_buffer(learner, buffer, epochs=1, batch_size=8, learning_rate=1e-3,
                        rng=np.random.default_rng(0), symmetries=symmetries)
    assert seen == [len(buffer), 2 * len(buffer)]


def test_selfplay_search_overrides_the_search_params() -> None:
    registry = get_registry()
    comps = Components(resolve_spec(load_spec(TINY), registry), registry)
    assert selfplay_search(comps, {}) is comps.search
    cheap = selfplay_search(comps, {"simulations": 5})
    assert cheap.params.simulations == 5 and cheap.params.batch_size == comps.search.params.batch_size
    assert selfplay_search(comps, {"simulations": 5}) is cheap
    with pytest.raises(ComponentError, match="selfplay_search.*simulationz"):
        selfplay_search(comps, {"simulationz": 5})
    with pytest.raises(ComponentError, match="selfplay_search.*simulations"):
        selfplay_search(comps, {"simulations": 0})


def test_the_train_stage_refuses_symmetries_the_domain_lacks(tmp_path: Path) -> None:
    spec = load_spec(TINY, ["stages.train.symmetries=true"])
    with pytest.raises(ComponentError, match="declares no symmetries"):
        run_pipeline(spec, tmp_path / "run", stages=["train"], progress=False)


def test_the_train_stage_plays_with_the_overrides(tmp_path: Path) -> None:
    spec = load_spec(TINY, [
        "stages.train.iterations=1", "stages.train.games_per_iteration=2",
        'stages.train.selfplay_search={simulations=3}', "stages.train.value_mix=0.5",
    ])
    run_pipeline(spec, tmp_path / "run", stages=["train"], progress=False)
    games = sorted((tmp_path / "run" / "train" / "games-0001").glob("*.npz"))
    assert len(games) == 2
    for path in games:
        with np.load(path) as data:
            visits = data["visit_distributions"] * 3  # three simulations per search
            np.testing.assert_allclose(visits, np.round(visits), atol=1e-5)
            # mixed targets: halfway between an outcome in {-1, 0, 1} and a root value
            assert not np.all(np.isin(data["value_targets"], [-1.0, 0.0, 1.0]))
