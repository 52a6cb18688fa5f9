"""lc0's policy: the 1858 moves it scores, and the 80-plane convolutional layout.

The moves are derived here from the rule the published table follows (the
LCZero training code's ``policy_index``): from-squares ``a1..h8`` in order,
each with every square a queen or a knight could reach from it, to-squares in
ascending order (1,792 moves); then the 22 pawn moves from the seventh rank to
the eighth, each as queen, rook and bishop promotion (66 moves). A knight
promotion has no entry of its own: it is the plain move. Castling is the
king's move onto its own rook (``e1h1``, ``e1a1``), as lc0 writes it.
Everything is read from the side to move: for Black the board is mirrored
(``square ^ 56``).

The convolutional head scores 80 planes of 64 from-squares: 56 queen-move
planes (directions N, NE, E, SE, S, SW, W, NW, distances 1-7), 8 knight planes
(in :data:`~conceptlab_chess.encoding.KNIGHT_OFFSETS` order), 9 promotion
planes (file delta -1, 0, +1, each as rook, bishop, queen) and 7 unused ones;
:data:`CONV_TO_LC0` maps each of the 5,120 outputs to its move or -1.
"""

from __future__ import annotations

import chess
import numpy as np

from conceptlab_chess.encoding import KNIGHT_OFFSETS, NUM_ACTIONS, QUEEN_DIRECTIONS, index_geometry, move_index

__all__ = ["CASTLING", "CONV_TO_LC0", "LC0_MOVES", "NUM_LC0_MOVES", "action_table", "lc0_index"]

NUM_LC0_MOVES = 1858
_PROMOTION_SUFFIXES = "qrb"


def _targets(origin: int) -> list[int]:
    file, rank = chess.square_file(origin), chess.square_rank(origin)
    found = set()
    for df, dr in QUEEN_DIRECTIONS:
        for distance in range(1, 8):
            f, r = file + df * distance, rank + dr * distance
            if 0 <= f < 8 and 0 <= r < 8:
                found.add(chess.square(f, r))
    for df, dr in KNIGHT_OFFSETS:
        f, r = file + df, rank + dr
        if 0 <= f < 8 and 0 <= r < 8:
            found.add(chess.square(f, r))
    return sorted(found)


def _moves() -> tuple[str, ...]:
    moves = [chess.square_name(o) + chess.square_name(t) for o in range(64) for t in _targets(o)]
    for file in range(8):
        origin = chess.square(file, 6)
        for to_file in (file - 1, file, file + 1):
            if 0 <= to_file < 8:
                target = chess.square_name(chess.square(to_file, 7))
                moves.extend(chess.square_name(origin) + target + p for p in _PROMOTION_SUFFIXES)
    return tuple(moves)


LC0_MOVES: tuple[str, ...] = _moves()
"""The 1858 moves in UCI form, in lc0's policy order (mover's frame, White's view)."""

_INDEX = {move: i for i, move in enumerate(LC0_MOVES)}


CASTLING: dict[int, int] = {}
"""Domain action of a castling move (the king's two-square move, mover's frame) -> lc0 index
(the king onto its rook); filled below."""


def lc0_index(move: chess.Move, turn: chess.Color, *, castling: bool = False) -> int:
    """The policy index of the legal ``move`` played by ``turn`` (knight promotions as the plain move).

    ``castling`` says that ``move`` castles (python-chess's ``Board.is_castling``):
    lc0 writes it as the king's move onto its rook.
    """
    origin, target = move.from_square, move.to_square
    if not turn:
        origin ^= 56
        target ^= 56
    if castling:
        target = chess.H1 if target > origin else chess.A1
    text = chess.square_name(origin) + chess.square_name(target)
    if move.promotion in (chess.QUEEN, chess.ROOK, chess.BISHOP):
        text += chess.piece_symbol(move.promotion)
    return _INDEX[text]


def _conv_map() -> np.ndarray:
    table = np.full(80 * 64, -1, dtype=np.int64)
    for origin in range(64):
        file, rank = chess.square_file(origin), chess.square_rank(origin)
        for d, (df, dr) in enumerate(QUEEN_DIRECTIONS):
            for distance in range(1, 8):
                f, r = file + df * distance, rank + dr * distance
                if 0 <= f < 8 and 0 <= r < 8:
                    table[(7 * d + distance - 1) * 64 + origin] = _INDEX[
                        chess.square_name(origin) + chess.square_name(chess.square(f, r))]
        for k, (df, dr) in enumerate(KNIGHT_OFFSETS):
            f, r = file + df, rank + dr
            if 0 <= f < 8 and 0 <= r < 8:
                table[(56 + k) * 64 + origin] = _INDEX[chess.square_name(origin) + chess.square_name(chess.square(f, r))]
        if rank == 6:
            for d, df in enumerate((-1, 0, 1)):
                if 0 <= file + df < 8:
                    for p, suffix in enumerate("rbq"):
                        table[(64 + 3 * d + p) * 64 + origin] = _INDEX[
                            chess.square_name(origin) + chess.square_name(chess.square(file + df, 7)) + suffix]
    return table


CONV_TO_LC0: np.ndarray = _conv_map()
"""``(5120,)`` lc0 move index of each output of the convolutional policy (plane * 64 + square), -1 if unused."""


def action_table() -> tuple[np.ndarray, np.ndarray]:
    """Per domain action (the AlphaZero 8x8x73 index, mover's frame): its lc0 index
    as a plain move, and as a queen promotion (-1 where it cannot be one).

    A queen-plane action from the seventh rank to the eighth is a queen
    promotion when a pawn makes it; the knight underpromotion plane maps to
    lc0's plain move; castling is in :data:`CASTLING`. ``NUM_LC0_MOVES`` marks
    actions that are never legal.
    """
    plain = np.full(NUM_ACTIONS, NUM_LC0_MOVES, dtype=np.int64)
    queen = np.full(NUM_ACTIONS, -1, dtype=np.int64)
    for action in range(NUM_ACTIONS):
        geometry = index_geometry(action, chess.WHITE)
        if geometry is None:
            continue
        origin, target, piece = geometry
        text = chess.square_name(origin) + chess.square_name(target)
        if piece in (chess.ROOK, chess.BISHOP):
            plain[action] = _INDEX[text + chess.piece_symbol(piece)]
            continue
        if text in _INDEX:
            plain[action] = _INDEX[text]
        if piece is None and chess.square_rank(origin) == 6 and chess.square_rank(target) == 7 \
                and abs(chess.square_file(origin) - chess.square_file(target)) <= 1:
            queen[action] = _INDEX[text + "q"]
    return plain, queen


CASTLING.update({
    move_index(chess.Move(chess.E1, target), chess.WHITE): _INDEX["e1" + rook]
    for target, rook in ((chess.G1, "h1"), (chess.C1, "a1"))
})
