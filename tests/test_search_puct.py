"""PUCT search on tic-tac-toe: textbook positions, exact budgets, determinism, tree reuse.

The test agent is uniform over legal moves with value 0 everywhere, so every
win or loss the search sees comes from terminal states it reached itself: the
textbook tests check the tree logic (selection, terminal handling, value signs
per player) rather than any knowledge in a network.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Sequence

import numpy as np
import pytest

from conceptlab.errors import ComponentError, InvalidStateError, ParamsError
from conceptlab.interfaces import Agent, build_params
from conceptlab.plugins import get_registry
from conceptlab.search.puct import Node, PUCTParams, PUCTSearch
from conceptlab.testing.tictactoe import Board, TicTacToe
from conceptlab.values import Evaluation


class UniformAgent(Agent[Board]):
    """Uniform priors over legal moves and value 0; counts its calls and batch sizes."""

    name = "uniform-test"

    def __init__(self, domain: TicTacToe) -> None:
        super().__init__(domain)
        self.batch_sizes: list[int] = []

    @property
    def layer_names(self) -> tuple[str, ...]:
        return ()

    def evaluate(self, states: Sequence[Board], layers: Sequence[str] = ()) -> Evaluation:
        self.batch_sizes.append(len(states))
        policy = np.zeros((len(states), self.domain.num_actions), dtype=np.float32)
        for i, state in enumerate(states):
            legal = list(self.domain.legal_actions(state))
            policy[i, legal] = 1.0 / len(legal)
        return Evaluation(policy, np.zeros(len(states), dtype=np.float32))


class DoublesTicTacToe(TicTacToe):
    """Tic-tac-toe where each player places two marks in a row: X X O O X X O O X."""

    name = "tictactoe-doubles"

    def current_player(self, state: Board) -> int:
        return (sum(1 for cell in state if cell) // 2) % 2


DOMAIN = TicTacToe()

# (board, player to move's winning move): the mover completes a line.
WINS = [
    ("XX.OO....", 2),
    ("X.O.X.O..", 8),
    ("XX.OO.X..", 5),   # O to move
    ("X.OX.O...", 6),
    ("O.X.XO...", 6),   # X to move: diagonal 2-4-6
]
# (board, the only move that stops the opponent's immediate win): the mover cannot win now.
BLOCKS = [
    ("OO..X...X", 2),
    ("XO..O...X", 7),
    ("XX..O....", 2),   # O to move
    ("X.X.O....", 1),   # O to move
    ("O...X.XO.", 2),   # O to move: X threatens 2-4-6
]


def search(simulations: int = 400, batch_size: int = 8, **extra: object) -> PUCTSearch:
    params = build_params(PUCTSearch, {"simulations": simulations, "batch_size": batch_size, **extra})
    return PUCTSearch(DOMAIN, params)


@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize(("board", "move"), WINS)
def test_finds_the_winning_move(board: str, move: int, batch_size: int) -> None:
    state = DOMAIN.from_text(board)
    result = search(batch_size=batch_size).run(state, UniformAgent(DOMAIN), np.random.default_rng(0))
    assert result.chosen_action == move
    best = result.actions.index(move)
    assert result.q_values[best] == pytest.approx(1.0)
    assert result.root_value > 0.5


@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize(("board", "move"), BLOCKS)
def test_finds_the_forced_block(board: str, move: int, batch_size: int) -> None:
    state = DOMAIN.from_text(board)
    result = search(batch_size=batch_size).run(state, UniformAgent(DOMAIN), np.random.default_rng(0))
    assert result.chosen_action == move
    block = result.actions.index(move)
    others = [q for i, q in enumerate(result.q_values) if i != block and not np.isnan(q)]
    assert result.q_values[block] > max(others) + 0.3


def test_values_follow_the_player_to_move_not_alternation() -> None:
    # X has 0 and 5, O has 4 and 8, X to move. With two marks in a row X wins
    # (1 then 2, or 3 then 6); under the usual rules O blocks and nobody is winning.
    state = (1, 0, 0, 0, 2, 1, 0, 0, 2)
    values = {}
    for domain in (DoublesTicTacToe(), TicTacToe()):
        assert domain.current_player(state) == 0
        puct = PUCTSearch(domain, build_params(PUCTSearch, {"simulations": 400}))
        result = puct.run(state, UniformAgent(domain), np.random.default_rng(0))
        values[domain.name] = result.q_values[result.actions.index(result.chosen_action)]
        if domain.name == "tictactoe-doubles":
            assert result.chosen_action in (1, 2, 3, 6)
            child = result.tree.children[result.actions.index(result.chosen_action)]
            assert child.player == 0  # X moves again
    assert values["tictactoe-doubles"] > 0.8
    assert values["tictactoe"] < 0.5


@pytest.mark.parametrize("batch_size", [1, 2, 5, 16, 64])
@pytest.mark.parametrize("board", [".........", "XOXOXO...", "XOXXOO.X.", "X.O.X.O.."])
@pytest.mark.parametrize("simulations", [1, 7, 120])
def test_visit_counts_sum_to_the_budget(board: str, batch_size: int, simulations: int) -> None:
    state = DOMAIN.from_text(board)
    agent = UniformAgent(DOMAIN)
    result = search(simulations, batch_size).run(state, agent, np.random.default_rng(1), add_noise=True)
    assert int(result.visit_counts.sum()) == simulations
    assert result.simulations == simulations
    assert max(agent.batch_sizes) <= batch_size
    _check_tree_counts(result.tree)


def _check_tree_counts(node: Node) -> None:
    """Every expanded child's own child visits are its visits minus its expansion."""
    assert int(node.pending_visits.sum()) == 0
    for i, child in enumerate(node.children):
        if child is None or child.terminal:
            continue
        if child.expanded:
            assert int(child.visits.sum()) == int(node.visits[i]) - 1
            _check_tree_counts(child)


