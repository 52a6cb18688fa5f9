"""PUCT Monte-Carlo tree search with batched leaf evaluation (the built-in search ``puct``)."""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from conceptlab.errors import ComponentError, InvalidStateError
from conceptlab.interfaces import Agent, RolloutParams, Search, StrictParams
from conceptlab.interfaces.domain import S
from conceptlab.search.rollouts import extract_rollouts
from conceptlab.search.tree import (
    Node,
    Path,
    choose_index,
    most_visited,
    principal_variation,
    reset_selection,
)
from conceptlab.values import Action, RolloutSet, SearchResult

__all__ = ["Node", "PUCTParams", "PUCTSearch", "choose_index", "most_visited", "principal_variation"]


class PUCTParams(StrictParams):
    """Params of :class:`PUCTSearch`."""

    simulations: int = Field(
        default=100, ge=1,
        description="Simulation budget per search: the root's visit counts sum to this "
        "(including visits kept from a reused tree).",
    )
    batch_size: int = Field(
        default=8, ge=1,
        description="Distinct leaves collected (under virtual loss) per Agent.evaluate call; "
        "1 is plain sequential MCTS.",
    )
    c_init: float = Field(
        default=1.25, gt=0, description="AlphaZero's c_init: the base weight of the prior term."
    )
    c_base: float = Field(
        default=19652.0, gt=0,
        description="AlphaZero's c_base: the exploration weight grows by log((1 + N + c_base) / c_base).",
    )
    dirichlet_alpha: float = Field(
        default=0.3, gt=0, description="Concentration of the Dirichlet noise added to root priors."
    )
    dirichlet_fraction: float = Field(
        default=0.25, ge=0, le=1,
        description="Weight of the noise in the root priors (only when run(add_noise=True)).",
    )
    virtual_loss: float = Field(
        default=1.0, ge=0,
        description="Value subtracted per pending visit while a batch is collected, so that "
        "later descents in the same batch spread over other leaves.",
    )
    fpu_value: float = Field(
        default=0.0, ge=-1, le=1,
        description="First-play urgency: the Q value assumed for an unvisited child, "
        "from the mover's perspective.",
    )
    max_collisions: int | None = Field(
        default=None, ge=0,
        description="Descents that may reach an already-pending leaf before a batch is sent "
        "short (default: batch_size).",
    )


