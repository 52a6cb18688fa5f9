"""The AlphaZero 8x8x73 move encoding: an exact bijection between legal moves and policy indices.

Layout (Silver et al. 2018, supplementary "Domain knowledge"/Table S2): a move is
described by the square it starts from and one of 73 "planes":

* planes ``0..55``: queen-like moves, ``plane = 7 * direction + (distance - 1)``,
  directions in the order N, NE, E, SE, S, SW, W, NW, distance 1 to 7. Pawn
  pushes and captures, king moves (castling is the king's two-square move) and
  promotions to a queen use these planes.
* planes ``56..63``: knight moves, offsets (file, rank) in the order
  (+1,+2), (+2,+1), (+2,-1), (+1,-2), (-1,-2), (-2,-1), (-2,+1), (-1,+2).
* planes ``64..72``: underpromotions, ``64 + 3 * piece + (file_delta + 1)`` with
  ``piece`` 0 knight, 1 bishop, 2 rook and ``file_delta`` -1, 0, +1.

Squares and directions are read from the side to move: for Black the board is
flipped vertically (``square ^ 56``), so "N" is always forward. The policy index
is ``plane * 64 + from_square`` (the mover's frame), which is the row-major
flattening of a ``(73, 8, 8)`` tensor whose rows are ranks and columns files.

Standard chess only (not Chess960). Every legal move has exactly one index and distinct legal moves have distinct
indices; :func:`index_to_move` inverts :func:`move_to_index` on legal moves.
"""

from __future__ import annotations

from typing import TypeAlias

import chess

from conceptlab.errors import InvalidActionError

__all__ = [
    "KNIGHT_OFFSETS",
    "NUM_ACTIONS",
    "NUM_PLANES",
    "QUEEN_DIRECTIONS",
    "UNDERPROMOTION_PIECES",
    "PolicyIndex",
    "Square",
    "decode_move",
    "index_geometry",
    "index_to_move",
    "move_index",
    "move_to_index",
]

Square: TypeAlias = int
"""A python-chess square, ``0`` (a1) to ``63`` (h8): ``rank * 8 + file``."""

PolicyIndex: TypeAlias = int
"""A policy index, ``0 <= index < NUM_ACTIONS``."""

NUM_PLANES = 73
NUM_ACTIONS = NUM_PLANES * 64

QUEEN_DIRECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1),
)
"""(file delta, rank delta) of the eight queen directions N, NE, E, SE, S, SW, W, NW."""

KNIGHT_OFFSETS: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 1), (2, -1), (1, -2), (-1, -2), (-2, -1), (-2, 1), (-1, 2),
)
"""(file delta, rank delta) of the eight knight planes, in plane order."""

UNDERPROMOTION_PIECES: tuple[chess.PieceType, ...] = (chess.KNIGHT, chess.BISHOP, chess.ROOK)
"""Promotion pieces of planes 64-66, 67-69 and 70-72."""

_QUEEN_PLANES = 56
_KNIGHT_PLANES = 8


def _build_tables() -> tuple[list[list[int]], list[tuple[Square, Square, chess.PieceType | None] | None]]:
    """(plane of each from/to pair for non-underpromotions, decoding of each index)."""
    plane_of: list[list[int]] = [[-1] * 64 for _ in range(64)]
    decode: list[tuple[Square, Square, chess.PieceType | None] | None] = [None] * NUM_ACTIONS
    for origin in range(64):
        file, rank = chess.square_file(origin), chess.square_rank(origin)
        for direction, (df, dr) in enumerate(QUEEN_DIRECTIONS):
            for distance in range(1, 8):
                f, r = file + df * distance, rank + dr * distance
                if 0 <= f < 8 and 0 <= r < 8:
                    plane = 7 * direction + distance - 1
                    target = chess.square(f, r)
                    plane_of[origin][target] = plane
                    decode[plane * 64 + origin] = (origin, target, None)
        for k, (df, dr) in enumerate(KNIGHT_OFFSETS):
            f, r = file + df, rank + dr
            if 0 <= f < 8 and 0 <= r < 8:
                plane = _QUEEN_PLANES + k
                target = chess.square(f, r)
                plane_of[origin][target] = plane
                decode[plane * 64 + origin] = (origin, target, None)
        if rank == 6:
            for p, piece in enumerate(UNDERPROMOTION_PIECES):
                for df in (-1, 0, 1):
                    if 0 <= file + df < 8:
                        plane = _QUEEN_PLANES + _KNIGHT_PLANES + 3 * p + df + 1
                        decode[plane * 64 + origin] = (origin, chess.square(file + df, 7), piece)
    return plane_of, decode


