"""How much an agent's winning goes through the planted rule, against a player who ignores it.

:func:`rule_use` plays ``games`` games of the planted variant between a
player under test and a rule-ignoring opponent, colours alternating, from the
domain's random openings. The opponent chooses its moves on the standard game
(:func:`standard_rules`): it neither completes the pattern on purpose nor sees
the opponent's. Players are functions ``(state, rng) -> action``:

- :func:`line_player`: completes a line of ``connect`` when it can, else blocks
  the opponent's, else a uniformly random move (a rule-ignoring baseline that
  needs no training);
- :func:`random_player`;
- :func:`search_player`: an agent choosing the most-visited move of a search,
  on whichever rules its domain has (the standard-trained reference player
  searches the standard game).

The figures: wins, draws and losses of the player under test, the share of its
wins that came through the rule (``rule_win_share``, with a 95% Wilson
interval), and the share of positions of these games where the planted
predicate holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from conceptlab.interfaces import Agent, Search
from conceptlab.stats import pass_rate, wilson_interval

from conceptlab_planted.domain import Board, PlantedConnect

__all__ = [
    "Player",
    "RuleUse",
    "line_player",
    "random_player",
    "rule_use",
    "search_player",
    "standard_rules",
]

Player = Callable[[Board, np.random.Generator], int]
"""A move chooser: ``(state, rng) -> action``."""


def standard_rules(domain: PlantedConnect) -> PlantedConnect:
    """The same board and pattern with the planted rule off: the standard game."""
    return PlantedConnect(domain.params.model_copy(update={"planted": False}))


def random_player(domain: PlantedConnect) -> Player:
    """A uniformly random legal move."""

    def move(state: Board, rng: np.random.Generator) -> int:
        legal = domain.legal_actions(state)
        return int(legal[rng.integers(len(legal))])

    return move


def line_player(domain: PlantedConnect) -> Player:
    """Complete a line of ``connect`` if possible, else block the opponent's, else move at random.

    It plays by the standard rules only: squares and marked cells mean nothing to it.
    """

    def move(state: Board, rng: np.random.Generator) -> int:
        legal = [int(a) for a in domain.legal_actions(state)]
        mover = domain.current_player(state)
        for player in (mover, 1 - mover):  # win if possible, else take the opponent's winning cell
            for a in legal:
                if domain.completes(state, a, player) == "line":
                    return a
        return legal[int(rng.integers(len(legal)))]

    return move


def search_player(domain: PlantedConnect, agent: Agent[Any], search: Search[Any]) -> Player:
    """The most-visited move of ``search`` guided by ``agent``, on ``domain``'s rules (no noise)."""

    def move(state: Board, rng: np.random.Generator) -> int:
        board = domain.from_text(domain.to_text(state))
        return int(search.run(board, agent, rng).chosen_action)

    return move


@dataclass
class RuleUse:
    """Results of the player under test against a rule-ignoring opponent."""

    games: int = 0
    """Games played."""
    wins: int = 0
    """Games the player under test won."""
    draws: int = 0
    """Games drawn (a full board)."""
    losses: int = 0
    """Games the player under test lost."""
    wins_by_rule: int = 0
    """Wins through the planted pattern alone (no line with the winning stone)."""
    losses_by_rule: int = 0
    """Losses through the pattern (the rule-ignoring opponent completed it by chance)."""
    positions: int = 0
    """Positions before each move of either side."""
    predicate_positions: int = 0
    """Of them, those where the planted predicate holds (at the horizon k)."""
    k: int = 1
    """The predicate's horizon."""
    pattern_wins_available: int = 0
    """Moves of the player under test where completing the pattern won at once and no line did."""
    pattern_wins_taken: int = 0
    """Of them, those where it completed the pattern: the plainest sign that it knows the rule."""
    pattern_blocks_needed: int = 0
    """Moves of the player under test, with no win of its own at once, where the opponent could
    complete the pattern (and no line) in exactly one column next move."""
    pattern_blocks_made: int = 0
    """Of them, those where it dropped its stone in that column."""
    line_wins_available: int = 0
    """Moves of the player under test where a line won at once (the standard rule, for comparison)."""
    line_wins_taken: int = 0
    """Of them, those where it completed a line."""
    lengths: list[int] = field(default_factory=list)
    """Moves played in each game, after its random opening."""

    def figures(self) -> dict[str, Any]:
        """The results as JSON-ready figures."""
        low, high = wilson_interval(self.wins_by_rule, self.wins)
        return {
            "games": self.games,
            "wins": self.wins,
            "draws": self.draws,
            "losses": self.losses,
            "win_rate": round(self.wins / self.games, 4) if self.games else None,
            "wins_by_rule": self.wins_by_rule,
            "losses_by_rule": self.losses_by_rule,
            "rule_win_share": round(self.wins_by_rule / self.wins, 4) if self.wins else None,
            "rule_win_share_ci_low": round(low, 4),
            "rule_win_share_ci_high": round(high, 4),
            "win_rate_by_rule": round(self.wins_by_rule / self.games, 4) if self.games else None,
            "positions": self.positions,
            "predicate_share": round(self.predicate_positions / self.positions, 4) if self.positions else None,
            "predicate_k": self.k,
            "mean_moves": round(float(np.mean(self.lengths)), 2) if self.lengths else None,
            **_share("pattern_wins_taken", self.pattern_wins_taken, self.pattern_wins_available),
            **_share("pattern_blocks_made", self.pattern_blocks_made, self.pattern_blocks_needed),
            **_share("line_wins_taken", self.line_wins_taken, self.line_wins_available),
        }