class CheckedPUCT(PUCTSearch[Board]):
    """PUCT that checks, at every selection, what the node keeps for it against the
    PUCT formula computed afresh from the node's edge statistics."""

    selections = 0

    def _select(self, node: Node, priors: np.ndarray) -> int:
        p = self.params
        n = node.visits + node.pending_visits
        w = node.value_sums - p.virtual_loss * node.pending_visits
        q = np.where(n > 0, w / np.maximum(n, 1), p.fpu_value)
        assert np.array_equal(node.select_q, q)
        assert np.array_equal(node.select_n1, 1.0 + n)
        assert node.select_total == int(n.sum())
        total = float(n.sum())
        c = p.c_init + math.log((1.0 + total + p.c_base) / p.c_base)
        expected = int(np.argmax(q + c * priors * math.sqrt(1.0 + total) / (1.0 + n)))
        chosen = super()._select(node, priors)
        assert chosen == expected
        type(self).selections += 1
        return chosen


@pytest.mark.parametrize("batch_size", [1, 8, 32])
def test_selection_statistics_follow_visits_and_pending_visits(batch_size: int) -> None:
    CheckedPUCT.selections = 0
    agent = UniformAgent(DOMAIN)
    params = PUCTParams(simulations=150, batch_size=batch_size, virtual_loss=0.7, fpu_value=-0.3)
    puct = CheckedPUCT(DOMAIN, params)
    first = puct.run(DOMAIN.initial_state(), agent, np.random.default_rng(0), add_noise=True)
    # a search with other virtual-loss and first-play params reuses the tree
    other = CheckedPUCT(DOMAIN, params.model_copy(update={"virtual_loss": 2.0, "fpu_value": 0.4}))
    state = DOMAIN.apply(DOMAIN.initial_state(), first.chosen_action)
    other.run(state, agent, np.random.default_rng(1), tree=puct.advance(first, first.chosen_action))
    assert CheckedPUCT.selections > 150


