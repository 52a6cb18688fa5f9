"""Measure a trained agent against OpenSpiel's random-rollout MCTS bot.

A match is ``games`` games from the initial position; the agent moves first in
the even-numbered games and second in the odd ones. The agent picks the
most-visited action of the core's search without noise (deterministic), so the
games differ through the MCTS bot's seed, which is drawn per game from the
match's seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from conceptlab.interfaces import Agent, Search

from conceptlab_openspiel.domain import OpenSpielDomain
from conceptlab_openspiel.players import MctsSpec, SearchPlayer, mcts_bot

__all__ = ["GameResult", "MatchResult", "play_match"]


@dataclass(frozen=True)
class GameResult:
    """One game of a match."""

    agent_player: int
    """0 when the agent moved first, 1 when second."""
    agent_score: float
    """+1 the agent won, 0 draw, -1 lost."""
    moves: int
    """Moves played."""
    history: str
    """The final state's text form (the action history)."""

    @property
    def outcome(self) -> str:
        """``"win"``, ``"draw"`` or ``"loss"`` for the agent."""
        return "win" if self.agent_score > 0 else "loss" if self.agent_score < 0 else "draw"


@dataclass(frozen=True)
class MatchResult:
    """The agent's results in a match against an MCTS bot."""

    opponent: str
    """The opponent, in words."""
    games: tuple[GameResult, ...]
    """Every game, in order."""
    seconds: float
    """Wall-clock time of the match."""

    def count(self, outcome: str, agent_player: int | None = None) -> int:
        """Games with ``outcome`` (optionally only those where the agent was ``agent_player``)."""
        return sum(
            1 for g in self.games
            if g.outcome == outcome and (agent_player is None or g.agent_player == agent_player)
        )

    @property
    def score(self) -> float:
        """(wins + draws / 2) / games."""
        return (self.count("win") + 0.5 * self.count("draw")) / max(len(self.games), 1)

    def describe(self) -> str:
        """Win/draw/loss, score and the split by colour, on three lines."""
        wdl = f"{self.count('win')} W / {self.count('draw')} D / {self.count('loss')} L"
        split = ", ".join(
            f"as {'first' if p == 0 else 'second'} player {self.count('win', p)}/"
            f"{self.count('draw', p)}/{self.count('loss', p)}"
            for p in (0, 1)
        )
        return (
            f"against {self.opponent}: {wdl} of {len(self.games)} games, "
            f"score {self.score:.3f}, win rate {self.count('win') / max(len(self.games), 1):.3f}\n"
            f"{split} (W/D/L)\n"
            f"{self.seconds:.0f} s"
        )


def play_match(
    domain: OpenSpielDomain,
    search: Search[Any],
    agent: Agent[Any],
    opponent: MctsSpec,
    *,
    games: int,
    seed: int,
    on_game: Callable[[int, GameResult], None] | None = None,
) -> MatchResult:
    """Play ``games`` games of the searching ``agent`` against the MCTS bot ``opponent``."""
    start = time.monotonic()
    seeds = np.random.default_rng(seed).integers(2**31, size=games)
    results = []
    for i in range(games):
        agent_player = i % 2
        player = SearchPlayer(search, agent, np.random.default_rng(int(seeds[i])))
        bot = mcts_bot(domain.game, opponent, int(seeds[i]))
        state, moves = domain.initial_state(), 0
        while not domain.is_terminal(state):
            if domain.current_player(state) == agent_player:
                action = player.step(state)
            else:
                action = int(bot.step(state.native))
            state = domain.apply(state, action)
            moves += 1
        result = GameResult(agent_player, domain.returns(state)[agent_player], moves, domain.to_text(state))
        results.append(result)
        if on_game is not None:
            on_game(i, result)
    return MatchResult(opponent.describe(), tuple(results), time.monotonic() - start)
