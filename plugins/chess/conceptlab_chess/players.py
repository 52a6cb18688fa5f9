"""Move choosers over the chess domain: a search with an agent, or the agent's policy alone."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from conceptlab.errors import ComponentError, InvalidStateError
from conceptlab.interfaces import Agent, Search
from conceptlab.values import Action

from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.state import ChessState

__all__ = ["Decision", "Player", "PolicyPlayer", "SearchPlayer", "registry_search_factory"]

SearchFactory = Callable[[int], Search[ChessState]]
"""Simulations -> a search configured for that many."""


@dataclass(frozen=True)
class Decision:
    """A chosen move with what the chooser knows about it."""

    action: Action
    value: float
    """Expected outcome in ``[-1, 1]`` for the player to move."""
    principal_variation: tuple[Action, ...]
    simulations: int
    """Simulations behind the decision (root visits, reused ones included); 0 without search."""


class Player(ABC):
    """Chooses moves in chess states."""

    @abstractmethod
    def decide(
        self,
        state: ChessState,
        simulations: int | None = None,
        *,
        deadline: float | None = None,
        stop: threading.Event | None = None,
    ) -> Decision:
        """The move to play in the non-terminal ``state``.

        Args:
            state: Where to move.
            simulations: Search budget (the player's default when ``None``).
            deadline: ``time.perf_counter()`` value by which to answer, if any.
            stop: When set, answer as soon as possible with what is known.
        """


def _require_moves(domain: ChessDomain, state: ChessState) -> None:
    if domain.is_terminal(state):
        raise InvalidStateError(f"no move to choose: the game is over in {state.fen!r}")


class PolicyPlayer(Player):
    """Plays the agent's most probable move (no search)."""

    def __init__(self, domain: ChessDomain, agent: Agent[ChessState]) -> None:
        self.domain = domain
        self.agent = agent

    def decide(
        self,
        state: ChessState,
        simulations: int | None = None,
        *,
        deadline: float | None = None,
        stop: threading.Event | None = None,
    ) -> Decision:
        _require_moves(self.domain, state)
        evaluation = self.agent.evaluate([state])
        action = int(np.argmax(evaluation.policy[0]))
        return Decision(action, float(evaluation.value[0]), (action,), 0)


class SearchPlayer(Player):
    """Plays the move a search chooses, with ``simulations`` per move (the default or per call).

    The search grows in steps of ``increment`` simulations, reusing its tree
    (``run(..., tree=result.tree)`` with a larger budget), and stops early at
    the deadline or when ``stop`` is set.

    Args:
        domain: The chess domain.
        agent: Priors and values for the search.
        make_search: Builds a search for a number of simulations (cached per number).
        simulations: Simulations per move when a call does not say.
        rng: The only source of randomness of the searches.
        increment: Simulations between checks of the deadline and the stop flag.
    """

    def __init__(
        self,
        domain: ChessDomain,
        agent: Agent[ChessState],
        make_search: SearchFactory,
        simulations: int,
        rng: np.random.Generator,
        increment: int = 64,
    ) -> None:
        self.domain = domain
        self.agent = agent
        self.make_search = make_search
        self.simulations = simulations
        self.rng = rng
        self.increment = increment
        self._searches: dict[int, Search[ChessState]] = {}

    def _search(self, simulations: int) -> Search[ChessState]:
        if simulations not in self._searches:
            self._searches[simulations] = self.make_search(simulations)
        return self._searches[simulations]

    def decide(
        self,
        state: ChessState,
        simulations: int | None = None,
        *,
        deadline: float | None = None,
        stop: threading.Event | None = None,
    ) -> Decision:
        _require_moves(self.domain, state)
        budget = max(1, int(simulations or self.simulations))
        total, tree = 0, None
        while True:
            total = min(budget, total + self.increment)
            result = self._search(total).run(state, self.agent, self.rng, tree=tree)
            tree = result.tree
            if total >= budget or (stop is not None and stop.is_set()):
                break
            if deadline is not None and time.perf_counter() >= deadline:
                break
        return Decision(
            int(result.chosen_action), float(result.root_value),
            tuple(int(a) for a in result.principal_variation) or (int(result.chosen_action),),
            int(np.sum(result.visit_counts)),
        )


def registry_search_factory(domain: ChessDomain, name: str = "puct", params: dict[str, Any] | None = None) -> SearchFactory:
    """A factory of the registered search ``name`` with ``params`` plus ``simulations``.

    Raises:
        ComponentError: No plugin registers a search called ``name`` (the
            message lists those that exist).
    """
    from conceptlab.plugins import get_registry

    registry = get_registry()
    registry.get("search", name)  # fail now, naming the choices, rather than at the first move

    def make(simulations: int) -> Search[ChessState]:
        search = registry.create("search", name, {**(params or {}), "simulations": simulations}, domain)
        if not isinstance(search, Search):
            raise ComponentError(f"search {name!r} did not build a Search")
        return search

    return make
