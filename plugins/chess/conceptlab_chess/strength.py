"""Playing strength against Stockfish at a limited Elo, with a confidence interval.

Games alternate colours and walk through the opening list (each opening once
with each colour). The score ``s`` (win 1, draw 1/2) maps to an Elo difference
by the logistic model, ``d = -400 log10(1/s - 1)``; the 95% interval maps the
Wilson score interval of ``s`` over the ``n`` games (draws counted as half a
point), whose bounds stay inside ``(0, 1)`` whenever ``0 < s < 1``, so both Elo
bounds are finite; at a score of 0 or 1 the data bound the difference on one
side only, and the description says so. Stockfish's ``UCI_Elo`` is calibrated
by its authors against other engines at their own time control, so the
estimate is a rough anchor, not a rating.

The opponent is Stockfish (limited by ``UCI_Elo``, by time or by nodes) or any
:class:`~conceptlab_chess.players.Player`, such as Maia-1900's raw policy
(:func:`play_player_match`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import chess
import chess.engine
import numpy as np

from conceptlab.errors import ComponentError

from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.openings import Opening
from conceptlab_chess.players import Player
from conceptlab_chess.state import ChessState
from conceptlab_chess.stockfish import open_stockfish

__all__ = [
    "GameRecord", "MatchResult", "elo_difference", "play_game", "play_game_against", "play_match", "play_match_games",
    "play_player_match", "summarise", "score_interval",
]

Z95 = 1.959963984540054


def elo_difference(score: float) -> float:
    """Elo difference that the logistic model gives for an expected ``score`` in ``(0, 1)``."""
    return -400.0 * math.log10(1.0 / score - 1.0)


@dataclass(frozen=True)
class GameRecord:
    """One finished match game."""

    opening: str
    agent_white: bool
    score: float
    """The agent's score: 1 win, 0.5 draw, 0 loss."""
    termination: str
    moves: tuple[str, ...]
    """The game's moves in UCI from the opening's end."""


@dataclass(frozen=True)
class MatchResult:
    """Score of the agent and its Elo estimate with a 95% interval."""

    games: int
    wins: int
    draws: int
    losses: int
    score: float
    opponent_elo: int
    elo: float
    """Estimated Elo (opponent's plus the difference); infinite at a score of 0 or 1."""
    elo_low: float
    elo_high: float
    opponent: str = ""
    """Who the opponent was, in words (default: Stockfish at ``opponent_elo``)."""
    score_low: float = 0.0
    score_high: float = 1.0
    """The 95% Wilson interval of the score."""

    def describe(self) -> str:
        """Two lines for a person."""
        against = self.opponent or f"Stockfish UCI_Elo {self.opponent_elo}"
        head = (
            f"score {self.score:.3f} (95% CI {self.score_low:.3f} .. {self.score_high:.3f}) over {self.games} games "
            f"(+{self.wins} ={self.draws} -{self.losses}) against {against}\n"
        )
        if not math.isfinite(self.elo):
            side = "below" if self.elo < 0 else "above"
            return head + (
                f"Elo estimate unbounded: every game was {'lost' if self.elo < 0 else 'won'}, so the agent is far "
                f"{side} {self.opponent_elo}; play a {'weaker' if self.elo < 0 else 'stronger'} opponent"
            )
        if self.opponent_elo == 0:
            return head + f"Elo difference {self.elo:+.0f} (95% CI {self.elo_low:+.0f} .. {self.elo_high:+.0f})"
        return head + f"Elo estimate {self.elo:.0f} (95% CI {self.elo_low:.0f} .. {self.elo_high:.0f})"


