"""Players for OpenSpiel domains: OpenSpiel's random-rollout MCTS bot and a searching agent.

The MCTS bot is OpenSpiel's C++ ``MCTSBot`` (UCT with a
``RandomRolloutEvaluator``; Lanctot et al., arXiv 1908.09453) with the settings
of OpenSpiel's own ``mcts`` example: exploration constant ``uct_c = 2``, one
random rollout per leaf, and solving of proven wins and losses. It serves twice:
as a reference player whose games feed the novelty filter
(:func:`mcts_selfplay_games`, reached through ``reference_source = "mcts:N"``)
and as the opponent that measures a trained agent (:mod:`conceptlab_openspiel.match`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyspiel

from conceptlab.interfaces import Agent, Search
from conceptlab.values import Action

from conceptlab_openspiel.state import SpielState

__all__ = ["MctsSpec", "SearchPlayer", "SpielGameDomain", "mcts_bot", "mcts_selfplay_games"]

UCT_C = 2.0
"""Exploration constant of OpenSpiel's ``mcts`` example."""
MAX_MEMORY_MB = 1000
"""Memory cap of one MCTS tree."""


@dataclass(frozen=True)
class MctsSpec:
    """An OpenSpiel random-rollout MCTS player, as named in a spec (``"mcts:1000"``)."""

    simulations: int
    """Simulations per move."""
    rollouts: int = 1
    """Random rollouts per evaluated leaf."""

    @classmethod
    def parse(cls, source: str) -> MctsSpec:
        """Read ``"mcts:N"`` or ``"mcts:N:R"``; raises ``ValueError`` naming the expected form."""
        kind, _, rest = source.partition(":")
        parts = rest.split(":") if rest else []
        if kind != "mcts" or not 1 <= len(parts) <= 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError("expected 'mcts:N' or 'mcts:N:R' (N simulations, R rollouts per leaf, both > 0)")
        return cls(*(int(p) for p in parts))

    def __str__(self) -> str:
        return f"mcts:{self.simulations}" + (f":{self.rollouts}" if self.rollouts != 1 else "")

    def describe(self) -> str:
        """A phrase for reports."""
        return (
            f"OpenSpiel's MCTS bot ({self.simulations} simulations, {self.rollouts} random "
            f"rollout{'s' if self.rollouts != 1 else ''} per leaf, uct_c={UCT_C:g})"
        )


class SpielGameDomain(Protocol):
    """What MCTS self-play needs of a domain: its pyspiel game and its rules
    (:class:`~conceptlab_openspiel.domain.OpenSpielDomain` is one)."""

    game: pyspiel.Game
    """The pyspiel game the domain plays."""

    def opening_states(self, count: int, rng: np.random.Generator) -> list[SpielState]:
        """``count`` opening states drawn with ``rng``."""
        ...

    def is_terminal(self, state: SpielState) -> bool:
        """Whether the game is over in ``state``."""
        ...

    def apply(self, state: SpielState, action: Action) -> SpielState:
        """The state after ``action``."""
        ...


def mcts_bot(game: pyspiel.Game, spec: MctsSpec, seed: int) -> pyspiel.MCTSBot:
    """A fresh OpenSpiel MCTS bot for ``game``; its randomness comes from ``seed`` only."""
    evaluator = pyspiel.RandomRolloutEvaluator(spec.rollouts, seed)
    return pyspiel.MCTSBot(game, evaluator, UCT_C, spec.simulations, MAX_MEMORY_MB, True, seed, False)


def mcts_selfplay_games(
    domain: SpielGameDomain, spec: MctsSpec, seed: int = 0
) -> Iterator[list[SpielState]]:
    """An endless, reproducible stream of games of the MCTS bot against itself.

    Game ``g`` starts from one of ``domain.opening_states`` drawn from
    ``(seed, g)``, and both sides' bots are seeded from ``(seed, g)``, so the
    ``g``-th game is the same on every call.
    """
    g = 0
    while True:
        rng = np.random.default_rng([seed, g])
        state = domain.opening_states(1, rng)[0]
        bot = mcts_bot(domain.game, spec, int(rng.integers(2**31)))
        states = [state]
        while not domain.is_terminal(state):
            state = domain.apply(state, int(bot.step(state.native)))
            states.append(state)
        yield states
        g += 1


class SearchPlayer:
    """An agent that picks the most-visited action of the core's search (no noise).

    Args:
        search: The spec's search component (e.g. ``puct``).
        agent: The agent whose priors and values guide it.
        rng: The only source of randomness.
    """

    def __init__(self, search: Search[Any], agent: Agent[Any], rng: np.random.Generator) -> None:
        self.search = search
        self.agent = agent
        self.rng = rng

    def step(self, state: Any) -> Action:
        """The action to play in ``state``."""
        return int(self.search.run(state, self.agent, self.rng).chosen_action)
