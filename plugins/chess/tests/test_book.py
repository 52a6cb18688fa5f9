"""Reference lines walked through a Polyglot opening book (a tiny book written here)."""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path

import chess
import chess.polyglot
import pytest

from conceptlab_chess.book import BookSourceError, read_book_lines
from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.pgn import PgnStats


def write_book(path: Path, lines: dict[tuple[str, ...], dict[str, int]]) -> Path:
    """A Polyglot book: after each move sequence (from the start), the given moves with weights."""
    entries = []
    for prefix, moves in lines.items():
        board = chess.Board()
        for uci in prefix:
            board.push_uci(uci)
        key = chess.polyglot.zobrist_hash(board)
        for uci, weight in moves.items():
            move = chess.Move.from_uci(uci)
            entries.append((key, move.to_square | move.from_square << 6, weight))
    entries.sort()
    path.write_bytes(b"".join(struct.pack(">QHHI", key, raw, weight, 0) for key, raw, weight in entries))
    return path


@pytest.fixture
def book(tmp_path: Path) -> Path:
    return write_book(tmp_path / "tiny.bin", {
        (): {"e2e4": 3, "d2d4": 1},
        ("e2e4",): {"e7e5": 1},
        ("d2d4",): {"d7d5": 0},  # weight 0: never played
    })


def test_lines_follow_the_book_in_proportion_to_weights(book: Path) -> None:
    stats = PgnStats()
    games = list(read_book_lines(book, 400, seed=1, stats=stats))
    lines = Counter(" ".join(m.uci() for m in g.moves) for g in games)
    assert set(lines) == {"e2e4 e7e5", "d2d4"}
    assert 0.65 < lines["e2e4 e7e5"] / 400 < 0.85  # weight 3 of 4
    assert stats.read == stats.kept == 400
    assert all(g.start == chess.Board() for g in games)


def test_walk_is_deterministic_for_a_seed(book: Path) -> None:
    def walk(seed: int) -> list[tuple[chess.Move, ...]]:
        return [g.moves for g in read_book_lines(book, 30, seed=seed)]

    assert walk(5) == walk(5)
    assert walk(5) != walk(6)


def test_a_line_stops_before_repeating_a_position(tmp_path: Path) -> None:
    cycle = ("g1f3", "g8f6", "f3g1", "f6g8")
    path = write_book(tmp_path / "cycle.bin", {cycle[:i]: {cycle[i]: 1} for i in range(4)})
    (game,) = read_book_lines(path, 1)
    assert [m.uci() for m in game.moves] == list(cycle[:3])


def test_domain_reads_a_book_source(book: Path) -> None:
    domain = ChessDomain(ChessDomain.Params(history=2, reference_max_games=7))
    games = list(domain.reference_games(f"book:{book}"))
    assert len(games) == 7
    for states in games:
        assert states[0].fen == chess.Board().fen()
        assert len(states) in (2, 3)
        assert states[-1].board.move_stack[-1].uci() in {"e7e5", "d2d4"}


def test_a_book_without_the_initial_position_yields_nothing(tmp_path: Path) -> None:
    path = write_book(tmp_path / "other.bin", {("e2e4",): {"e7e5": 1}})
    stats = PgnStats()
    assert list(read_book_lines(path, 5, stats=stats)) == []
    assert stats.filtered["no moves"] == 5


@pytest.mark.parametrize("content", [None, b"", b"x" * 17])
def test_a_bad_book_is_one_clear_error(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "bad.bin"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BookSourceError, match="bad.bin"):
        list(ChessDomain().reference_games(f"book:{path}"))
