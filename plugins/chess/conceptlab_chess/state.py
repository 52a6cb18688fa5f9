"""The chess state: a position with the little history the rules and the net need.

A :class:`ChessState` is immutable by convention. It keeps a python-chess board
*without* a move stack (copying one is then cheap), the previous boards the
input planes need, and the keys of the positions since the last capture or pawn
move, which is all repetition detection needs. ``ChessDomain.apply`` builds the
next state; nothing else should.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeAlias

import chess

from conceptlab_chess.encoding import PolicyIndex
from conceptlab_chess.movegen import legal_moves

__all__ = ["KEPT_POSITIONS", "ChessState", "HistoryEntry", "PositionKey", "position_key", "split_text", "state_text"]

KEPT_POSITIONS = 8
"""Positions a state of the chess domain keeps at least (itself and 7 earlier ones), whatever
the domain's ``history``: the deepest input served here, lc0's, reads 8."""

PositionKey: TypeAlias = Hashable
"""What makes two positions "the same" for repetitions (FIDE 9.2): pieces, side
to move, castling rights and a capturable en-passant square."""

HistoryEntry: TypeAlias = tuple[chess.Board, int]
"""An earlier board and how often its position had occurred before it."""


def position_key(board: chess.Board) -> PositionKey:
    """The repetition key of ``board``'s position."""
    return (
        board.pawns, board.knights, board.bishops, board.rooks, board.queens, board.kings,
        board.occupied_co[chess.WHITE], board.occupied_co[chess.BLACK], board.turn,
        board.clean_castling_rights(),
        board.ep_square if board.ep_square is not None and board.has_legal_en_passant() else None,
    )


class ChessState:
    """A chess position with its recent history, as the domain's states.

    Attributes:
        board: The position; its move stack is empty or holds only the last
            move. Treat it as read-only (``board.copy()`` before pushing).
        history: Earlier boards, most recent first, each with its repetition
            count; at most ``history - 1`` of them (the domain's param).
        keys: Repetition keys of the positions since the last capture or pawn
            move (or the state read from text), oldest first, this one last.
        repetitions: How often this position occurred before (0 the first time).
        last_move: The move that led here, if known.
    """

    __slots__ = ("_moves", "_terminal", "board", "history", "keys", "last_move", "repetitions")

    def __init__(
        self,
        board: chess.Board,
        history: tuple[HistoryEntry, ...] = (),
        keys: tuple[PositionKey, ...] | None = None,
        last_move: chess.Move | None = None,
    ) -> None:
        self.board = board
        self.history = history
        if keys is None:
            keys = (position_key(board),)
        self.keys = keys
        self.repetitions = keys.count(keys[-1]) - 1
        self.last_move = last_move
        self._moves: dict[PolicyIndex, chess.Move] | None = None
        self._terminal: tuple[bool, chess.Outcome | None] | None = None

    @property
    def moves(self) -> Mapping[PolicyIndex, chess.Move]:
        """Legal moves by policy index (ignoring draws by rule), computed once."""
        if self._moves is None:
            self._moves = legal_moves(self.board)
        return self._moves

    @property
    def fen(self) -> str:
        """The position's FEN."""
        return self.board.fen()

    def successor(self, move: chess.Move, history: int) -> ChessState:
        """The state after the legal ``move``, keeping ``history - 1`` earlier boards."""
        board = self.board.copy(stack=False)
        zeroing = board.is_zeroing(move)
        board.push(move)
        kept = ((self.board, self.repetitions),) + self.history[: history - 2] if history > 1 else ()
        key = position_key(board)
        keys = (key,) if zeroing else self.keys + (key,)
        return ChessState(board, kept, keys, move)

    def __repr__(self) -> str:
        return f"ChessState({self.fen!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ChessState):
            return NotImplemented
        return (
            self.keys == other.keys
            and self.board.halfmove_clock == other.board.halfmove_clock
            and self.board.fullmove_number == other.board.fullmove_number
            and [b.fen() for b, _ in self.history] == [b.fen() for b, _ in other.history]
        )

    def __hash__(self) -> int:
        return hash((self.keys, self.board.halfmove_clock, self.board.fullmove_number))

    def __getstate__(self) -> tuple[chess.Board, tuple[HistoryEntry, ...], tuple[PositionKey, ...], chess.Move | None]:
        return (self.board, self.history, self.keys, self.last_move)

    def __setstate__(self, data: tuple[chess.Board, tuple[HistoryEntry, ...], tuple[PositionKey, ...], chess.Move | None]) -> None:
        board, history, keys, last_move = data
        ChessState.__init__(self, board, history, keys, last_move)


MOVES_MARK = " moves "
"""Separates the FEN of a state's oldest kept position from the moves that followed it."""


def state_text(state: ChessState) -> str:
    """The text form of ``state``: a FEN, or ``"<FEN> moves <uci> ..."`` with its kept history.

    Like UCI's ``position fen ... moves ...``: the FEN is the oldest position the
    state keeps and the moves lead from it to the state, so that a state read
    back has the same earlier positions (the inputs of history nets).
    Repetitions are counted from that oldest position: a position that repeats
    one from before it is not marked as a repetition once read back.
    """
    if not state.history:
        return state.fen
    boards = [board for board, _ in reversed(state.history)] + [state.board]
    moves = []
    for board in boards[1:]:
        if not board.move_stack:  # a board built by hand: its move is unknown
            return state.fen
        moves.append(board.move_stack[-1].uci())
    return boards[0].fen() + MOVES_MARK + " ".join(moves)


def split_text(text: str) -> tuple[str, list[str]]:
    """(the FEN, the UCI moves after it) of a state's text form."""
    fen, _, moves = text.strip().partition(MOVES_MARK.strip())
    return fen.strip(), moves.split()
