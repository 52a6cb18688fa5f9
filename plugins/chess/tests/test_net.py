"""The az-chess agent: named layers, shapes, masked policies, checkpoints, registration."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from conceptlab.errors import CheckpointError, ComponentError
from conceptlab.plugins import get_registry
from conceptlab.testing.tictactoe import TicTacToe
from conceptlab_chess.agent import AlphaZeroChessAgent, load_agent
from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.encoding import NUM_ACTIONS

torch.set_num_threads(1)

TINY = {"blocks": 2, "filters": 8, "value_hidden": 8}


@pytest.fixture
def small_domain() -> ChessDomain:
    return ChessDomain(ChessDomain.Params(history=2))


def tiny_agent(domain: ChessDomain, **params: object) -> AlphaZeroChessAgent:
    return AlphaZeroChessAgent(domain, AlphaZeroChessAgent.Params(**{**TINY, **params}), seed=1)


def test_layer_names_and_activation_shapes(small_domain: ChessDomain) -> None:
    agent = tiny_agent(small_domain, se_ratio=4)
    assert agent.layer_names == ("stem", "block0", "block1", "policy_head", "value_head")
    states = small_domain.opening_states(3, np.random.default_rng(0))
    evaluation = agent.evaluate(states, ["stem", "block1", "policy_head", "value_head"])
    assert evaluation.activations["stem"].shape == (3, 8, 8, 8)
    assert evaluation.activations["block1"].shape == (3, 8, 8, 8)
    assert evaluation.activations["policy_head"].shape == (3, NUM_ACTIONS)
    assert evaluation.activations["value_head"].shape == (3,)
    assert evaluation.value.shape == (3,) and np.all(np.abs(evaluation.value) <= 1)


def test_policy_is_masked_to_legal_moves_and_sums_to_one(small_domain: ChessDomain) -> None:
    agent = tiny_agent(small_domain)
    rng = np.random.default_rng(5)
    states = small_domain.opening_states(4, rng)
    states.append(small_domain.from_text("r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1"))
    evaluation = agent.evaluate(states)
    assert evaluation.policy.shape == (5, NUM_ACTIONS)
    np.testing.assert_allclose(evaluation.policy.sum(axis=1), 1.0, atol=1e-5)
    for row, state in zip(evaluation.policy, states):
        legal = np.zeros(NUM_ACTIONS, dtype=bool)
        legal[list(small_domain.legal_actions(state))] = True
        assert np.all(row[~legal] == 0) and np.all(row[legal] > 0)


def test_policy_logits_follow_the_encoding_layout(small_domain: ChessDomain) -> None:
    agent = tiny_agent(small_domain)
    x = torch.from_numpy(small_domain.encode([small_domain.initial_state()]))
    with torch.inference_mode():
        planes = agent.network.policy_head.out(torch.relu(agent.network.policy_head.conv(
            agent.network.blocks[1](agent.network.blocks[0](agent.network.stem(x))))))
        logits, _ = agent.network(x)
    # plane p, rank r, file f  ->  index p * 64 + r * 8 + f
    assert torch.equal(planes.reshape(1, -1), logits)
    assert planes.shape == (1, 73, 8, 8)


def test_fit_lowers_the_loss_on_a_fixed_target(small_domain: ChessDomain) -> None:
    agent = tiny_agent(small_domain)
    states = small_domain.opening_states(8, np.random.default_rng(2))
    targets = np.zeros((8, NUM_ACTIONS), dtype=np.float32)
    for i, state in enumerate(states):
        targets[i, small_domain.legal_actions(state)[0]] = 1.0
    values = np.linspace(-1, 1, 8).astype(np.float32)
    rng = np.random.default_rng(0)
    first = agent.fit(states, targets, values, epochs=1, learning_rate=1e-2, batch_size=8, rng=rng)
    last = agent.fit(states, targets, values, epochs=30, learning_rate=1e-2, batch_size=8, rng=rng)
    assert last["policy_loss"] < first["policy_loss"]


def test_checkpoint_round_trip_and_load_agent(small_domain: ChessDomain, tmp_path: Path) -> None:
    agent = tiny_agent(small_domain)
    path = tmp_path / "net.pt"
    info = agent.save(path, step=3, games=10)
    assert info.architecture["observation_shape"] == [35, 8, 8]
    loaded = load_agent(path)
    assert loaded.domain.params.history == 2
    states = small_domain.opening_states(2, np.random.default_rng(0))
    np.testing.assert_allclose(loaded.evaluate(states).policy, agent.evaluate(states).policy, atol=1e-6)


def test_checkpoint_of_another_architecture_is_refused(small_domain: ChessDomain, tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    tiny_agent(small_domain, blocks=3).save(path, step=0, games=0)
    with pytest.raises(CheckpointError, match=r"other\.pt.*'blocks': 3.*'blocks': 2"):
        tiny_agent(small_domain).load(path)
    with pytest.raises(CheckpointError, match=r"other\.pt.*observation_shape"):
        tiny_agent(ChessDomain(ChessDomain.Params(history=1)), blocks=3).load(path)
    with pytest.raises(CheckpointError, match="checkpoint not found.*missing.pt"):
        load_agent(tmp_path / "missing.pt")


def test_agent_refuses_another_domain() -> None:
    with pytest.raises(ComponentError, match="plays chess only.*tictactoe"):
        AlphaZeroChessAgent(TicTacToe())  # type: ignore[arg-type]


def test_plugin_registers_through_the_entry_point() -> None:
    # until the core's PUCT search lands, leave out the built-in plugin that imports it
    missing_search = importlib.util.find_spec("conceptlab.search.puct") is None
    registry = get_registry(disable=("builtin.search",) if missing_search else ())
    assert registry.provider("domain", "chess") == "chess"
    assert registry.provider("agent", "az-chess") == "chess"
    domain = registry.create("domain", "chess", {"history": 1})
    agent = registry.create("agent", "az-chess", TINY, domain)
    assert agent.evaluate([domain.initial_state()]).policy.shape == (1, NUM_ACTIONS)
