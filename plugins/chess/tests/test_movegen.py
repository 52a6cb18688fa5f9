"""The bitboard move generator gives exactly python-chess's legal moves."""

from __future__ import annotations

import random

import chess
import pytest

from conceptlab_chess.encoding import move_index
from conceptlab_chess.movegen import legal_moves
from perft_positions import PERFT_POSITIONS


def reference(board: chess.Board) -> dict[int, chess.Move]:
    return {move_index(move, board.turn): move for move in board.legal_moves}


# Positions where a pseudo-legal move is illegal for a reason the generator checks itself.
TRICKY = {
    "en passant exposes the king along the rank": "8/8/8/K2pP2r/8/8/8/7k w - d6 0 1",
    "en passant by a pinned pawn off its diagonal": "8/8/8/1k1pP3/8/8/7B/K7 w - d6 0 1",
    "en passant removes the checking pawn": "8/8/8/2k5/3pP3/8/8/4K3 b - e3 0 1",
    "pinned pawn may push along the file only": "4r2k/8/8/8/8/8/4P3/4K3 w - - 0 1",
    "pinned pawn may take its pinner": "7k/8/8/8/8/2b5/3P4/4K3 w - - 0 1",
    "pinned pawn promotes by taking its pinner": "2b4k/3P4/8/8/8/8/8/6K1 w - - 0 1",
    "pinned rook slides along the pin": "k7/8/8/8/q7/8/8/R3K3 w - - 0 1",
    "pinned bishop and knight": "k3r3/8/8/8/1q6/8/3BN3/4K3 w - - 0 1",
    "two pieces between king and slider: no pin": "k3r3/8/8/4N3/8/4B3/8/4K3 w - - 0 1",
    "king may not step onto attacked squares": "k7/8/8/8/8/8/r7/4K3 w - - 0 1",
    "castling through an attacked square": "r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1",
    "castling with the f-file attacked": "4k3/8/8/8/8/8/5r2/R3K2R w KQ - 0 1",
    "in check: evasions only": "4k3/8/8/8/8/8/4r3/R3K2R w KQ - 0 1",
    "double check": "4k3/8/8/8/1b6/8/4r3/R3K2R w KQ - 0 1",
    "black promotions and underpromotions": "8/8/8/8/8/8/1p4k1/R6K b - - 0 1",
    "stalemate": "7k/5Q2/6K1/8/8/8/8/8 b - - 0 1",
    "checkmate": "7k/6Q1/6K1/8/8/8/8/8 b - - 0 1",
}


@pytest.mark.parametrize("fen", list(TRICKY.values()) + [fen for fen, _ in PERFT_POSITIONS.values()],
                         ids=list(TRICKY) + list(PERFT_POSITIONS))
def test_same_moves_as_python_chess_in_chosen_positions(fen: str) -> None:
    board = chess.Board(fen)
    assert legal_moves(board) == reference(board)


def test_same_moves_as_python_chess_along_random_games() -> None:
    rng = random.Random(7)
    positions = 0
    for _ in range(40):
        board = chess.Board()
        while not board.is_game_over() and board.ply() < 200:
            assert legal_moves(board) == reference(board), board.fen()
            moves = list(board.legal_moves)
            captures = [m for m in moves if board.is_capture(m) or m.promotion]
            # lean towards captures so that the games reach open, sparse positions
            board.push(rng.choice(captures if captures and rng.random() < 0.5 else moves))
            positions += 1
    assert positions > 3_000
