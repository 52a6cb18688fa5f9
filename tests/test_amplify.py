"""Concept amplification through a forward hook, on a tiny tic-tac-toe MLP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pytest
import torch
from torch import nn

from conceptlab.agents.torch import PolicyValueNet, TorchAgent
from conceptlab.concepts.amplify import AmplificationError, amplified_policy, amplify
from conceptlab.errors import ComponentError
from conceptlab.testing.tictactoe import Board, TicTacToe


class _TinyNet(PolicyValueNet):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(27, 16), nn.ReLU())
        self.policy = nn.Linear(16, 9)
        self.value = nn.Linear(16, 1)

    def named_layers(self) -> Mapping[str, nn.Module]:
        return {"hidden": self.hidden, "policy": self.policy}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.hidden(x)
        return self.policy(h), torch.tanh(self.value(h)).reshape(-1)


class TinyAgent(TorchAgent[Board]):
    """A one-hidden-layer MLP for tic-tac-toe."""

    name: ClassVar[str] = "tiny-mlp"

    def build_network(self) -> PolicyValueNet:
        return _TinyNet()


@pytest.fixture(scope="module")
def agent() -> TinyAgent:
    torch.set_num_threads(1)
    return TinyAgent(TicTacToe(), seed=0)


def _states() -> list[Board]:
    game, rng = TicTacToe(), np.random.default_rng(0)
    states = []
    for _ in range(40):
        state = game.initial_state()
        for _ in range(int(rng.integers(0, 4))):
            legal = game.legal_actions(state)
            state = game.apply(state, int(legal[rng.integers(len(legal))]))
        if 8 in game.legal_actions(state):
            states.append(state)
    return states


def _toward(agent: TinyAgent, action: int) -> np.ndarray:
    """A hidden-layer direction that raises ``action``'s logit above the others'."""
    weights = agent.network.policy.weight.detach().numpy().astype(np.float64)
    return weights[action] - weights.mean(axis=0)


def test_alpha_zero_is_the_unmodified_agent_and_the_hook_is_removed(agent: TinyAgent) -> None:
    states = _states()
    before = agent.evaluate(states).policy
    same = amplified_policy(agent, states, "hidden", np.ones(16), alpha=0.0, beta=1.0)
    np.testing.assert_allclose(same, before, atol=1e-6)
    changed = amplified_policy(agent, states, "hidden", np.ones(16), alpha=1.0, beta=1.0)
    assert np.abs(changed - before).max() > 1e-3
    np.testing.assert_array_equal(agent.evaluate(states).policy, before)


def test_the_layer_output_is_the_documented_mixture(agent: TinyAgent) -> None:
    states = _states()[:5]
    vector = np.random.default_rng(1).normal(size=16)
    alpha, beta = 0.3, 2.0
    x = torch.from_numpy(TicTacToe().encode(states))
    with torch.no_grad():
        z = agent.network.hidden(x).numpy().astype(np.float64)
        z_new = (1 - alpha) * z + alpha * beta * np.linalg.norm(z, axis=1, keepdims=True) * (
            vector / np.linalg.norm(vector))
        logits = agent.network.policy(torch.from_numpy(z_new).float()).numpy()
    mask = np.array([[a in TicTacToe().legal_actions(s) for a in range(9)] for s in states])
    expected = np.where(mask, np.exp(logits - logits.max(1, keepdims=True)), 0.0)
    expected /= expected.sum(1, keepdims=True)
    got = amplified_policy(agent, states, "hidden", vector, alpha=alpha, beta=beta)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_amplifying_a_move_direction_moves_play_toward_it_more_than_a_random_one(agent: TinyAgent) -> None:
    states = _states()
    result = amplify(agent, states, "hidden", _toward(agent, 8), alphas=[0.0, 0.5, 1.0], beta=3.0,
                     target_actions=[8] * len(states), rng=np.random.default_rng(0))
    mass = result["concept"]["target_mass"]
    assert mass[0] == pytest.approx(result["random"]["target_mass"][0])  # alpha 0: same agent
    assert mass[2] > mass[0] and mass[2] > result["random"]["target_mass"][2]
    assert result["concept"]["top1_match"][2] > result["concept"]["top1_match"][0]
    assert result["target_mass_gain"][2] > 0
    assert result["alphas"] == [0.0, 0.5, 1.0] and result["num_states"] == len(states)


def test_bad_arguments_are_named(agent: TinyAgent) -> None:
    states = _states()[:3]
    rng = np.random.default_rng(0)
    with pytest.raises(ComponentError, match="'nope'"):
        amplify(agent, states, "nope", np.ones(16), target_actions=[8] * 3, rng=rng)
    with pytest.raises(AmplificationError, match="5 entries .* 16 per state"):
        amplify(agent, states, "hidden", np.ones(5), target_actions=[8] * 3, rng=rng)
    with pytest.raises(AmplificationError, match="2 entries for 3 states"):
        amplify(agent, states, "hidden", np.ones(16), target_actions=[8, 8], rng=rng)
    with pytest.raises(AmplificationError, match="12"):
        amplify(agent, states, "hidden", np.ones(16), target_actions=[8, 8, [1, 12]], rng=rng)
    with pytest.raises(AmplificationError, match="1.5"):
        amplify(agent, states, "hidden", np.ones(16), alphas=[1.5], target_actions=[8] * 3, rng=rng)
    with pytest.raises(AmplificationError, match="non-zero"):
        amplify(agent, states, "hidden", np.zeros(16), target_actions=[8] * 3, rng=rng)


def test_the_causal_test_sets_a_move_direction_against_random_directions(agent: TinyAgent) -> None:
    from conceptlab.concepts.amplify import causal_test

    states = _states()
    before = agent.evaluate(states).policy
    result = causal_test(agent, states, "hidden", _toward(agent, 8), target_actions=[8] * len(states),
                         epsilon=2.0, random_directions=19, rng=np.random.default_rng(0))
    added = result["added"]
    assert added["gain"] > added["null_mean"] + 2 * added["null_sd"]
    assert added["p_value"] == pytest.approx(1 / 20)  # above every random direction
    ablated = result["ablated"]
    assert np.isfinite(ablated["drop"]) and 1 / 20 <= ablated["p_value"] <= 1
    assert result["target_mass"] == pytest.approx(float(np.mean(before[:, 8])))
    np.testing.assert_array_equal(agent.evaluate(states).policy, before)  # the hooks are gone


def test_ablation_removes_exactly_the_projection_on_the_concept(agent: TinyAgent) -> None:
    from conceptlab.concepts.amplify import _ablated, intervened_policy

    states = _states()
    vector = np.random.default_rng(3).normal(size=16)
    unit = vector / np.linalg.norm(vector)
    seen: list[np.ndarray] = []
    handle = agent.network.policy.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().numpy()))
    try:
        original = agent.evaluate(states, ["hidden"]).activations["hidden"].reshape(len(states), -1)
        intervened_policy(agent, states, "hidden", vector, _ablated)
    finally:
        handle.remove()
    changed = seen[-1]
    assert np.abs(changed @ unit).max() < 1e-5  # nothing left along the concept
    np.testing.assert_allclose(changed, original - np.outer(original @ unit, unit), atol=1e-5)
