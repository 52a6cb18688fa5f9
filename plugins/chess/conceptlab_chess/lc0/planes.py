"""lc0's classical 112 input planes (``INPUT_CLASSICAL_112_PLANE``).

For each of 8 positions, the current one first: 6 planes of the side to
move's pieces (P, N, B, R, Q, K), 6 of the opponent's, and one plane set when
the position occurred before (a repetition). Then 8 planes: castling rights
(our queen side, our king side, theirs queen side, theirs king side), all ones
when Black is to move, the fifty-move counter in plies (raw, not scaled),
zeros, and all ones (board edges). Every plane is seen from the side to move:
for Black the board is mirrored vertically (row 0 is always the mover's first
rank). These facts are those of the LCZero encoder (``encoder.cc``).

History the state does not have, after lc0's ``fen_only`` rule: a game that
started from the initial position has empty planes before its first move; a
state read from a FEN (whose earlier positions are unknown) repeats its oldest
known position in the missing slots. Departures: every repeat is seen from the
side to move (with Maia-1900 this finds the mate in one of a FEN-only
scholar's-mate position, 0.76 of the policy, where repeats read from
alternating sides give 0.0 and a wrong-signed value); lc0 also takes back a
double pawn step before repeating a position with an en-passant square, and
this encoder does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import chess
import numpy as np

from conceptlab_chess.state import ChessState

__all__ = ["LC0_HISTORY", "LC0_PLANES", "encode_lc0"]

LC0_HISTORY = 8
LC0_PLANES = 112
_PER_POSITION = 13
_AUX = _PER_POSITION * LC0_HISTORY
_FULL = (1 << 64) - 1


def _history(state: ChessState) -> list[tuple[chess.Board, int]]:
    entries = [(state.board, state.repetitions), *state.history[: LC0_HISTORY - 1]]
    if len(entries) < LC0_HISTORY:
        oldest = entries[-1][0]
        if oldest.board_fen() != chess.STARTING_BOARD_FEN:
            entries.extend([(oldest, 0)] * (LC0_HISTORY - len(entries)))
    return entries


def encode_lc0(states: Sequence[ChessState]) -> np.ndarray:
    """Float32 ``(len(states), 112, 8, 8)`` planes, rows = ranks from the mover's side."""
    n = len(states)
    bitboards = np.zeros((n, _AUX), dtype="<u8")
    aux = np.zeros((n, 8), dtype=np.float32)
    for i, state in enumerate(states):
        board = state.board
        us = board.turn
        for slot, (past, reps) in enumerate(_history(state)):
            ours, theirs = past.occupied_co[us], past.occupied_co[not us]
            kinds = (past.pawns, past.knights, past.bishops, past.rooks, past.queens, past.kings)
            row = [k & ours for k in kinds] + [k & theirs for k in kinds]
            if us == chess.BLACK:
                row = [chess.flip_vertical(bb) for bb in row]
            row.append(_FULL if reps >= 1 else 0)
            bitboards[i, slot * _PER_POSITION:(slot + 1) * _PER_POSITION] = row
        aux[i] = (
            float(board.has_queenside_castling_rights(us)), float(board.has_kingside_castling_rights(us)),
            float(board.has_queenside_castling_rights(not us)), float(board.has_kingside_castling_rights(not us)),
            float(us == chess.BLACK), float(board.halfmove_clock), 0.0, 1.0,
        )
    # little-endian bytes, little bit order: bit k of a board is square k = rank * 8 + file
    bits = np.unpackbits(bitboards.view(np.uint8), bitorder="little").reshape(n, _AUX, 8, 8)
    out = np.empty((n, LC0_PLANES, 8, 8), dtype=np.float32)
    out[:, :_AUX] = bits
    out[:, _AUX:] = aux[:, :, None, None]
    return out
