"""Legal moves by policy index, generated with bitboards for the search's hot path.

:func:`legal_moves` returns the same moves as python-chess's
``Board.legal_moves`` (tests compare the two on thousands of positions and on
the published perft counts) in less time, so that a search node costs less to
create. When the side to move is not in check, the only illegal
pseudo-legal moves are king steps onto attacked squares, moves of pinned pieces
off their pin line, and en-passant captures that expose the king; those three
are checked here, and everything else is legal as generated. Positions in check,
en passant and castling are left to python-chess, whose generators already
handle them. The ``chess.Move`` objects come from a table shared by all
positions (moves are immutable by convention: nothing may change one).
"""

from __future__ import annotations

import chess
from chess import (
    BB_DIAG_ATTACKS,
    BB_FILE_ATTACKS,
    BB_KING_ATTACKS,
    BB_PAWN_ATTACKS,
    BB_RANK_1,
    BB_RANK_8,
    BB_RANK_ATTACKS,
    BB_RAYS,
)

from conceptlab_chess.encoding import PolicyIndex, move_index

__all__ = ["legal_moves"]

_BACK_RANKS = BB_RANK_1 | BB_RANK_8
_PROMOTIONS = (chess.QUEEN, chess.ROOK, chess.BISHOP, chess.KNIGHT)

_Entry = tuple[PolicyIndex, chess.Move]
_TABLE: tuple[dict[int, _Entry], dict[int, _Entry]] = ({}, {})
"""Per colour (BLACK = 0, WHITE = 1): ``from * 64 + to`` -> (index, move), filled on first use."""
_PROMOTION_TABLE: tuple[dict[int, tuple[_Entry, ...]], dict[int, tuple[_Entry, ...]]] = ({}, {})


def _entry(turn: chess.Color, from_square: int, to_square: int) -> _Entry:
    move = chess.Move(from_square, to_square)
    entry = (move_index(move, turn), move)
    _TABLE[turn][from_square * 64 + to_square] = entry
    return entry


def _promotion_entries(turn: chess.Color, from_square: int, to_square: int) -> tuple[_Entry, ...]:
    moves = [chess.Move(from_square, to_square, piece) for piece in _PROMOTIONS]
    entries = tuple((move_index(move, turn), move) for move in moves)
    _PROMOTION_TABLE[turn][from_square * 64 + to_square] = entries
    return entries


def _add(out: dict[PolicyIndex, chess.Move], turn: chess.Color, from_square: int, targets: int) -> None:
    """Add the moves from ``from_square`` to each square of ``targets`` (no promotions)."""
    table = _TABLE[turn]
    base = from_square * 64
    while targets:
        to_square = targets.bit_length() - 1
        targets ^= 1 << to_square
        entry = table.get(base + to_square) or _entry(turn, from_square, to_square)
        out[entry[0]] = entry[1]


def _add_pawn(out: dict[PolicyIndex, chess.Move], turn: chess.Color, from_square: int, to_square: int) -> None:
    """Add a pawn move, as its four promotions when it reaches the last rank."""
    if (1 << to_square) & _BACK_RANKS:
        key = from_square * 64 + to_square
        entries = _PROMOTION_TABLE[turn].get(key) or _promotion_entries(turn, from_square, to_square)
        for index, move in entries:
            out[index] = move
    else:
        entry = _TABLE[turn].get(from_square * 64 + to_square) or _entry(turn, from_square, to_square)
        out[entry[0]] = entry[1]


def _pinned(board: chess.Board, king: int, us: int, them: int, occupied: int) -> int:
    """Our pieces that stand alone between ``king`` and an enemy slider."""
    rooks_queens = (board.rooks | board.queens) & them
    bishops_queens = (board.bishops | board.queens) & them
    snipers = (
        (BB_RANK_ATTACKS[king][0] | BB_FILE_ATTACKS[king][0]) & rooks_queens
        | BB_DIAG_ATTACKS[king][0] & bishops_queens
    )
    pinned = 0
    while snipers:
        sniper = snipers.bit_length() - 1
        snipers ^= 1 << sniper
        between = chess.between(king, sniper) & occupied
        if between and not between & (between - 1):
            pinned |= between
    return pinned & us


def legal_moves(board: chess.Board) -> dict[PolicyIndex, chess.Move]:
    """The legal moves of ``board`` (standard chess) keyed by their policy index.

    The same moves as ``{move_index(m, board.turn): m for m in board.legal_moves}``.
    """
    turn = board.turn
    us = board.occupied_co[turn]
    them = board.occupied_co[not turn]
    kings = board.kings & us
    if not kings or kings & (kings - 1):
        return {move_index(m, turn): m for m in board.legal_moves}
    king = kings.bit_length() - 1
    if board.attackers_mask(not turn, king):
        return {move_index(m, turn): m for m in board.legal_moves}

    occupied = board.occupied
    pinned = _pinned(board, king, us, them, occupied)
    out: dict[PolicyIndex, chess.Move] = {}

    # king steps onto unattacked squares (not in check, so no slider sees through the king)
    targets = BB_KING_ATTACKS[king] & ~us
    safe = 0
    while targets:
        to_square = targets.bit_length() - 1
        targets ^= 1 << to_square
        if not board.attackers_mask(not turn, to_square):
            safe |= 1 << to_square
    _add(out, turn, king, safe)
    if board.castling_rights & us:
        for move in board.generate_castling_moves():
            out[move_index(move, turn)] = move

    # knights, bishops, rooks and queens; a pinned one stays on its pin line
    pieces = (board.knights | board.bishops | board.rooks | board.queens) & us
    while pieces:
        square = pieces.bit_length() - 1
        pieces ^= 1 << square
        attacks = board.attacks_mask(square) & ~us
        if pinned >> square & 1:
            attacks &= BB_RAYS[king][square]
        _add(out, turn, square, attacks)

    # pawns: captures, single and double pushes, promotions; en passant from python-chess
    pawns = board.pawns & us
    captures = BB_PAWN_ATTACKS[turn]
    rest = pawns
    while rest:
        square = rest.bit_length() - 1
        rest ^= 1 << square
        targets = captures[square] & them
        if targets and pinned >> square & 1:
            targets &= BB_RAYS[king][square]
        while targets:
            to_square = targets.bit_length() - 1
            targets ^= 1 << to_square
            _add_pawn(out, turn, square, to_square)
    empty = ~occupied
    if turn:
        singles = pawns << 8 & empty
        doubles = (singles & chess.BB_RANK_3) << 8 & empty
        step = 8
    else:
        singles = pawns >> 8 & empty
        doubles = (singles & chess.BB_RANK_6) >> 8 & empty
        step = -8
    for targets, distance in ((singles, step), (doubles, 2 * step)):
        while targets:
            to_square = targets.bit_length() - 1
            targets ^= 1 << to_square
            from_square = to_square - distance
            if pinned >> from_square & 1 and not BB_RAYS[king][from_square] >> to_square & 1:
                continue
            _add_pawn(out, turn, from_square, to_square)
    if board.ep_square is not None:
        for move in board.generate_legal_ep():
            out[move_index(move, turn)] = move
    return out
