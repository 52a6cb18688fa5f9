"""Chosen and subpar rollouts read off a PUCT search tree (method.md section 2).

The chosen rollout follows the most-visited child from the root for ``T``
plies. A subpar rollout leaves it at depth ``j`` by an alternative child that
the search judged worse (a value at least ``value_gap`` below the best child's,
or at least ``visit_gap`` of its visits fewer) and then follows most-visited
children to step ``T``. Past the tree's frontier a line is continued with the
agent's most likely move, for all lines at once, one batched evaluation per ply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conceptlab.errors import ComponentError, ParamsError
from conceptlab.interfaces import Agent, Domain, RolloutParams
from conceptlab.search.tree import Node, most_visited
from conceptlab.values import Action, Rollout, RolloutSet

__all__ = ["extract_rollouts", "subpar_children"]


@dataclass
class _Line:
    """A rollout under construction: where it stands and how far it must go."""

    states: list[Any]
    actions: list[Action]
    plies: int
    """The number of actions the finished line should have."""
    branch_depth: int
    value: float
    visits: int
    node: Node | None = field(default=None, repr=False)
    """The tree node of the last state, while the line is still inside the tree."""

    def done(self, domain: Domain[Any]) -> bool:
        return len(self.actions) >= self.plies or domain.is_terminal(self.states[-1])


def extract_rollouts(
    domain: Domain[Any], root: Node, params: RolloutParams, agent: Agent[Any] | None = None
) -> RolloutSet[Any]:
    """The chosen rollout from ``root`` and the subpar rollouts branching off it.

    Args:
        domain: The domain the tree was searched in.
        root: An expanded root node (``SearchResult.tree``).
        params: ``plies`` (T), the gaps, branch depths and the policy extension.
        agent: Continues lines past the tree's frontier when
            ``params.extend_with_policy`` is set.

    Raises:
        ParamsError: A branch depth is outside ``0 <= j < plies``.
        ComponentError: A line must be extended but no agent was given.
    """
    plies = params.plies
    depths = list(range(plies)) if params.branch_depths is None else list(params.branch_depths)
    bad = [j for j in depths if not 0 <= j < plies]
    if bad:
        raise ParamsError(f"rollout branch_depths {bad!r} are outside 0 <= j < plies={plies}")

    chosen = _Line([root.state], [], plies, -1, float("nan"), 0, root)
    _follow_tree(domain, chosen)
    _extend(domain, [chosen], params, agent)

    subpar: list[_Line] = []
    node: Node | None = root
    for j in range(plies):
        if node is None or not node.expanded or j >= len(chosen.actions):
            break
        best = int(np.flatnonzero(node.actions == chosen.actions[j])[0])  # type: ignore[union-attr]
        if j in depths:
            for i in subpar_children(node, best, params)[: params.max_subpar_per_depth]:
                line = _Line([node.state], [], plies - j, j, float(node.q_values()[i]), int(node.visits[i]))
                _step_into(domain, line, node, i)
                _follow_tree(domain, line)
                subpar.append(line)
        node = node.children[best]
    _extend(domain, subpar, params, agent)
    return RolloutSet(chosen=_freeze(chosen), subpar=tuple(_freeze(line) for line in subpar))


def subpar_children(node: Node, best: int, params: RolloutParams) -> list[int]:
    """Indices of ``node``'s visited children that the search rejected relative to ``best``.

    A child qualifies when its Q value (for the player to move at ``node``) is at
    least ``value_gap`` below the best child's, or when it has at most
    ``(1 - visit_gap)`` times the best child's visits. Only visited children
    have a value, so unvisited ones are never subpar. Most visited first, ties by
    lower index.
    """
    q = node.q_values()
    visits = node.visits
    found = []
    for i in range(len(visits)):
        if i == best or visits[i] == 0:
            continue
        value_gap = q[best] - q[i] >= params.value_gap
        visit_gap = visits[i] <= (1.0 - params.visit_gap) * visits[best]
        if value_gap or visit_gap:
            found.append(i)
    return sorted(found, key=lambda i: (-int(visits[i]), i))


def _step_into(domain: Domain[Any], line: _Line, node: Node, index: int) -> None:
    """Play ``node``'s edge ``index`` on ``line``."""
    action = int(node.actions[index])  # type: ignore[index]
    child = node.children[index]
    line.actions.append(action)
    line.states.append(child.state if child is not None else domain.apply(node.state, action))
    line.node = child


def _follow_tree(domain: Domain[Any], line: _Line) -> None:
    """Extend ``line`` along most-visited children while it is inside the visited tree."""
    while not line.done(domain):
        node = line.node
        if node is None or not node.expanded or len(node.visits) == 0 or node.visits.max() == 0:
            return
        i = most_visited(node)
        if line.branch_depth == -1 and not line.actions:
            line.value, line.visits = float(node.q_values()[i]), int(node.visits[i])
        _step_into(domain, line, node, i)


def _extend(
    domain: Domain[Any], lines: Sequence[_Line], params: RolloutParams, agent: Agent[Any] | None
) -> None:
    """Continue unfinished ``lines`` with the agent's argmax policy, one batch per ply."""
    if not params.extend_with_policy:
        return
    while True:
        open_lines = [line for line in lines if not line.done(domain)]
        if not open_lines:
            return
        if agent is None:
            raise ComponentError(
                "rollouts: extend_with_policy needs an agent to continue lines past the "
                "search tree; pass agent= or set extend_with_policy = false"
            )
        evaluation = agent.evaluate([line.states[-1] for line in open_lines])
        for line, policy in zip(open_lines, evaluation.policy):
            legal = list(domain.legal_actions(line.states[-1]))
            action = max(legal, key=lambda a: (float(policy[a]), -a))
            line.actions.append(int(action))
            line.states.append(domain.apply(line.states[-1], int(action)))
            line.node = None


def _freeze(line: _Line) -> Rollout[Any]:
    return Rollout(
        states=tuple(line.states),
        actions=tuple(line.actions),
        branch_depth=line.branch_depth,
        value=line.value,
        visits=line.visits,
    )