def score_interval(score: float, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a mean score over ``n`` games (draws as half points)."""
    from conceptlab.stats import wilson_interval

    return wilson_interval(score * n, n)


def summarise(scores: Sequence[float], opponent_elo: int, opponent: str = "") -> MatchResult:
    """The :class:`MatchResult` of per-game ``scores`` against an opponent rated ``opponent_elo``."""
    x = np.asarray(scores, dtype=float)
    n = len(x)
    if n == 0:
        raise ComponentError("no games were played, so there is no score to estimate from")
    s = float(x.mean())
    low, high = score_interval(s, n)

    def elo(score: float) -> float:
        if score <= 0.0:
            return -math.inf
        if score >= 1.0:
            return math.inf
        return opponent_elo + elo_difference(score)

    return MatchResult(
        games=n, wins=int((x == 1).sum()), draws=int((x == 0.5).sum()), losses=int((x == 0).sum()),
        score=s, opponent_elo=opponent_elo, elo=elo(s), elo_low=elo(low), elo_high=elo(high),
        opponent=opponent, score_low=low, score_high=high,
    )


def play_game(
    domain: ChessDomain,
    player: Player,
    engine: chess.engine.SimpleEngine,
    opening: Opening,
    *,
    agent_white: bool,
    engine_limit: chess.engine.Limit,
    max_plies: int,
) -> GameRecord:
    """Play one game from ``opening`` against Stockfish; adjudicated a draw after ``max_plies`` plies."""
    return play_game_against(domain, player, lambda board, state: engine.play(board, engine_limit).move,
                             opening, agent_white=agent_white, max_plies=max_plies)


def play_game_against(
    domain: ChessDomain,
    player: Player,
    opponent: Callable[[chess.Board, ChessState], chess.Move | None],
    opening: Opening,
    *,
    agent_white: bool,
    max_plies: int,
) -> GameRecord:
    """Play one game from ``opening``; ``opponent(board, state)`` gives the other side's moves.

    An opponent that returns ``None`` ends the game where it stands (scored by
    the rules, or as an adjudicated draw); one that returns an illegal move
    raises :class:`ComponentError`.
    """
    board = opening.board()
    state: ChessState = domain.state_from_board(board)
    played: list[str] = []
    while not domain.is_terminal(state) and len(played) < max_plies:
        if (state.board.turn == chess.WHITE) == agent_white:
            move = domain.move_of(state, player.decide(state).action)
        else:
            reply = opponent(board, state)
            if reply is None:
                break
            if reply not in board.legal_moves:
                raise ComponentError(f"the opponent played {reply.uci()}, illegal in {board.fen()!r}")
            move = reply
        board.push(move)
        state = domain.apply_move(state, move)
        played.append(move.uci())
    outcome = domain.outcome(state)
    if outcome is None:
        score, termination = 0.5, f"adjudicated draw after {max_plies} plies"
    elif outcome.winner is None:
        score, termination = 0.5, outcome.termination.name.lower()
    else:
        score = 1.0 if outcome.winner == agent_white else 0.0
        termination = outcome.termination.name.lower()
    return GameRecord(f"{opening.eco} {opening.name}", agent_white, score, termination, tuple(played))


def play_match(
    domain: ChessDomain,
    player: Player,
    openings: Sequence[Opening],
    *,
    games: int,
    stockfish_elo: int,
    stockfish_path: str | os.PathLike[str] | None = None,
    engine_time: float = 0.05,
    engine_nodes: int | None = None,
    max_plies: int = 300,
    on_game: Callable[[int, GameRecord], None] | None = None,
) -> tuple[MatchResult, list[GameRecord]]:
    """Play ``games`` games against Stockfish limited to ``stockfish_elo``.

    Game ``i`` uses opening ``i // 2`` (cycling) and gives the agent White when
    ``i`` is even.

    Raises:
        StockfishNotFoundError: No Stockfish binary.
        ComponentError: Stockfish refuses the Elo (the message gives its range).
    """
    records = play_match_games(
        domain, player, openings, range(games), stockfish_elo=stockfish_elo, stockfish_path=stockfish_path,
        engine_time=engine_time, engine_nodes=engine_nodes, max_plies=max_plies, on_game=on_game,
    )
    return summarise([r.score for r in records], stockfish_elo), records


def play_match_games(
    domain: ChessDomain,
    player: Player,
    openings: Sequence[Opening],
    indices: Iterable[int],
    *,
    stockfish_elo: int,
    stockfish_path: str | os.PathLike[str] | None = None,
    engine_time: float = 0.05,
    engine_nodes: int | None = None,
    max_plies: int = 300,
    on_game: Callable[[int, GameRecord], None] | None = None,
) -> list[GameRecord]:
    """Games ``indices`` of the match :func:`play_match` describes (a share of it, for parallel players).

    Raises:
        StockfishNotFoundError: No Stockfish binary.
        ComponentError: Stockfish refuses the Elo (the message gives its range).
    """
    options = {"UCI_LimitStrength": True, "UCI_Elo": stockfish_elo}
    records = []
    with open_stockfish(stockfish_path, options=options) as engine:
        limit = chess.engine.Limit(nodes=engine_nodes) if engine_nodes else chess.engine.Limit(time=engine_time)
        for i in indices:
            opening = openings[(i // 2) % len(openings)]
            record = play_game(
                domain, player, engine, opening,
                agent_white=i % 2 == 0, engine_limit=limit, max_plies=max_plies,
            )
            records.append(record)
            if on_game is not None:
                on_game(i, record)
    return records


def play_player_match(
    domain: ChessDomain,
    player: Player,
    opponent: Player,
    openings: Sequence[Opening],
    indices: Iterable[int],
    *,
    max_plies: int = 300,
    on_game: Callable[[int, GameRecord], None] | None = None,
) -> list[GameRecord]:
    """Games ``indices`` against another player (game ``i``: opening ``i // 2``, the agent White when ``i`` is even).

    ``opponent`` decides on the same states (chess states keep the last eight
    positions, so a network reading history, such as an lc0 net, sees it).
    """
    def reply(board: chess.Board, state: ChessState) -> chess.Move:
        return domain.move_of(state, opponent.decide(state).action)

    records = []
    for i in indices:
        record = play_game_against(domain, player, reply, openings[(i // 2) % len(openings)],
                                   agent_white=i % 2 == 0, max_plies=max_plies)
        records.append(record)
        if on_game is not None:
            on_game(i, record)
    return records
