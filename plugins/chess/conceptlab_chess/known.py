"""Known chess concepts as python-chess predicates, for validation and probing.

Schut et al. (2023) validate their concept-discovery program on labelled sets of
known concepts (piece presence, engine evaluation terms, strategic themes,
openings; method.md section 2), and McGrath et al. (2022) probe the same kind of
concepts layer by layer. This module names a set of board predicates a chess
player would recognise, each a function of a :class:`ChessState`:

- ``pieces``: presence of each piece type (pawn to queen; kings are always on
  the board) for the side to move (``own_*``) and its opponent
  (``opponent_*``), the frame in which the net sees the board (AlphaZero's input
  planes are drawn from the mover's side);
- ``pieces by colour``: the same for White and Black, which the net must combine
  with the side to move;
- ``king safety``: in check, castling rights;
- ``material``: bishop pair, material balance (a quantity, probed by regression);
- ``pawn structure``: passed, doubled and isolated pawns;
- ``files``: an open file (no pawns), a rook on an open file;
- ``mobility``: the number of legal moves (a quantity).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeAlias

import chess

from conceptlab_chess.state import ChessState

__all__ = ["KNOWN_CONCEPTS", "Predicate", "known_concepts", "material_balance", "passed_pawns"]

Predicate: TypeAlias = Callable[[ChessState], bool | float]
"""A label of a state: ``bool`` (present or absent) or ``float`` (a quantity)."""

PIECE_NAMES: Mapping[chess.PieceType, str] = {
    chess.PAWN: "pawn", chess.KNIGHT: "knight", chess.BISHOP: "bishop",
    chess.ROOK: "rook", chess.QUEEN: "queen",
}
PIECE_VALUES: Mapping[chess.PieceType, int] = {
    chess.PAWN: 1, chess.KNIGHT: 3, chess.BISHOP: 3, chess.ROOK: 5, chess.QUEEN: 9,
}
"""The conventional piece values, in pawns."""


def _has_piece(piece: chess.PieceType, relative: bool, side: bool) -> Predicate:
    """Whether ``side`` (the mover if ``relative``, else the colour) has a ``piece``."""

    def predicate(state: ChessState) -> bool:
        board = state.board
        colour = (board.turn if side else not board.turn) if relative else side
        return bool(board.pieces_mask(piece, colour))

    return predicate


def _mover(state: ChessState, own: bool) -> chess.Color:
    return state.board.turn if own else not state.board.turn


def passed_pawns(board: chess.Board, colour: chess.Color) -> int:
    """Pawns of ``colour`` with no enemy pawn ahead of them on their own or adjacent files."""
    enemy = board.pieces(chess.PAWN, not colour)
    count = 0
    for square in board.pieces(chess.PAWN, colour):
        file, rank = chess.square_file(square), chess.square_rank(square)
        ahead = range(rank + 1, 8) if colour == chess.WHITE else range(0, rank)
        blocked = any(
            chess.square(f, r) in enemy
            for f in range(max(0, file - 1), min(7, file + 1) + 1)
            for r in ahead
        )
        count += not blocked
    return count


def _pawn_files(board: chess.Board, colour: chess.Color) -> list[int]:
    """Pawns of ``colour`` per file, a to h."""
    files = [0] * 8
    for square in board.pieces(chess.PAWN, colour):
        files[chess.square_file(square)] += 1
    return files


def _open_files(board: chess.Board) -> list[int]:
    white, black = _pawn_files(board, chess.WHITE), _pawn_files(board, chess.BLACK)
    return [f for f in range(8) if white[f] == 0 and black[f] == 0]


def material_balance(board: chess.Board, colour: chess.Color) -> int:
    """``colour``'s material minus the opponent's, in pawns (conventional values)."""
    return sum(
        value * (len(board.pieces(piece, colour)) - len(board.pieces(piece, not colour)))
        for piece, value in PIECE_VALUES.items()
    )


def _passed(own: bool) -> Predicate:
    return lambda state: passed_pawns(state.board, _mover(state, own)) > 0


def _doubled(own: bool) -> Predicate:
    return lambda state: max(_pawn_files(state.board, _mover(state, own))) >= 2


def _isolated(own: bool) -> Predicate:
    def predicate(state: ChessState) -> bool:
        files = _pawn_files(state.board, _mover(state, own))
        return any(
            files[f] and not any(files[g] for g in (f - 1, f + 1) if 0 <= g < 8) for f in range(8)
        )

    return predicate


def _bishop_pair(own: bool) -> Predicate:
    return lambda state: len(state.board.pieces(chess.BISHOP, _mover(state, own))) >= 2


def _castling(own: bool) -> Predicate:
    return lambda state: bool(state.board.has_castling_rights(_mover(state, own)))


def _rook_on_open_file(own: bool) -> Predicate:
    def predicate(state: ChessState) -> bool:
        board = state.board
        open_files = set(_open_files(board))
        return any(
            chess.square_file(sq) in open_files for sq in board.pieces(chess.ROOK, _mover(state, own))
        )

    return predicate


def _build() -> dict[str, tuple[str, Predicate]]:
    concepts: dict[str, tuple[str, Predicate]] = {}
    for piece, name in PIECE_NAMES.items():
        concepts[f"own_{name}"] = ("pieces", _has_piece(piece, relative=True, side=True))
        concepts[f"opponent_{name}"] = ("pieces", _has_piece(piece, relative=True, side=False))
    for piece, name in PIECE_NAMES.items():
        concepts[f"white_{name}"] = ("pieces by colour", _has_piece(piece, relative=False, side=chess.WHITE))
        concepts[f"black_{name}"] = ("pieces by colour", _has_piece(piece, relative=False, side=chess.BLACK))
    concepts["in_check"] = ("king safety", lambda state: state.board.is_check())
    for own, side in ((True, "own"), (False, "opponent")):
        concepts[f"{side}_castling_rights"] = ("king safety", _castling(own))
        concepts[f"{side}_bishop_pair"] = ("material", _bishop_pair(own))
        concepts[f"{side}_passed_pawn"] = ("pawn structure", _passed(own))
        concepts[f"{side}_doubled_pawns"] = ("pawn structure", _doubled(own))
        concepts[f"{side}_isolated_pawn"] = ("pawn structure", _isolated(own))
        concepts[f"{side}_rook_on_open_file"] = ("files", _rook_on_open_file(own))
    concepts["open_file"] = ("files", lambda state: bool(_open_files(state.board)))
    concepts["material_balance"] = (
        "material", lambda state: float(material_balance(state.board, state.board.turn))
    )
    concepts["mobility"] = ("mobility", lambda state: float(len(state.moves)))
    return concepts


KNOWN_CONCEPTS: Mapping[str, tuple[str, Predicate]] = _build()
"""Concept name -> (family, predicate); see the module docstring."""


def known_concepts() -> Mapping[str, tuple[str, Predicate]]:
    """The known chess concepts (``ChessDomain.known_concepts`` returns these)."""
    return KNOWN_CONCEPTS
