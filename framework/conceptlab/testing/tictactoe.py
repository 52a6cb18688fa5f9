"""Tic-tac-toe: a tiny pure-Python domain for fast tests and examples.

The state is an immutable tuple of nine cells (``0`` empty, ``1`` the first
player's X, ``2`` the second player's O), read row by row; action ``i`` marks cell
``i``. The text form is nine characters of ``.XO``, e.g. ``"X.O.X...."``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, TypeAlias

import numpy as np

from conceptlab.errors import InvalidActionError, InvalidStateError
from conceptlab.interfaces import Domain
from conceptlab.values import Action, Player

__all__ = ["Board", "TicTacToe"]

Board: TypeAlias = tuple[int, ...]
"""Nine cells, ``0`` empty, ``1`` X (player 0), ``2`` O (player 1)."""

LINES: tuple[tuple[int, int, int], ...] = (
    (0, 1, 2), (3, 4, 5), (6, 7, 8),
    (0, 3, 6), (1, 4, 7), (2, 5, 8),
    (0, 4, 8), (2, 4, 6),
)
SYMBOLS = ".XO"


def threats(board: Board, mark: int) -> int:
    """Lines holding two of ``mark`` and an empty third cell (a win next move)."""
    return sum(
        1 for line in LINES
        if sorted(board[i] for i in line) == sorted((0, mark, mark))
    )


def winner(board: Board) -> int:
    """``1`` or ``2`` for the mark that completed a line, ``0`` if none has."""
    for a, b, c in LINES:
        if board[a] and board[a] == board[b] == board[c]:
            return board[a]
    return 0


class TicTacToe(Domain[Board]):
    """Tic-tac-toe on a 3x3 board; X (player 0) moves first."""

    name: ClassVar[str] = "tictactoe"

    @property
    def num_actions(self) -> int:
        return 9

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (3, 3, 3)

    def initial_state(self) -> Board:
        return (0,) * 9

    def legal_actions(self, state: Board) -> Sequence[Action]:
        if winner(state):
            return []
        return [i for i, cell in enumerate(state) if cell == 0]

    def apply(self, state: Board, action: Action) -> Board:
        if not (0 <= action < 9) or state[action] != 0 or winner(state):
            raise InvalidActionError(f"illegal action {action!r} in {self.to_text(state)!r}")
        mark = 1 + self.current_player(state)
        return state[:action] + (mark,) + state[action + 1:]

    def is_terminal(self, state: Board) -> bool:
        return bool(winner(state)) or all(state)

    def current_player(self, state: Board) -> Player:
        return sum(1 for cell in state if cell) % 2

    def returns(self, state: Board) -> tuple[float, float]:
        won = winner(state)
        if won == 1:
            return (1.0, -1.0)
        if won == 2:
            return (-1.0, 1.0)
        return (0.0, 0.0)

    def encode(self, states: Sequence[Board]) -> np.ndarray:
        """Planes: the mover's marks, the opponent's marks, and all-ones if X is to move."""
        out = np.zeros((len(states), 3, 3, 3), dtype=np.float32)
        for i, state in enumerate(states):
            mover = 1 + self.current_player(state)
            cells = np.asarray(state).reshape(3, 3)
            out[i, 0] = cells == mover
            out[i, 1] = (cells != mover) & (cells != 0)
            out[i, 2] = float(mover == 1)
        return out

    def to_text(self, state: Board) -> str:
        return "".join(SYMBOLS[c] for c in state)

    def from_text(self, text: str) -> Board:
        text = text.strip()
        if len(text) != 9 or any(ch not in SYMBOLS for ch in text):
            raise InvalidStateError(f"invalid tic-tac-toe board {text!r}: expected 9 of '.XO'")
        board = tuple(SYMBOLS.index(ch) for ch in text)
        xs, os_ = board.count(1), board.count(2)
        if xs - os_ not in (0, 1):
            raise InvalidStateError(f"invalid tic-tac-toe board {text!r}: {xs} X and {os_} O")
        return board

    def action_to_text(self, state: Board, action: Action) -> str:
        return str(action)

    def action_from_text(self, state: Board, text: str) -> Action:
        try:
            action = int(text)
        except ValueError:
            raise InvalidActionError(f"invalid action {text!r}: expected a cell 0-8") from None
        if action not in self.legal_actions(state):
            raise InvalidActionError(f"illegal action {text!r} in {self.to_text(state)!r}")
        return action

    def render_text(self, state: Board) -> str:
        text = self.to_text(state)
        return "\n".join(text[r * 3:(r + 1) * 3] for r in range(3))

    def known_concepts(self) -> Mapping[str, tuple[str, Callable[[Board], bool | float]]]:
        """A few concepts a player names: the centre, corners, and threats to complete a line."""

        def mover(state: Board) -> int:
            return 1 + self.current_player(state)

        return {
            "centre_occupied": ("board", lambda s: s[4] != 0),
            "mover_has_centre": ("board", lambda s: s[4] == mover(s)),
            "corners_taken": ("board", lambda s: float(sum(1 for i in (0, 2, 6, 8) if s[i]))),
            "mover_threatens": ("threats", lambda s: threats(s, mover(s)) > 0),
            "opponent_threatens": ("threats", lambda s: threats(s, 3 - mover(s)) > 0),
        }