class PUCTSearch(Search[S]):
    """PUCT Monte-Carlo tree search guided by an agent's priors and values.

    Implements the search of Silver et al., "A general reinforcement learning
    algorithm that masters chess, shogi, and Go through self-play" (Science,
    2018): selection by ``Q + c(N) * P * sqrt(N) / (1 + n)`` with
    ``c(N) = c_init + log((1 + N + c_base) / c_base)``, Dirichlet noise on the
    root priors in self-play, and moves chosen by visit count with a temperature.

    Departures, all documented as params or here:

    * Leaves are evaluated in batches of up to ``batch_size`` distinct states,
      kept apart by virtual loss. A descent that reaches a leaf already waiting
      in the batch keeps its virtual loss until the batch is evaluated (to steer
      later descents elsewhere) but is not counted as a simulation, so the root's
      visit counts always sum to the budget exactly.
    * The exploration term uses ``sqrt(1 + N)`` instead of ``sqrt(N)`` so that
      the priors order the very first visits, and unvisited children take the
      ``fpu_value`` param as their Q (AlphaZero's pseudocode used a loss).
    * Values are backed up per player: a node's value is negated for the other
      player, whoever moves next (players need not alternate).
    * A reused tree keeps its visits: a search from it runs only the simulations
      missing from the budget.

    While :meth:`run` grows the tree it pauses Python's cycle collector (the
    agent's ``evaluate`` is called with it paused) and restores it on return.
    """

    name: ClassVar[str] = "puct"
    Params: ClassVar[type[StrictParams]] = PUCTParams
    params: PUCTParams

    # -- the search ----------------------------------------------------------------------------
    def run(
        self,
        state: S,
        agent: Agent[S],
        rng: np.random.Generator,
        *,
        tree: Any = None,
        add_noise: bool = False,
        temperature: float = 0.0,
    ) -> SearchResult[S]:
        if temperature < 0 or not math.isfinite(temperature):
            raise ComponentError(f"search 'puct': temperature must be >= 0 (got {temperature!r})")
        root = self._root(state, agent, tree)
        p = self.params
        priors = root.priors
        if add_noise and p.dirichlet_fraction > 0 and len(priors) > 1:
            noise = rng.dirichlet(np.full(len(priors), p.dirichlet_alpha))
            priors = (1 - p.dirichlet_fraction) * priors + p.dirichlet_fraction * noise
        budget = max(p.simulations - int(root.visits.sum()), 0)
        done = 0
        with _cyclic_gc_paused():
            while done < budget:
                done += self._simulate_batch(root, priors, agent, min(p.batch_size, budget - done))
        return self._result(root, priors, done, temperature, rng)

    def advance(self, result: SearchResult[S], action: Action) -> Any:
        """The searched child of ``result.tree`` under ``action`` (``None`` if never expanded)."""
        root = result.tree
        if not isinstance(root, Node) or root.actions is None:
            return None
        where = np.flatnonzero(root.actions == action)
        if len(where) == 0:
            return None
        child = root.children[int(where[0])]
        return child if child is not None and child.expanded else None

    def _root(self, state: S, agent: Agent[S], tree: Any) -> Node:
        if tree is not None:
            if not isinstance(tree, Node):
                raise ComponentError(
                    f"search 'puct': tree must be a Node from PUCTSearch.advance (got {type(tree).__name__})"
                )
            if tree.state != state:
                raise ComponentError(
                    f"search 'puct': the reused tree is for {self.domain.to_text(tree.state)!r}, "
                    f"not {self.domain.to_text(state)!r}"
                )
            root = tree
            key = (self.params.virtual_loss, self.params.fpu_value)
            if root.expanded and root.select_key != key:
                reset_selection(root, key)
        else:
            root = Node(self.domain, state)
        if root.terminal:
            raise InvalidStateError(
                f"cannot search from the terminal state {self.domain.to_text(state)!r}"
            )
        if not root.expanded:
            evaluation = agent.evaluate([state])
            self._expand(root, evaluation.policy[0], float(evaluation.value[0]))
        return root

    def _simulate_batch(self, root: Node, root_priors: np.ndarray, agent: Agent[S], target: int) -> int:
        """Collect up to ``target`` leaves, evaluate them at once, back up; return simulations run."""
        limit = self.params.max_collisions
        limit = self.params.batch_size if limit is None else limit
        pending: list[tuple[Node, Path]] = []
        collisions: list[Path] = []
        done = 0
        while len(pending) + done < target and len(collisions) <= limit:
            leaf, path = self._descend(root, root_priors)
            if leaf.returns is not None:
                self._backup(path, leaf.returns, virtual=False)
                done += 1
                continue
            if leaf.pending:
                collisions.append(path)
            else:
                leaf.pending = True
                pending.append((leaf, path))
            self._add_virtual(path, +1)
        for path in collisions:
            self._add_virtual(path, -1)
        if pending:
            states = [leaf.state for leaf, _ in pending]
            evaluation = agent.evaluate(states)
            for k, (leaf, path) in enumerate(pending):
                leaf.pending = False
                value = float(evaluation.value[k])
                self._expand(leaf, evaluation.policy[k], value)
                values = (value, -value) if leaf.player == 0 else (-value, value)
                self._backup(path, values, virtual=True)
        return done + len(pending)

    def _expand(self, node: Node, policy: np.ndarray, value: float) -> None:
        actions = self.domain.legal_actions(node.state)
        if len(actions) == 0:
            raise ComponentError(
                f"domain {self.domain.name!r}: the non-terminal state "
                f"{self.domain.to_text(node.state)!r} has no legal actions"
            )
        node.expand(
            actions, policy, value, virtual_loss=self.params.virtual_loss, fpu_value=self.params.fpu_value
        )

    def _descend(self, root: Node, root_priors: np.ndarray) -> tuple[Node, Path]:
        """Select edges from ``root`` down to an unexpanded or terminal node."""
        path: Path = []
        node = root
        priors = root_priors
        while node.expanded and not node.terminal:
            i = self._select(node, priors)
            path.append((node, i))
            child = node.children[i]
            if child is None:
                child = Node(self.domain, self.domain.apply(node.state, int(node.actions[i])))  # type: ignore[index]
                node.children[i] = child
            node = child
            priors = node.priors
        return node, path

    def _select(self, node: Node, priors: np.ndarray) -> int:
        """The edge maximising the PUCT score, counting pending visits as losses.

        ``Q + c(N) * P * sqrt(1 + N) / (1 + n)``, with ``n`` the edge's visits and
        pending visits and ``Q`` its mean value with every pending visit counted
        as ``-virtual_loss`` (``fpu_value`` while ``n = 0``). The node keeps ``Q``,
        ``1 + n`` and ``N`` current (:meth:`_add_virtual`, :meth:`_backup`), so a
        descent does a handful of vector operations per level.
        """
        p = self.params
        total = node.select_total
        c = p.c_init + math.log((1.0 + total + p.c_base) / p.c_base)
        score = node.select_q + c * priors * math.sqrt(1.0 + total) / node.select_n1
        return int(score.argmax())

    def _add_virtual(self, path: Path, sign: int) -> None:
        """Add (``sign = 1``) or remove (``-1``) one pending visit along ``path``."""
        virtual_loss, fpu_value = self.params.virtual_loss, self.params.fpu_value
        for node, i in path:
            pending = node.edge_pending[i] + sign
            node.edge_pending[i] = pending
            node.select_total += sign
            n = node.edge_visits[i] + pending
            node.select_n1[i] = 1.0 + n
            node.select_q[i] = (node.edge_value_sums[i] - virtual_loss * pending) / n if n > 0 else fpu_value

    def _backup(self, path: Path, values: tuple[float, float], *, virtual: bool) -> None:
        """Add one visit along ``path``; ``values[p]`` is the leaf's value for player ``p``.

        With ``virtual``, the descent's pending visit turns into this visit.
        """
        virtual_loss = self.params.virtual_loss
        for node, i in path:
            visits = node.edge_visits[i] + 1
            node.edge_visits[i] = visits
            value_sum = node.edge_value_sums[i] + values[node.player]
            node.edge_value_sums[i] = value_sum
            pending = node.edge_pending[i]
            if virtual:
                pending -= 1
                node.edge_pending[i] = pending
            else:
                node.select_total += 1
            n = visits + pending
            node.select_n1[i] = 1.0 + n
            node.select_q[i] = (value_sum - virtual_loss * pending) / n

    # -- the result ------------------------------------------------------------------------------
    def _result(
        self, root: Node, priors: np.ndarray, done: int, temperature: float, rng: np.random.Generator
    ) -> SearchResult[S]:
        visits = root.visits
        total = int(visits.sum())
        index = choose_index(visits, priors, temperature, rng)
        chosen = int(root.actions[index])  # type: ignore[index]
        root_value = (root.value + float(root.value_sums.sum())) / (1 + total)
        return SearchResult(
            state=root.state,
            actions=tuple(int(a) for a in root.actions),
            visit_counts=visits,
            q_values=root.q_values(),
            priors=np.asarray(priors, dtype=np.float64).copy(),
            chosen_action=chosen,
            principal_variation=principal_variation(root),
            root_value=root_value,
            simulations=done,
            tree=root,
        )

    # -- rollouts ------------------------------------------------------------------------------
    def rollouts(
        self, result: SearchResult[S], params: RolloutParams, agent: Agent[S] | None = None
    ) -> RolloutSet[S]:
        """The chosen and subpar rollouts read off ``result.tree`` (see :mod:`conceptlab.search.rollouts`).

        Read them before the tree is reused: a later search from a subtree adds visits to it.
        """
        if not isinstance(result.tree, Node):
            raise ComponentError("search 'puct': result has no PUCT tree to read rollouts from")
        return extract_rollouts(self.domain, result.tree, params, agent)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a search grows its tree.

    A search allocates many small objects that live as long as the tree, so
    the collector would run again and again over a growing tree that holds no
    cycles (children do not point back to their parents): about a fifth of the
    search's own time with chess. Reference counting still frees everything;
    the collector resumes, if it was on, when the search returns or raises.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
