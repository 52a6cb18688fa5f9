"""Puzzle files as PGN and EPD: python-chess reads them back to the exported positions and moves."""

from __future__ import annotations

import io
from typing import Any

import chess
import chess.pgn
import pytest

from conceptlab.errors import InvalidActionError
from conceptlab.stages.export import puzzle_text_files
from conceptlab.values import Puzzle
from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.puzzles import agent_line, puzzles_epd

# (position, the agent's line in UCI): castling, en passant, an under-promotion, odd move counters
LINES = [
    (chess.STARTING_FEN, ["e2e4", "e7e5", "g1f3"]),
    ("r3k2r/8/8/8/8/8/8/R3K2R b KQkq - 3 27", ["e8g8", "e1c1"]),
    ("rnbqkbnr/ppp1p1pp/8/3pPp2/8/8/PPPP1PPP/RNBQKBNR w KQkq f6 0 3", ["e5f6", "g8f6"]),
    ("8/P7/8/8/8/8/k7/7K w - - 0 60", ["a7a8n"]),
]


def exported(domain: ChessDomain, fen: str, line: list[str], value: float) -> dict[str, Any]:
    """A puzzle as the export stage writes it in ``phase<n>.json``."""
    state = domain.from_text(fen)
    action = domain.action_from_text(state, line[0])
    return {"state": domain.to_text(state), "solution": domain.action_to_text(state, action),
            "solution_action": action, "line": line, "value": value}


@pytest.fixture
def files(domain: ChessDomain) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    phases = {
        "phase1": [exported(domain, fen, line, 0.25 * i) for i, (fen, line) in enumerate(LINES[:2])],
        "phase3": [exported(domain, fen, line, -0.5) for fen, line in LINES[2:]],
    }
    return phases, puzzle_text_files(domain, "layer3-0007", phases)


def test_every_phase_has_a_pgn_and_an_epd(files):
    assert sorted(files[1]) == sorted(f"{stem}.{ext}" for stem in ("phase1", "phase2", "phase3", "phase3-solutions")
                                      for ext in ("pgn", "epd"))


@pytest.mark.parametrize(("stem", "phase", "solutions"), [
    ("phase1", "phase1", False), ("phase2", "phase1", True),
    ("phase3", "phase3", False), ("phase3-solutions", "phase3", True),
])
def test_epd_reads_back_to_the_positions_and_the_agent_line(domain, files, stem, phase, solutions):
    phases, texts = files
    lines = texts[f"{stem}.epd"].splitlines()
    assert len(lines) == len(phases[phase])
    for number, (text, puzzle) in enumerate(zip(lines, phases[phase], strict=True), start=1):
        board, ops = chess.Board.from_epd(text)
        assert board.fen() == puzzle["state"]
        assert ops["id"] == f"layer3-0007 {stem.replace('-', ' ')} {number}"
        if not solutions:
            assert "bm" not in ops and "pv" not in ops
            continue
        assert [m.uci() for m in ops["bm"]] == [puzzle["solution"]]
        assert domain.action_of(domain.from_text(puzzle["state"]), ops["bm"][0]) == puzzle["solution_action"]
        assert [m.uci() for m in ops["pv"]] == puzzle["line"]
        assert f"{puzzle['value']:+.3f}" in ops["c0"]


@pytest.mark.parametrize(("stem", "phase", "solutions"), [
    ("phase1", "phase1", False), ("phase2", "phase1", True),
    ("phase3", "phase3", False), ("phase3-solutions", "phase3", True),
])
def test_pgn_reads_back_to_the_positions_with_the_line_as_mainline(domain, files, stem, phase, solutions):
    phases, texts = files
    handle = io.StringIO(texts[f"{stem}.pgn"])
    games = []
    while (game := chess.pgn.read_game(handle)) is not None:
        games.append(game)
    assert len(games) == len(phases[phase])
    for number, (game, puzzle) in enumerate(zip(games, phases[phase], strict=True), start=1):
        assert not game.errors
        assert game.headers["SetUp"] == "1" and game.headers["FEN"] == puzzle["state"]
        assert game.headers["Round"] == str(number)
        assert game.board().fen() == puzzle["state"]
        moves = [m.uci() for m in game.mainline_moves()]
        assert moves == (puzzle["line"] if solutions else [])
        if solutions:
            assert game.next().comment.startswith("agent's move")


def test_a_line_that_does_not_start_with_the_solution_gives_the_solution_alone(domain):
    puzzle = Puzzle(chess.STARTING_FEN, "d2d4", domain.action_from_text(domain.initial_state(), "d2d4"),
                    ("e2e4", "e7e5"), 0.0)
    assert [m.uci() for m in agent_line(puzzle)] == ["d2d4"]
    board, ops = chess.Board.from_epd(puzzles_epd("x", [puzzle], solutions=True).strip())
    assert [m.uci() for m in ops["bm"]] == ["d2d4"] and [m.uci() for m in ops["pv"]] == ["d2d4"]


def test_an_illegal_move_in_the_line_is_refused_by_name(domain):
    puzzle = Puzzle(chess.STARTING_FEN, "e2e4", domain.action_from_text(domain.initial_state(), "e2e4"),
                    ("e2e4", "e2e4"), 0.0)
    with pytest.raises(InvalidActionError, match="'e2e4' of the agent's line"):
        domain.puzzle_files("x", [puzzle], solutions=True)


def test_positions_only_files_do_not_leak_the_solution(domain: ChessDomain, files):
    phases, texts = files
    for stem in ("phase1", "phase3"):
        for ext in ("pgn", "epd"):
            body = texts[f"{stem}.{ext}"]
            assert "bm " not in body and "agent's move" not in body
