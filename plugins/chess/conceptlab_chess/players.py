"""Move choosers over the chess domain: a search with an agent, or the agent's policy alone."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conceptlab.errors import ComponentError, InvalidStateError
from conceptlab.interfaces import Agent, Search
from conceptlab.values import Action, SearchResult

from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.state import ChessState

__all__ = ["Decision", "Player", "PolicyPlayer", "Progress", "SearchPlayer", "registry_search_factory"]

SearchFactory = Callable[[int], Search[ChessState]]
"""Simulations -> a search configured for that many."""

Progress = Callable[[SearchResult[ChessState]], bool]
"""Called with the search so far after each step of simulations; ``True`` ends the search."""


@dataclass(frozen=True)
class Decision:
    """A chosen move with what the chooser knows about it."""

    action: Action
    value: float
    """Expected outcome in ``[-1, 1]`` for the player to move."""
    principal_variation: tuple[Action, ...]
    simulations: int
    """Simulations behind the decision (root visits, reused ones included); 0 without search."""
    search: SearchResult[ChessState] | None = field(default=None, compare=False, repr=False)
    """The search's last result (its tree included), when a search chose the move."""


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
        progress: Progress | None = None,
    ) -> Decision:
        """The move to play in the non-terminal ``state``.

        Args:
            state: Where to move.
            simulations: Search budget (the player's default when ``None``).
            deadline: ``time.perf_counter()`` value by which to answer, if any.
            stop: When set, answer as soon as possible with what is known.
            progress: A player that searches calls it after each step of
                simulations; when it returns ``True`` the search ends there.
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
        progress: Progress | None = None,
    ) -> Decision:
        _require_moves(self.domain, state)
        evaluation = self.agent.evaluate([state])
        action = int(np.argmax(evaluation.policy[0]))
        return Decision(action, float(evaluation.value[0]), (action,), 0)


class SearchPlayer(Player):
    """Plays the move a search chooses, with ``simulations`` per move (the default or per call).

    The search grows in steps of ``increment`` simulations, reusing its tree
    (``run(..., tree=result.tree)`` with a larger budget), and stops early at
    the deadline, when ``stop`` is set or when ``progress`` says so. Steps are
    fixed, so a search bounded by simulations alone is reproducible; with a
    deadline, a step is shortened to what the measured rate allows before it,
    and a position with one legal move is answered after the first step.

    Args:
        domain: The chess domain.
        agent: Priors and values for the search.
        make_search: Builds a search for a number of simulations.
        simulations: Simulations per move when a call does not say.
        rng: The only source of randomness of the searches.
        increment: Simulations between checks of the deadline, the stop flag and ``progress``.
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
            if len(self._searches) >= 256:  # deadlines make odd budgets; keep the cache small
                self._searches.clear()
            self._searches[simulations] = self.make_search(simulations)
        return self._searches[simulations]

    def decide(
        self,
        state: ChessState,
        simulations: int | None = None,
        *,
        deadline: float | None = None,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> Decision:
        _require_moves(self.domain, state)
        budget = max(1, int(simulations or self.simulations))
        total, tree, rate = 0, None, 0.0
        first_step = min(self.increment, 8) if deadline is not None else self.increment
        while True:
            step = min(first_step if tree is None else self.increment, budget - total)
            if deadline is not None and rate > 0:
                step = max(1, min(step, int(rate * (deadline - time.perf_counter()))))
            started = time.perf_counter()
            result = self._search(total + step).run(state, self.agent, self.rng, tree=tree)
            tree = result.tree
            total = int(np.sum(result.visit_counts))
            rate = step / max(time.perf_counter() - started, 1e-6)
            if total >= budget or (stop is not None and stop.is_set()):
                break
            if progress is not None and progress(result):
                break
            if deadline is not None and (time.perf_counter() >= deadline or len(result.actions) == 1):
                break
        return Decision(
            int(result.chosen_action), float(result.root_value),
            tuple(int(a) for a in result.principal_variation) or (int(result.chosen_action),),
            total, result,
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