def test_cycle_collector_is_paused_while_searching_and_restored() -> None:
    class Spy(UniformAgent):
        def __init__(self, domain: TicTacToe, fail_after: int | None = None) -> None:
            super().__init__(domain)
            self.collector: list[bool] = []
            self.fail_after = fail_after

        def evaluate(self, states: Sequence[Board], layers: Sequence[str] = ()) -> Evaluation:
            self.collector.append(gc.isenabled())
            if self.fail_after is not None and len(self.collector) > self.fail_after:
                raise RuntimeError("agent failed")
            return super().evaluate(states, layers)

    assert gc.isenabled()
    spy = Spy(DOMAIN)
    search(60, 4).run(DOMAIN.initial_state(), spy, np.random.default_rng(0))
    assert spy.collector[0] and not any(spy.collector[1:])  # the root's evaluation comes first
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="agent failed"):
        search(60, 4).run(DOMAIN.initial_state(), Spy(DOMAIN, fail_after=3), np.random.default_rng(0))
    assert gc.isenabled()
    gc.disable()
    try:
        search(20, 4).run(DOMAIN.initial_state(), UniformAgent(DOMAIN), np.random.default_rng(0))
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_batches_hold_distinct_leaves() -> None:
    agent = UniformAgent(DOMAIN)
    search(200, 16).run(DOMAIN.initial_state(), agent, np.random.default_rng(0))
    assert max(agent.batch_sizes) == 16
    assert sum(agent.batch_sizes) <= 201  # one evaluation per new leaf, plus the root


def test_same_seed_same_result() -> None:
    state = DOMAIN.from_text("X...O....")

    def once(seed: int) -> tuple:
        r = search(150, 8).run(state, UniformAgent(DOMAIN), np.random.default_rng(seed),
                               add_noise=True, temperature=1.0)
        return (r.visit_counts.tolist(), np.nan_to_num(r.q_values, nan=9).tolist(),
                r.priors.tolist(), r.chosen_action, r.principal_variation, r.root_value)

    assert once(3) == once(3)
    runs = {once(seed)[2][0] for seed in range(4)}
    assert len(runs) > 1  # the noise does depend on the seed


def test_temperature_zero_plays_most_visited() -> None:
    result = search(100, 4).run(DOMAIN.initial_state(), UniformAgent(DOMAIN), np.random.default_rng(0))
    assert result.visit_counts[result.actions.index(result.chosen_action)] == result.visit_counts.max()
    assert result.principal_variation[0] == result.chosen_action


def test_tree_reuse_keeps_visits_and_tops_up_to_the_budget() -> None:
    puct = search(120, 4)
    agent = UniformAgent(DOMAIN)
    first = puct.run(DOMAIN.initial_state(), agent, np.random.default_rng(0))
    subtree = puct.advance(first, first.chosen_action)
    assert isinstance(subtree, Node)
    kept = int(subtree.visits.sum())
    assert kept > 0
    state = DOMAIN.apply(DOMAIN.initial_state(), first.chosen_action)
    second = puct.run(state, agent, np.random.default_rng(0), tree=subtree)
    assert int(second.visit_counts.sum()) == 120
    assert second.simulations == 120 - kept
    with pytest.raises(ComponentError, match="reused tree"):
        puct.run(DOMAIN.initial_state(), agent, np.random.default_rng(0), tree=subtree)


def test_terminal_root_and_bad_inputs_raise() -> None:
    with pytest.raises(InvalidStateError, match="XXXOO"):
        search().run(DOMAIN.from_text("XXXOO...."), UniformAgent(DOMAIN), np.random.default_rng(0))
    with pytest.raises(ComponentError, match="temperature"):
        search().run(DOMAIN.initial_state(), UniformAgent(DOMAIN), np.random.default_rng(0), temperature=-1)
    with pytest.raises(ParamsError, match="batch_size"):
        build_params(PUCTSearch, {"batch_size": 0})


def test_registered_as_puct_with_described_params() -> None:
    registry = get_registry(autoload=False)
    assert registry.get("search", "puct") is PUCTSearch
    for name, field in PUCTSearch.Params.model_fields.items():
        assert field.description, name
