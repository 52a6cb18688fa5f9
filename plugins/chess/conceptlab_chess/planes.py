"""AlphaZero's input planes for chess (Silver et al. 2018, supplementary Table S1).

For each of ``history`` positions (the current one first, then earlier ones):
6 planes of the side to move's pieces (P, N, B, R, Q, K), 6 of the opponent's,
and 2 repetition planes (the position occurred at least once / at least twice
before). Then 7 constant planes: colour (1 when Black is to move), total move
count, the side to move's king- and queen-side castling rights, the opponent's,
and the no-progress (fifty-move) count. With ``history = 8`` that is 119 planes.

Every plane is seen from the side to move: for Black the board is flipped
vertically, as the move encoding is (``conceptlab_chess.encoding``). Positions
before the start of the known history are all-zero planes, as in AlphaZero.

Departures: the move count and the no-progress count are scaled (fullmove
number / 100, halfmove clock / 100) so that the inputs stay near ``[0, 1]``;
AlphaZero fed the raw counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess
import numpy as np

from conceptlab_chess.state import ChessState

__all__ = ["CONSTANT_PLANES", "PLANES_PER_POSITION", "encode_states", "num_planes"]

PLANES_PER_POSITION = 14
CONSTANT_PLANES = 7
_PIECES = (chess.PAWN, chess.KNIGHT, chess.BISHOP, chess.ROOK, chess.QUEEN, chess.KING)
MOVE_COUNT_SCALE = 100.0
NO_PROGRESS_SCALE = 100.0


def num_planes(history: int) -> int:
    """Number of input planes for ``history`` positions."""
    return PLANES_PER_POSITION * history + CONSTANT_PLANES


def _piece_bitboards(board: chess.Board, us: chess.Color) -> list[int]:
    """12 bitboards: our P..K then theirs."""
    ours, theirs = board.occupied_co[us], board.occupied_co[not us]
    kinds = (board.pawns, board.knights, board.bishops, board.rooks, board.queens, board.kings)
    return [k & ours for k in kinds] + [k & theirs for k in kinds]


def encode_states(states: Sequence[ChessState], history: int) -> np.ndarray:
    """Float32 ``(len(states), 14 * history + 7, 8, 8)`` planes, rows = ranks from the mover's side.

    Args:
        states: States to encode.
        history: Positions per state (the current one and ``history - 1`` earlier ones).
    """
    n = len(states)
    # bitboards per state: history x (12 pieces + 2 repetition "all ones or zero")
    bitboards = np.zeros((n, history, PLANES_PER_POSITION), dtype="<u8")
    constants = np.zeros((n, CONSTANT_PLANES), dtype=np.float32)
    black_to_move = np.zeros(n, dtype=bool)
    full = (1 << 64) - 1
    for i, state in enumerate(states):
        board = state.board
        us = board.turn
        black_to_move[i] = not us
        entries = ((board, state.repetitions),) + state.history[: history - 1]
        for t, (past, reps) in enumerate(entries):
            row = _piece_bitboards(past, us)
            row.append(full if reps >= 1 else 0)
            row.append(full if reps >= 2 else 0)
            bitboards[i, t] = row
        constants[i] = (
            float(not us),
            board.fullmove_number / MOVE_COUNT_SCALE,
            float(board.has_kingside_castling_rights(us)),
            float(board.has_queenside_castling_rights(us)),
            float(board.has_kingside_castling_rights(not us)),
            float(board.has_queenside_castling_rights(not us)),
            board.halfmove_clock / NO_PROGRESS_SCALE,
        )
    # little-endian bytes, little bit order: bit k of the board is square k = rank * 8 + file
    bits = np.unpackbits(bitboards.view(np.uint8), bitorder="little")
    planes = bits.reshape(n, history * PLANES_PER_POSITION, 8, 8).astype(np.float32)
    planes[black_to_move] = planes[black_to_move][:, :, ::-1, :]
    out = np.empty((n, num_planes(history), 8, 8), dtype=np.float32)
    out[:, : history * PLANES_PER_POSITION] = planes
    out[:, history * PLANES_PER_POSITION:] = constants[:, :, None, None]
    return out
