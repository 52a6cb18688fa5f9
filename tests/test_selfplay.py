"""Self-play building blocks on tic-tac-toe: games, the replay buffer, fitting, matches, resuming."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conceptlab.agents.pvnet import PVNetAgent  # noqa: E402
from conceptlab.errors import CheckpointError, ComponentError  # noqa: E402
from conceptlab.interfaces import build_params  # noqa: E402
from conceptlab.search.puct import PUCTSearch  # noqa: E402
from conceptlab.testing.tictactoe import TicTacToe  # noqa: E402
from conceptlab.training import (  # noqa: E402
    GameRecord,
    ReplayBuffer,
    play_game,
    play_games,
    play_match,
    train_on_buffer,
)

torch.set_num_threads(1)

DOMAIN = TicTacToe()


def small_agent(seed: int = 0) -> PVNetAgent:
    return PVNetAgent(
        DOMAIN, build_params(PVNetAgent, {"blocks": 1, "channels": 16, "value_hidden": 16}), seed=seed
    )


def small_search(simulations: int = 32) -> PUCTSearch:
    return PUCTSearch(DOMAIN, build_params(PUCTSearch, {"simulations": simulations, "batch_size": 8}))


def game(seed: int = 0, **kwargs: int) -> GameRecord:
    options = {"max_moves": 9, "temperature_moves": 4, **kwargs}
    return play_game(DOMAIN, small_agent(), small_search(), DOMAIN.initial_state(),
                     np.random.default_rng(seed), **options)


def test_game_record_is_consistent() -> None:
    record = game()
    n = len(record)
    assert record.terminated and DOMAIN.is_terminal(DOMAIN.apply(record.states[-1], int(record.actions[-1])))
    assert record.actions.shape == (n,) and record.players.shape == (n,)
    assert record.visit_distributions.shape == (n, 9) and record.visit_distributions.dtype == np.float32
    np.testing.assert_allclose(record.visit_distributions.sum(axis=1), 1.0, rtol=1e-6)
    for k in range(n):
        assert record.players[k] == DOMAIN.current_player(record.states[k])
        assert record.value_targets[k] == record.final_returns[record.players[k]]
        if k + 1 < n:
            assert DOMAIN.apply(record.states[k], int(record.actions[k])) == record.states[k + 1]
    assert record.final_returns[0] == -record.final_returns[1]


def test_games_repeat_with_the_seed_and_stop_at_max_moves() -> None:
    a, b = game(seed=5), game(seed=5)
    assert a.states == b.states
    np.testing.assert_array_equal(a.visit_distributions, b.visit_distributions)
    cut = game(seed=5, max_moves=3)
    assert len(cut) == 3 and not cut.terminated and cut.final_returns == (0.0, 0.0)
    np.testing.assert_array_equal(cut.value_targets, 0.0)
    with pytest.raises(ComponentError, match="max_moves"):
        game(max_moves=0)


def test_play_games_runs_in_a_process_pool() -> None:
    args = (DOMAIN, small_agent(), small_search(8))
    kwargs = {"games": 2, "seed": 11, "max_moves": 9, "temperature_moves": 2}
    pickle.dumps(args)
    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(play_games, *args, **kwargs).result()
    local = play_games(*args, **kwargs)
    assert [g.states for g in remote] == [g.states for g in local]


def test_replay_buffer_keeps_the_newest_and_round_trips(tmp_path: Path) -> None:
    buffer = ReplayBuffer(DOMAIN, capacity=12)
    records = [game(seed) for seed in range(4)]
    for record in records:
        buffer.add(record)
    assert len(buffer) == 12 and buffer.games_added == 4
    all_states = [s for r in records for s in r.states]
    states, policies, values = buffer.arrays()
    assert states == all_states[-12:]
    np.testing.assert_array_equal(values, np.concatenate([r.value_targets for r in records])[-12:])
    buffer.save(tmp_path / "buffer.npz")
    again = ReplayBuffer(DOMAIN, capacity=1).load(tmp_path / "buffer.npz")
    assert again.capacity == 12 and again.games_added == 4
    states2, policies2, values2 = again.arrays()
    assert states2 == states
    np.testing.assert_array_equal(policies2, policies)
    np.testing.assert_array_equal(values2, values)


def test_replay_buffer_errors(tmp_path: Path) -> None:
    with pytest.raises(ComponentError, match="capacity"):
        ReplayBuffer(DOMAIN, 0)
    with pytest.raises(CheckpointError, match="not found"):
        ReplayBuffer(DOMAIN, 5).load(tmp_path / "none.npz")

    class Other(TicTacToe):
        name = "other"

    ReplayBuffer(Other(), 5).save(tmp_path / "other.npz")
    with pytest.raises(CheckpointError, match="'other'"):
        ReplayBuffer(DOMAIN, 5).load(tmp_path / "other.npz")
    with pytest.raises(ComponentError, match="empty"):
        train_on_buffer(small_agent(), ReplayBuffer(DOMAIN, 5), epochs=1, batch_size=4,
                        learning_rate=1e-3, rng=np.random.default_rng(0))


def iteration(agent: PVNetAgent, buffer: ReplayBuffer, seed: int, games: int = 25) -> dict[str, float]:
    """One training iteration as the train stage runs it: self-play, then fit."""
    rng = np.random.default_rng(seed)
    for record in play_games(DOMAIN, agent, small_search(), games=games, seed=seed,
                             max_moves=9, temperature_moves=4):
        buffer.add(record)
    return train_on_buffer(agent, buffer, epochs=5, batch_size=32, learning_rate=3e-3, rng=rng)


def test_a_killed_run_resumes_exactly(tmp_path: Path) -> None:
    straight, straight_buffer = small_agent(), ReplayBuffer(DOMAIN, 500)
    for seed in (1, 2):
        iteration(straight, straight_buffer, seed, games=6)

    first, first_buffer = small_agent(), ReplayBuffer(DOMAIN, 500)
    iteration(first, first_buffer, 1, games=6)
    first.save(tmp_path / "ckpt1.pt", step=1, games=first_buffer.games_added)
    first_buffer.save(tmp_path / "buffer1.npz")
    del first, first_buffer  # the process dies here

    resumed = small_agent(seed=99)
    resumed.load(tmp_path / "ckpt1.pt")
    resumed_buffer = ReplayBuffer(DOMAIN, 1).load(tmp_path / "buffer1.npz")
    iteration(resumed, resumed_buffer, 2, games=6)
    a = straight.save(tmp_path / "a.pt", step=2, games=0)
    b = resumed.save(tmp_path / "b.pt", step=2, games=0)
    assert a.sha256 == b.sha256


def test_match_scores_add_up() -> None:
    score = play_match(DOMAIN, small_agent(), None, small_search(8), 6, np.random.default_rng(0))
    assert score.games == 6 and 0 <= score.score <= 1
    with pytest.raises(ComponentError, match="games"):
        play_match(DOMAIN, small_agent(), None, None, 0, np.random.default_rng(0))


def test_self_play_training_beats_a_random_player_more_often(tmp_path: Path) -> None:
    """Checkpoint 0 vs the final checkpoint, each playing its raw policy against random."""
    agent, buffer = small_agent(), ReplayBuffer(DOMAIN, 2000)
    agent.save(tmp_path / "ckpt0.pt", step=0, games=0)
    for step in range(1, 7):
        iteration(agent, buffer, seed=step)
        agent.save(tmp_path / f"ckpt{step}.pt", step=step, games=buffer.games_added)

    def score(path: Path) -> float:
        player = small_agent(seed=123)
        player.load(path)
        return play_match(DOMAIN, player, None, None, 400, np.random.default_rng(7)).score

    initial, final = score(tmp_path / "ckpt0.pt"), score(tmp_path / "ckpt6.pt")
    # 400 games: the standard error of each score is below 0.025
    assert final > initial + 0.2, (initial, final)
    assert final > 0.7, (initial, final)
