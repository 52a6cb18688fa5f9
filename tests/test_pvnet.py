"""The generic ``pvnet`` agent: layers, activations, masking, checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conceptlab.agents.pvnet import PVNetAgent  # noqa: E402
from conceptlab.errors import CheckpointError, ComponentError  # noqa: E402
from conceptlab.interfaces import build_params  # noqa: E402
from conceptlab.plugins import get_registry  # noqa: E402
from conceptlab.testing.tictactoe import Board, TicTacToe  # noqa: E402

torch.set_num_threads(1)

DOMAIN = TicTacToe()
STATES = [DOMAIN.initial_state(), DOMAIN.from_text("X...O...."), DOMAIN.from_text("XX.OO.X..")]


class FlatTicTacToe(TicTacToe):
    """Tic-tac-toe with a flat ``(27,)`` observation, to exercise the MLP torso."""

    name = "tictactoe-flat"

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (27,)

    def encode(self, states: Sequence[Board]) -> np.ndarray:
        return super().encode(states).reshape(len(states), 27)


def agent(domain: TicTacToe = DOMAIN, seed: int = 0, **params: object) -> PVNetAgent:
    return PVNetAgent(domain, build_params(PVNetAgent, params), seed=seed)


def test_conv_layers_and_activation_shapes() -> None:
    net = agent(blocks=3, channels=8, value_hidden=5, squeeze_excitation=True)
    names = ("stem", "block0", "block1", "block2", "policy_head", "value_head")
    assert net.layer_names == names
    evaluation = net.evaluate(STATES, layers=names)
    for name in names[:4]:
        assert evaluation.activations[name].shape == (3, 8, 3, 3)
    assert evaluation.activations["policy_head"].shape == (3, 9)
    assert evaluation.activations["value_head"].shape == (3, 5)
    assert all(a.dtype == np.float32 for a in evaluation.activations.values())


def test_mlp_torso_for_flat_observations() -> None:
    flat = FlatTicTacToe()
    net = agent(flat, blocks=2, hidden=16)
    assert net.layer_names == ("stem", "block0", "block1", "policy_head", "value_head")
    evaluation = net.evaluate(STATES, layers=["block1", "value_head"])
    assert evaluation.activations["block1"].shape == (3, 16)
    assert evaluation.policy.shape == (3, 9)


def test_policy_is_masked_and_value_bounded() -> None:
    evaluation = agent().evaluate(STATES)
    for state, row in zip(STATES, evaluation.policy):
        illegal = [a for a in range(9) if a not in DOMAIN.legal_actions(state)]
        assert np.all(row[illegal] == 0)
        assert row.sum() == pytest.approx(1.0, abs=1e-5)
    assert evaluation.value.shape == (3,)
    assert np.all(np.abs(evaluation.value) <= 1)


def test_activations_come_from_the_same_pass_as_the_outputs() -> None:
    net = agent()
    with_layers = net.evaluate(STATES, layers=["policy_head"])
    plain = net.evaluate(STATES)
    np.testing.assert_array_equal(with_layers.policy, plain.policy)
    logits = with_layers.activations["policy_head"]
    masked = np.where(plain.policy > 0, logits, -np.inf)
    expected = np.exp(masked - masked.max(axis=1, keepdims=True))
    np.testing.assert_allclose(plain.policy, expected / expected.sum(axis=1, keepdims=True), rtol=1e-5)


def test_unknown_layer_names_it() -> None:
    with pytest.raises(ComponentError, match="'block7'"):
        agent(blocks=2).evaluate(STATES, layers=["block7"])


def test_seed_fixes_the_weights() -> None:
    a, b, c = agent(seed=1), agent(seed=1), agent(seed=2)
    np.testing.assert_array_equal(a.evaluate(STATES).policy, b.evaluate(STATES).policy)
    assert not np.allclose(a.evaluate(STATES).policy, c.evaluate(STATES).policy)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    source = agent(seed=1, blocks=1, channels=8)
    info = source.save(tmp_path / "ckpt.pt", step=3, games=40, extra={"note": "x"})
    assert (info.step, info.games, info.extra["note"]) == (3, 40, "x")
    assert info.architecture == {"agent": "pvnet", "params": source.params.model_dump(mode="json")}
    target = agent(seed=2, blocks=1, channels=8)
    loaded = target.load(tmp_path / "ckpt.pt")
    assert loaded.sha256 == info.sha256 and len(info.sha256) == 64
    np.testing.assert_array_equal(source.evaluate(STATES).value, target.evaluate(STATES).value)


def test_architecture_mismatch_and_bad_files_raise(tmp_path: Path) -> None:
    agent(blocks=2).save(tmp_path / "two.pt", step=0, games=0)
    with pytest.raises(CheckpointError, match="does not match"):
        agent(blocks=3).load(tmp_path / "two.pt")
    with pytest.raises(CheckpointError, match="not found"):
        agent().load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        agent().load(tmp_path / "junk.pt")


def test_fit_moves_the_policy_toward_the_target_and_clone_is_independent() -> None:
    net = agent(blocks=1, channels=8)
    copy = net.clone()
    target = np.zeros((3, 9), dtype=np.float32)
    for i, state in enumerate(STATES):
        target[i, max(DOMAIN.legal_actions(state))] = 1.0
    before = net.evaluate(STATES).policy[target > 0].mean()
    losses = net.fit(STATES, target, np.array([0.0, 0.5, -1.0]), epochs=30, learning_rate=1e-2,
                     batch_size=2, rng=np.random.default_rng(0))
    assert set(losses) == {"policy_loss", "value_loss"}
    assert net.evaluate(STATES).policy[target > 0].mean() > before + 0.3
    np.testing.assert_array_equal(copy.evaluate(STATES).policy, agent(blocks=1, channels=8).evaluate(STATES).policy)


def test_registered_with_described_params() -> None:
    registry = get_registry(autoload=False)
    assert registry.get("agent", "pvnet") is PVNetAgent
    made = registry.create("agent", "pvnet", {"blocks": 1}, DOMAIN)
    assert made.layer_names[:2] == ("stem", "block0")
    for name, field in PVNetAgent.Params.model_fields.items():
        assert field.description, name
