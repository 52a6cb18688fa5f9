"""Chosen and subpar rollouts read off a PUCT tree on tic-tac-toe."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from conceptlab.errors import ComponentError, ParamsError
from conceptlab.interfaces import Agent, RolloutParams, build_params
from conceptlab.search.puct import Node, PUCTSearch
from conceptlab.search.rollouts import subpar_children
from conceptlab.testing.tictactoe import Board, TicTacToe
from conceptlab.values import Evaluation, RolloutSet, SearchResult

DOMAIN = TicTacToe()


class HighestCellAgent(Agent[Board]):
    """Priors growing with the cell index (its argmax is the highest legal cell); value 0."""

    name = "highest-cell-test"

    @property
    def layer_names(self) -> tuple[str, ...]:
        return ()

    def evaluate(self, states: Sequence[Board], layers: Sequence[str] = ()) -> Evaluation:
        policy = np.zeros((len(states), 9), dtype=np.float32)
        for i, state in enumerate(states):
            legal = list(DOMAIN.legal_actions(state))
            policy[i, legal] = np.asarray(legal, dtype=np.float32) + 1.0
            policy[i] /= max(policy[i].sum(), 1.0)
        return Evaluation(policy, np.zeros(len(states), dtype=np.float32))


def searched(board: str = ".........", simulations: int = 300, seed: int = 0) -> tuple[PUCTSearch, SearchResult]:
    puct = PUCTSearch(DOMAIN, build_params(PUCTSearch, {"simulations": simulations, "batch_size": 4}))
    return puct, puct.run(DOMAIN.from_text(board), HighestCellAgent(DOMAIN), np.random.default_rng(seed))


def node_at(root: Node, actions: Sequence[int]) -> Node:
    node = root
    for action in actions:
        node = node.children[list(node.actions).index(action)]
    return node


def check_line(states: Sequence[Board], actions: Sequence[int]) -> None:
    assert len(states) == len(actions) + 1
    for k, action in enumerate(actions):
        assert DOMAIN.apply(states[k], action) == states[k + 1]


@pytest.mark.parametrize(("value_gap", "visit_gap"), [(0.2, 0.1), (0.5, 0.0), (0.0, 0.5), (2.0, 0.3)])
def test_subpar_rollouts_satisfy_the_thresholds(value_gap: float, visit_gap: float) -> None:
    puct, result = searched()
    params = RolloutParams(plies=4, value_gap=value_gap, visit_gap=visit_gap, max_subpar_per_depth=3)
    rollouts = puct.rollouts(result, params, HighestCellAgent(DOMAIN))
    chosen = rollouts.chosen
    assert chosen.states[0] == result.state and chosen.branch_depth == -1
    assert len(chosen.actions) == 4
    check_line(chosen.states, chosen.actions)
    assert rollouts.subpar, "a 300-simulation tree has rejected children"
    per_depth: dict[int, list[int]] = {}
    for line in rollouts.subpar:
        j = line.branch_depth
        assert line.states[0] == chosen.states[j]
        check_line(line.states, line.actions)
        assert len(line.actions) == 4 - j
        node = node_at(result.tree, chosen.actions[:j])
        best = list(node.actions).index(chosen.actions[j])
        alt = list(node.actions).index(line.actions[0])
        q, visits = node.q_values(), node.visits
        assert alt != best and visits[alt] > 0
        assert q[best] - q[alt] >= value_gap or visits[alt] <= (1 - visit_gap) * visits[best]
        assert line.visits == visits[alt] and line.value == pytest.approx(q[alt])
        per_depth.setdefault(j, []).append(int(visits[alt]))
    for counts in per_depth.values():
        assert len(counts) <= 3 and counts == sorted(counts, reverse=True)


def test_every_qualifying_child_is_kept_up_to_the_limit() -> None:
    puct, result = searched()
    params = RolloutParams(plies=3, max_subpar_per_depth=50)
    rollouts = puct.rollouts(result, params, HighestCellAgent(DOMAIN))
    for j in range(3):
        node = node_at(result.tree, rollouts.chosen.actions[:j])
        best = list(node.actions).index(rollouts.chosen.actions[j])
        q, visits = node.q_values(), node.visits
        expected = {
            int(node.actions[i]) for i in range(len(visits))
            if i != best and visits[i] > 0
            and (q[best] - q[i] >= 0.2 or visits[i] <= 0.9 * visits[best])
        }
        found = {line.actions[0] for line in rollouts.subpar if line.branch_depth == j}
        assert found == expected


def test_chosen_rollout_follows_most_visited_children() -> None:
    puct, result = searched()
    rollouts = puct.rollouts(result, RolloutParams(plies=3, branch_depths=[1]))
    node = result.tree
    for action in rollouts.chosen.actions:
        i = list(node.actions).index(action)
        assert node.visits[i] == node.visits.max()
        node = node.children[i]
    first = result.actions.index(rollouts.chosen.actions[0])
    assert rollouts.chosen.visits == result.visit_counts[first]
    assert rollouts.chosen.value == pytest.approx(result.q_values[first])
    assert {line.branch_depth for line in rollouts.subpar} == {1}


def test_lines_past_the_tree_continue_with_the_policy_argmax() -> None:
    puct, result = searched(simulations=3)
    agent = HighestCellAgent(DOMAIN)
    rollouts: RolloutSet = puct.rollouts(result, RolloutParams(plies=6), agent)
    chosen = rollouts.chosen
    assert len(chosen.actions) == 6
    depth_in_tree = len(result.principal_variation)
    for k in range(depth_in_tree, 6):
        assert chosen.actions[k] == max(DOMAIN.legal_actions(chosen.states[k]))
    short = puct.rollouts(result, RolloutParams(plies=6, extend_with_policy=False))
    assert short.chosen.actions == result.principal_variation
    with pytest.raises(ComponentError, match="needs an agent"):
        puct.rollouts(result, RolloutParams(plies=6))


def test_lines_stop_at_terminal_states() -> None:
    puct, result = searched("XOXOXO...", simulations=50)
    rollouts = puct.rollouts(result, RolloutParams(plies=10), HighestCellAgent(DOMAIN))
    for line in (rollouts.chosen, *rollouts.subpar):
        assert DOMAIN.is_terminal(line.states[-1])
        assert len(line.actions) <= 3


def test_bad_branch_depth_raises() -> None:
    puct, result = searched(simulations=20)
    with pytest.raises(ParamsError, match=r"\[5\]"):
        puct.rollouts(result, RolloutParams(plies=5, branch_depths=[0, 5]))


def test_subpar_children_orders_by_visits() -> None:
    _, result = searched()
    root = result.tree
    best = int(np.argmax(root.visits))
    found = subpar_children(root, best, RolloutParams(visit_gap=0.0))  # every visited child
    assert best not in found
    assert [root.visits[i] for i in found] == sorted((root.visits[i] for i in found), reverse=True)
    assert len(found) == int((root.visits > 0).sum()) - 1
