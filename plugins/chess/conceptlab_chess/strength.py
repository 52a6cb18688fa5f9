"""Playing strength against Stockfish at a limited Elo, with a confidence interval.

Games alternate colours and walk through the opening list (each opening once
with each colour). The score ``s`` (win 1, draw 1/2) maps to an Elo difference
by the logistic model, ``d = -400 log10(1/s - 1)``; the 95% interval maps
``s +- 1.96 SE``, where ``SE`` is the standard error of the mean per-game score.
Stockfish's ``UCI_Elo`` is calibrated by its authors against other engines at
their own time control, so the estimate is a rough anchor, not a rating.
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

__all__ = ["GameRecord", "MatchResult", "elo_difference", "play_game", "play_match", "play_match_games", "summarise"]

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

    def describe(self) -> str:
        """Two lines for a person."""
        head = (
            f"score {self.score:.3f} over {self.games} games (+{self.wins} ={self.draws} -{self.losses}) "
            f"against Stockfish UCI_Elo {self.opponent_elo}\n"
        )
        if not math.isfinite(self.elo):
            side = "below" if self.elo < 0 else "above"
            return head + (
                f"Elo estimate unbounded: every game was {'lost' if self.elo < 0 else 'won'}, so the agent is far "
                f"{side} {self.opponent_elo}; play a {'weaker' if self.elo < 0 else 'stronger'} opponent"
            )
        return head + f"Elo estimate {self.elo:.0f} (95% CI {self.elo_low:.0f} .. {self.elo_high:.0f})"


def summarise(scores: Sequence[float], opponent_elo: int) -> MatchResult:
    """The :class:`MatchResult` of per-game ``scores`` against ``opponent_elo``."""
    x = np.asarray(scores, dtype=float)
    n = len(x)
    if n == 0:
        raise ComponentError("no games were played, so there is no score to estimate from")
    s = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.5

    def elo(score: float) -> float:
        if score <= 0.0:
            return -math.inf
        if score >= 1.0:
            return math.inf
        return opponent_elo + elo_difference(score)

    return MatchResult(
        games=n, wins=int((x == 1).sum()), draws=int((x == 0.5).sum()), losses=int((x == 0).sum()),
        score=s, opponent_elo=opponent_elo, elo=elo(s),
        elo_low=elo(s - Z95 * se), elo_high=elo(s + Z95 * se),
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
    """Play one game from ``opening``; adjudicated a draw after ``max_plies`` plies."""
    board = opening.board()
    state: ChessState = domain.state_from_board(board)
    played: list[str] = []
    while not domain.is_terminal(state) and len(played) < max_plies:
        if (state.board.turn == chess.WHITE) == agent_white:
            move = domain.move_of(state, player.decide(state).action)
        else:
            reply = engine.play(board, engine_limit)
            if reply.move is None:
                break
            move = reply.move
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
        engine_time=engine_time, max_plies=max_plies, on_game=on_game,
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
        limit = chess.engine.Limit(time=engine_time)
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
