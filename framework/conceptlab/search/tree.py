"""The search tree: nodes with their edge statistics, and how to read moves off a tree.

:class:`Node` is what :class:`~conceptlab.search.puct.PUCTSearch` grows and what
:func:`~conceptlab.search.rollouts.extract_rollouts` walks; the helpers here
read the most-visited move and the principal variation off a tree, and choose a
move to play from visit counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from conceptlab.interfaces import Domain
from conceptlab.values import Action, Player

__all__ = ["Node", "Path", "choose_index", "most_visited", "principal_variation", "reset_selection"]

_NO_EDGES = np.zeros(0)
_NO_EDGES.flags.writeable = False


class Node:
    """One state of the search tree, with the statistics of the edges leaving it.

    Edge statistics live in the parent, one entry per legal action. Visits,
    value sums and pending visits are plain lists (a descent updates single
    entries, which lists do fastest) and read as arrays through the properties
    of the same names; the two arrays PUCT selection needs are kept current
    beside them, so that selection is a few vector operations.
    """

    __slots__ = (
        "state", "terminal", "player", "returns", "actions", "priors", "children", "value", "pending",
        "edge_visits", "edge_value_sums", "edge_pending",
        "select_q", "select_n1", "select_total", "select_key",
    )

    def __init__(self, domain: Domain[Any], state: Any) -> None:
        self.state = state
        self.terminal: bool = bool(domain.is_terminal(state))
        self.player: Player = -1 if self.terminal else int(domain.current_player(state))
        self.returns: tuple[float, float] | None = None
        """Each player's final score, for a terminal state."""
        if self.terminal:
            first, second = domain.returns(state)
            self.returns = (float(first), float(second))
        self.actions: np.ndarray | None = None
        """Legal actions, once the node is expanded."""
        self.priors: np.ndarray = _NO_EDGES
        self.children: list[Node | None] = []
        self.value: float = 0.0
        """The agent's value of this node for its player, once expanded."""
        self.pending: bool = False
        """Whether the node waits in the batch being collected."""
        self.edge_visits: list[int] = []
        self.edge_value_sums: list[float] = []
        self.edge_pending: list[int] = []
        # What PUCT selection reads (see PUCTSearch._select): the Q of each edge
        # with its pending visits counted as losses (``fpu_value`` while it has
        # none), 1 + its visits and pending visits, their sum over the edges,
        # and the (virtual_loss, fpu_value) these assume.
        self.select_q: np.ndarray = _NO_EDGES
        self.select_n1: np.ndarray = _NO_EDGES
        self.select_total: int = 0
        self.select_key: tuple[float, float] | None = None

    @property
    def expanded(self) -> bool:
        """Whether the agent has evaluated this node."""
        return self.actions is not None

    @property
    def visits(self) -> np.ndarray:
        """Visits of each edge (a copy)."""
        return np.array(self.edge_visits, dtype=np.int64)

    @property
    def value_sums(self) -> np.ndarray:
        """Sum of backed-up values of each edge, for this node's player (a copy)."""
        return np.array(self.edge_value_sums, dtype=np.float64)

    @property
    def pending_visits(self) -> np.ndarray:
        """Virtual visits of each edge by descents waiting for an evaluation (a copy)."""
        return np.array(self.edge_pending, dtype=np.int64)

    def expand(
        self, actions: Sequence[Action], policy: np.ndarray, value: float,
        *, virtual_loss: float = 1.0, fpu_value: float = 0.0,
    ) -> None:
        """Attach priors over ``actions`` (renormalised; uniform when the policy is all zero).

        ``virtual_loss`` and ``fpu_value`` are the searching params (see :meth:`reset_selection`).
        """
        self.actions = np.asarray(actions, dtype=np.int64)
        priors = np.asarray(policy, dtype=np.float64)[self.actions]
        total = priors.sum()
        n = len(self.actions)
        self.priors = priors / total if total > 0 else np.full(n, 1.0 / max(n, 1))
        self.edge_visits = [0] * n
        self.edge_value_sums = [0.0] * n
        self.edge_pending = [0] * n
        self.children = [None] * n
        self.value = float(value)
        self.select_q = np.full(n, float(fpu_value))
        self.select_n1 = np.ones(n)
        self.select_total = 0
        self.select_key = (virtual_loss, fpu_value)

    def reset_selection(self, virtual_loss: float, fpu_value: float) -> None:
        """Recompute what selection reads from the edge statistics, for a search with these params."""
        n = self.visits + self.pending_visits
        w = self.value_sums - virtual_loss * self.pending_visits
        with np.errstate(invalid="ignore", divide="ignore"):
            self.select_q = np.where(n > 0, w / np.maximum(n, 1), fpu_value)
        self.select_n1 = 1.0 + n
        self.select_total = int(n.sum())
        self.select_key = (virtual_loss, fpu_value)

    def q_values(self) -> np.ndarray:
        """Mean value of each edge for this node's player (``nan`` if unvisited)."""
        visits = self.visits
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(visits > 0, self.value_sums / np.maximum(visits, 1), np.nan)


Path = list[tuple[Node, int]]


def reset_selection(root: Node, key: tuple[float, float]) -> None:
    """Recompute the selection statistics of every expanded node under ``root`` for ``key``."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.expanded:
            node.reset_selection(*key)
            stack.extend(child for child in node.children if child is not None)


def choose_index(
    visits: np.ndarray, priors: np.ndarray, temperature: float, rng: np.random.Generator
) -> int:
    """Index of the move to play: most visits (ties: higher prior, then lower index) at
    temperature 0, else sampled in proportion to ``visits ** (1 / temperature)``."""
    if temperature == 0 or visits.sum() == 0:
        order = np.lexsort((-priors, -visits))
        return int(order[0])
    logits = np.log(np.maximum(visits, 1e-30).astype(np.float64)) / temperature
    weights = np.exp(logits - logits.max())
    weights[visits == 0] = 0.0
    return int(rng.choice(len(visits), p=weights / weights.sum()))


def most_visited(node: Node) -> int:
    """Index of ``node``'s most-visited edge (ties: higher prior, then lower index)."""
    return int(np.lexsort((-node.priors, -node.visits))[0])


def principal_variation(root: Node) -> tuple[Action, ...]:
    """The line of most-visited children from ``root`` while they have visits."""
    line: list[Action] = []
    node: Node | None = root
    while node is not None and node.expanded and len(node.visits) and node.visits.max() > 0:
        i = most_visited(node)
        line.append(int(node.actions[i]))  # type: ignore[index]
        node = node.children[i]
    return tuple(line)