_PLANE_OF, _DECODE = _build_tables()


def move_index(move: chess.Move, turn: chess.Color) -> PolicyIndex:
    """The policy index of ``move`` played by ``turn``, without checking legality.

    Fast path for code that already holds legal moves. ``move`` must be
    geometrically a queen, knight or pawn-promotion move (every legal move is).
    """
    origin, target = move.from_square, move.to_square
    if not turn:  # black: read the board from the other side
        origin ^= 56
        target ^= 56
    promotion = move.promotion
    if promotion is not None and promotion != chess.QUEEN:
        plane = (
            _QUEEN_PLANES + _KNIGHT_PLANES
            + 3 * UNDERPROMOTION_PIECES.index(promotion)
            + (target & 7) - (origin & 7) + 1
        )
    else:
        plane = _PLANE_OF[origin][target]
    return plane * 64 + origin


def index_geometry(index: PolicyIndex, turn: chess.Color) -> tuple[Square, Square, chess.PieceType | None] | None:
    """(from, to, underpromotion piece) of ``index`` for the side ``turn``, in board squares.

    ``None`` when the index points off the board. Legality is not checked, and
    a queen promotion is not marked (see :func:`index_to_move`).
    """
    if not 0 <= index < NUM_ACTIONS:
        return None
    entry = _DECODE[index]
    if entry is None:
        return None
    origin, target, piece = entry
    if not turn:
        origin ^= 56
        target ^= 56
    return origin, target, piece


def _is_canonical_legal(board: chess.Board, move: chess.Move) -> bool:
    """Legal, and castling written as the king's two-square move (python-chess also
    accepts king-takes-rook, ``e1h1``, which would give castling a second index)."""
    if not board.is_legal(move):
        return False
    return not board.is_castling(move) or chess.square_distance(move.from_square, move.to_square) == 2


def decode_move(board: chess.Board, index: PolicyIndex) -> chess.Move | None:
    """The legal move of ``board`` with policy index ``index``, or ``None`` if there is none.

    The non-raising form of :func:`index_to_move`.
    """
    geometry = index_geometry(index, board.turn)
    if geometry is None:
        return None
    origin, target, piece = geometry
    if piece is None and board.piece_type_at(origin) == chess.PAWN and chess.square_rank(target) in (0, 7):
        piece = chess.QUEEN
    move = chess.Move(origin, target, promotion=piece)
    return move if _is_canonical_legal(board, move) else None


def index_to_move(board: chess.Board, index: PolicyIndex) -> chess.Move:
    """The legal move of ``board`` with policy index ``index``.

    Raises:
        InvalidActionError: ``index`` is out of range, points off the board, or
            is not a legal move in ``board`` (the message quotes index and FEN).
    """
    if not isinstance(index, int) or isinstance(index, bool):
        raise InvalidActionError(f"policy index must be an int, got {index!r}")
    move = decode_move(board, index)
    if move is not None:
        return move
    geometry = index_geometry(index, board.turn)
    if geometry is None:
        raise InvalidActionError(
            f"policy index {index!r} is not a move on the board (0 <= index < {NUM_ACTIONS}) "
            f"in {board.fen()!r}"
        )
    origin, target, _ = geometry
    raise InvalidActionError(
        f"policy index {index} ({chess.square_name(origin)}{chess.square_name(target)}) "
        f"is not a legal move in {board.fen()!r}"
    )


def move_to_index(board: chess.Board, move: chess.Move) -> PolicyIndex:
    """The policy index of the legal move ``move`` in ``board``.

    Raises:
        InvalidActionError: ``move`` is not legal in ``board`` (the message
            quotes the move and the FEN).
    """
    if not isinstance(move, chess.Move):
        raise InvalidActionError(f"expected a chess.Move, got {move!r}")
    if not _is_canonical_legal(board, move):
        raise InvalidActionError(f"move {move.uci()!r} is not legal in {board.fen()!r}")
    return move_index(move, board.turn)
