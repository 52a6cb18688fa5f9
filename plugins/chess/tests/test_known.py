"""Known chess concepts: the predicates on positions whose answers a player can check by eye."""

from __future__ import annotations

import chess
import pytest

from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.known import KNOWN_CONCEPTS, material_balance, passed_pawns

DOMAIN = ChessDomain()


def labels(fen: str) -> dict[str, bool | float]:
    state = DOMAIN.from_text(fen)
    return {name: predicate(state) for name, (_, predicate) in KNOWN_CONCEPTS.items()}


def test_the_domain_names_the_concepts_with_families() -> None:
    known = DOMAIN.known_concepts()
    assert known is KNOWN_CONCEPTS
    families = {family for family, _ in known.values()}
    assert {"pieces", "pieces by colour", "king safety", "material", "pawn structure", "files"} <= families
    pieces = [name for name, (family, _) in known.items() if family == "pieces"]
    assert len(pieces) == 10  # five piece types (kings are always there) for each side


def test_start_position() -> None:
    start = labels(chess.STARTING_FEN)
    assert all(start[name] is True for name, (family, _) in KNOWN_CONCEPTS.items() if family.startswith("pieces"))
    assert start["in_check"] is False and start["open_file"] is False
    assert start["own_bishop_pair"] and start["opponent_bishop_pair"]
    assert not start["own_passed_pawn"] and not start["own_doubled_pawns"]
    assert start["material_balance"] == 0.0 and start["mobility"] == 20.0
    assert start["own_castling_rights"] and start["opponent_castling_rights"]


def test_own_and_opponent_follow_the_side_to_move() -> None:
    # White: king, queen; Black: king, knight. Black to move.
    fen = "4k3/8/8/3n4/8/8/8/3QK3 b - - 0 1"
    got = labels(fen)
    assert got["white_queen"] and not got["black_queen"]
    assert got["opponent_queen"] and not got["own_queen"]
    assert got["own_knight"] and not got["opponent_knight"]
    assert got["material_balance"] == 3 - 9
    white = labels(fen.replace(" b ", " w "))
    assert white["own_queen"] and white["white_queen"] and white["material_balance"] == 6


def test_check_pawn_structure_and_files() -> None:
    # Black king in check from the rook on the open e-file; White pawns a2, a3 (doubled,
    # isolated, passed); Black pawn h7 (passed).
    fen = "4k3/7p/8/8/8/P7/P7/4R1K1 b - - 0 1"
    got = labels(fen)
    assert got["in_check"] is True
    assert got["opponent_doubled_pawns"] and got["opponent_isolated_pawn"] and got["opponent_passed_pawn"]
    assert got["own_passed_pawn"] and not got["own_doubled_pawns"]
    assert got["open_file"] and got["opponent_rook_on_open_file"] and not got["own_rook_on_open_file"]
    assert not got["own_castling_rights"]


@pytest.mark.parametrize(
    ("fen", "white", "black"),
    [
        ("4k3/8/8/8/8/8/PPPPPPPP/4K3 w - - 0 1", 8, 0),
        ("4k3/p7/8/8/8/8/1P6/4K3 w - - 0 1", 0, 0),  # each blocked by the other on an adjacent file
        ("4k3/8/8/p7/P7/8/8/4K3 w - - 0 1", 0, 0),  # blocked head-on
        ("4k3/8/8/1p6/P7/8/8/4K3 w - - 0 1", 0, 0),  # pawns face each other on adjacent files
        ("4k3/8/1P6/p7/8/8/8/4K3 w - - 0 1", 1, 1),  # pawns have passed each other
    ],
)
def test_passed_pawns(fen: str, white: int, black: int) -> None:
    board = chess.Board(fen)
    assert passed_pawns(board, chess.WHITE) == white
    assert passed_pawns(board, chess.BLACK) == black


def test_material_balance_in_pawns() -> None:
    board = chess.Board("r3k3/8/8/8/8/8/8/1B2K2Q w - - 0 1")  # W: bishop, queen; B: rook
    assert material_balance(board, chess.WHITE) == 3 + 9 - 5
    assert material_balance(board, chess.BLACK) == -(3 + 9 - 5)


def test_labels_are_bools_or_floats() -> None:
    for value in labels("r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3").values():
        assert type(value) in (bool, float)
