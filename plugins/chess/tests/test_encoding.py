"""The 8x8x73 move encoding is an exact bijection between legal moves and policy indices."""

from __future__ import annotations

import chess
import numpy as np
import pytest

from conceptlab.errors import InvalidActionError
from conceptlab_chess.encoding import NUM_ACTIONS, decode_move, index_to_move, move_to_index
from perft_positions import PERFT_POSITIONS


def legal_indices_by_scan(board: chess.Board) -> dict[int, chess.Move]:
    """Every index that decodes to a legal move, found by trying all 4672."""
    found = {}
    for index in range(NUM_ACTIONS):
        move = decode_move(board, index)
        if move is not None:
            found[index] = move
    return found


def check_round_trip(board: chess.Board) -> list[int]:
    """Assert the encoding round-trips every legal move of ``board``; return their indices."""
    indices = []
    for move in board.legal_moves:
        index = move_to_index(board, move)
        assert 0 <= index < NUM_ACTIONS
        assert index_to_move(board, index) == move
        indices.append(index)
    assert len(set(indices)) == len(indices), f"two moves share an index in {board.fen()}"
    return indices


@pytest.mark.parametrize("name", sorted(PERFT_POSITIONS))
def test_exhaustive_bijection_on_perft_positions(name: str) -> None:
    board = chess.Board(PERFT_POSITIONS[name][0])
    indices = check_round_trip(board)
    scanned = legal_indices_by_scan(board)
    assert sorted(scanned) == sorted(indices)
    assert set(scanned.values()) == set(board.legal_moves)


@pytest.mark.parametrize("name", sorted(PERFT_POSITIONS))
def test_round_trip_over_perft_trees_to_depth_two(name: str) -> None:
    board = chess.Board(PERFT_POSITIONS[name][0])
    positions = 0
    for first in list(board.legal_moves):
        board.push(first)
        for second in list(board.legal_moves):
            board.push(second)
            check_round_trip(board)
            positions += 1
            board.pop()
        board.pop()
    assert positions == PERFT_POSITIONS[name][1][1]


def test_round_trip_in_random_games_covers_special_moves() -> None:
    rng = np.random.default_rng(20231025)
    seen = {"castling": 0, "en passant": 0, "underpromotion": 0, "queen promotion": 0, "black to move": 0}
    for game in range(20):
        board = chess.Board()
        for ply in range(300):
            moves = list(board.legal_moves)
            if not moves or board.is_insufficient_material():
                break
            check_round_trip(board)
            seen["black to move"] += board.turn == chess.BLACK
            seen["castling"] += sum(board.is_castling(m) for m in moves)
            seen["en passant"] += sum(board.is_en_passant(m) for m in moves)
            seen["underpromotion"] += sum(m.promotion not in (None, chess.QUEEN) for m in moves)
            seen["queen promotion"] += sum(m.promotion == chess.QUEEN for m in moves)
            if ply % 50 == 0:
                scanned = legal_indices_by_scan(board)
                assert set(scanned.values()) == set(moves)
            board.push(moves[int(rng.integers(len(moves)))])
    assert all(count > 0 for count in seen.values()), seen


def test_underpromotions_and_black_side_decode_to_distinct_planes() -> None:
    board = chess.Board("8/P6k/8/8/8/8/p6K/8 w - - 0 1")
    white = {m.uci(): move_to_index(board, m) // 64 for m in board.legal_moves if m.promotion}
    assert white == {"a7a8q": 0, "a7a8n": 64 + 1, "a7a8b": 67 + 1, "a7a8r": 70 + 1}
    board.turn = chess.BLACK
    black = {m.uci(): move_to_index(board, m) // 64 for m in board.legal_moves if m.promotion}
    # from Black's side a2-a1 is a move "north" too: same planes as White's a7-a8
    assert black == {"a2a1q": 0, "a2a1n": 65, "a2a1b": 68, "a2a1r": 71}


def test_castling_is_the_kings_two_square_move() -> None:
    board = chess.Board("r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1")
    kingside = move_to_index(board, chess.Move.from_uci("e1g1"))
    queenside = move_to_index(board, chess.Move.from_uci("e1c1"))
    assert (kingside // 64, kingside % 64) == (7 * 2 + 1, chess.E1)  # east, distance 2
    assert (queenside // 64, queenside % 64) == (7 * 6 + 1, chess.E1)  # west, distance 2


@pytest.mark.parametrize("index", [-1, NUM_ACTIONS, 7 * 64 + chess.H1, 5])
def test_bad_index_is_refused_with_the_index_and_fen(index: int) -> None:
    board = chess.Board()
    with pytest.raises(InvalidActionError) as info:
        index_to_move(board, index)
    assert str(index) in str(info.value)
    assert board.fen() in str(info.value)


def test_illegal_move_is_refused_with_the_move_and_fen() -> None:
    board = chess.Board()
    with pytest.raises(InvalidActionError, match="e2e5"):
        move_to_index(board, chess.Move.from_uci("e2e5"))
    with pytest.raises(InvalidActionError, match="expected a chess.Move"):
        move_to_index(board, "e2e4")  # type: ignore[arg-type]