def _share(name: str, count: int, of: int) -> dict[str, Any]:
    """``count`` of ``of`` as figures: both counts, the share and its Wilson 95% interval."""
    return {name: count, f"{name}_of": of, **{f"{name}_{key}": value for key, value in pass_rate(count, of).items()}}


def _observe(domain: PlantedConnect, state: Board, action: int, result: RuleUse) -> None:
    """Count what the player under test did where the pattern, or a line, decided the game at once."""
    me = domain.current_player(state)
    legal = list(domain.legal_actions(state))
    mine = {a: domain.completes(state, a, me) for a in legal}
    if any(kind == "line" for kind in mine.values()):
        result.line_wins_available += 1
        result.line_wins_taken += mine[action] == "line"
        return
    if any(kind == "pattern" for kind in mine.values()):
        result.pattern_wins_available += 1
        result.pattern_wins_taken += mine[action] == "pattern"
        return
    theirs = {a: domain.completes(state, a, 1 - me) for a in legal}
    if any(kind == "line" for kind in theirs.values()):
        return  # a line threat to stop first: the pattern is not what decides this move
    threats = [a for a, kind in theirs.items() if kind == "pattern"]
    if len(threats) == 1:
        result.pattern_blocks_needed += 1
        result.pattern_blocks_made += action == threats[0]


def rule_use(domain: PlantedConnect, player: Player, opponent: Player, *, games: int,
             rng: np.random.Generator, k: int | None = None,
             on_game: Callable[[int, Board, int], None] | None = None) -> RuleUse:
    """Play ``games`` games of ``domain`` (the planted variant) between ``player`` and ``opponent``.

    ``player`` moves first in the even-numbered games. Each game starts from one of
    the domain's random openings. ``k`` is the predicate's horizon (default: the
    domain's ``horizon``). ``on_game(index, final state, player's side)`` is called
    after each game.

    Raises:
        ValueError: ``domain`` does not have the planted rule in force, or ``games < 1``.
    """
    if not domain.params.planted:
        raise ValueError("rule_use: the domain has planted = false; measure on the variant")
    if games < 1:
        raise ValueError(f"rule_use: games must be >= 1, got {games}")
    k = domain.params.horizon if k is None else k
    result = RuleUse(k=k)
    for index, start in enumerate(domain.opening_states(games, rng)):
        side = index % 2
        state, moves = start, 0
        while not domain.is_terminal(state):
            result.positions += 1
            result.predicate_positions += domain.planted_predicate(state, k)
            if domain.current_player(state) == side:
                action = player(state, rng)
                _observe(domain, state, action, result)
            else:
                action = opponent(state, rng)
            state = domain.apply(state, action)
            moves += 1
        result.games += 1
        result.lengths.append(moves)
        score = domain.returns(state)[side]
        if score > 0:
            result.wins += 1
            result.wins_by_rule += state.by_rule
        elif score < 0:
            result.losses += 1
            result.losses_by_rule += state.by_rule
        else:
            result.draws += 1
        if on_game is not None:
            on_game(index, state, side)
    return result
