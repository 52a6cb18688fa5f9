"""``conceptlab-chess uci`` driven by python-chess's engine client, as a GUI drives it.

The engine runs in its own process with the shipped teacher and few
simulations. A short match under a clock against Stockfish checks that it
neither forfeits on time nor sends an illegal move (the 20-game match is
``python -m conceptlab_chess.referee``, see docs/chess.md); scripted engines
check that the referee forfeits a slow, illegal or null move. The lc0 test needs
Maia-1900: it skips without it, and fails instead when
``CONCEPTLAB_REQUIRE_MAIA=1``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator

import chess
import chess.engine
import pytest

from conceptlab_chess.openings import opening_set
from conceptlab_chess.referee import TimeControl, engine_command, play_clock_game, play_clock_match
from conceptlab_chess.stockfish import open_stockfish
from test_stockfish import needs_stockfish

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
"""The engine process imports what the tests import (this checkout's framework and plugins)."""
MATE_IN_ONE = "6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1"


def start(*arguments: str) -> chess.engine.SimpleEngine:
    engine = chess.engine.SimpleEngine.popen_uci(engine_command(arguments), timeout=300, env=ENV)
    engine.ping()  # isready: the network loads here
    return engine


@pytest.fixture(scope="module")
def engine() -> Iterator[chess.engine.SimpleEngine]:
    engine = start("--simulations", "64", "--threads", "1")
    yield engine
    engine.quit()


def test_the_engine_names_its_options(engine: chess.engine.SimpleEngine) -> None:
    assert engine.id["name"] == "conceptlab az-chess"
    assert engine.options["WeightsFile"].default.endswith("teacher.pt")
    assert engine.options["Threads"].default == 1 and engine.options["MultiPV"].max >= 3
    engine.configure({"Threads": 1, "Move Overhead": 100})


def test_analysis_yields_info_at_least_once_a_second(engine: chess.engine.SimpleEngine) -> None:
    board = chess.Board()
    board.push_uci("e2e4")
    arrivals, seen = [], []
    started = time.monotonic()
    with engine.analysis(board) as analysis:  # go infinite; leaving sends stop
        for info in analysis:
            if "pv" in info:
                arrivals.append(time.monotonic())
                seen.append(info)
            if len(seen) == 4:
                break
    assert len(seen) == 4, "the analysis ended without info lines (did the network load?)"
    gaps = [b - a for a, b in zip([started, *arrivals], arrivals)]
    assert max(gaps) < 1.5, f"info arrived {gaps} s apart; UCI GUIs expect one about every second"
    for info in seen:
        assert {"depth", "seldepth", "nodes", "nps", "time", "score", "pv"} <= set(info)
        assert info["depth"] <= info["seldepth"] and info["pv"][0] in board.legal_moves
        assert info["score"].turn == chess.BLACK
    assert [info["nodes"] for info in seen] == sorted(info["nodes"] for info in seen)
    assert seen[-1]["nodes"] > seen[0]["nodes"]


def test_multipv_three(engine: chess.engine.SimpleEngine) -> None:
    board = chess.Board()
    lines = engine.analyse(board, chess.engine.Limit(nodes=200), multipv=3)
    assert [info["multipv"] for info in lines] == [1, 2, 3]
    assert len({info["pv"][0] for info in lines}) == 3
    for info in lines:
        replay = board.copy()
        for move in info["pv"]:
            assert move in replay.legal_moves
            replay.push(move)
    assert all(info["nodes"] == 200 for info in lines)


def test_go_depth_and_a_proven_mate(engine: chess.engine.SimpleEngine) -> None:
    info = engine.analyse(chess.Board(), chess.engine.Limit(depth=3))
    assert info["depth"] >= 3
    info = engine.analyse(chess.Board(MATE_IN_ONE), chess.engine.Limit(nodes=200))
    assert info["score"].relative == chess.engine.Mate(1) and info["pv"][0] == chess.Move.from_uci("a1a8")


def test_play_with_a_move_time_and_with_a_clock(engine: chess.engine.SimpleEngine) -> None:
    board = chess.Board()
    started = time.monotonic()
    played = engine.play(board, chess.engine.Limit(time=0.5))
    assert played.move in board.legal_moves
    assert time.monotonic() - started < 1.5, "movetime 500 ms answered late"
    board.push(played.move)  # type: ignore[arg-type]
    started = time.monotonic()
    played = engine.play(board, chess.engine.Limit(white_clock=4.0, black_clock=3.0, white_inc=0.1, black_inc=0.1))
    assert played.move in board.legal_moves
    assert time.monotonic() - started < 3.0, "the answer took longer than Black's clock"


def test_an_illegal_position_is_refused_not_searched(engine: chess.engine.SimpleEngine) -> None:
    board = chess.Board("8/8/8/8/8/8/8/KK5k w - - 0 1")  # two white kings
    result = engine.play(board, chess.engine.Limit(nodes=16), info=chess.engine.INFO_ALL)
    assert result.move == chess.Move.null()  # bestmove 0000
    assert "no search: the last position command failed" in result.info["string"]
    assert "illegal position" in result.info["string"]
    played = engine.play(chess.Board(), chess.engine.Limit(nodes=16))
    assert played.move in chess.Board().legal_moves


@needs_stockfish
@pytest.mark.slow
def test_a_short_clock_match_against_stockfish_has_no_forfeit() -> None:
    """Two games at 3 s + 50 ms a move, adjudicated a draw after 60 plies (about 20 s)."""
    control = TimeControl(3.0, 0.05)
    records = play_clock_match(
        engine_command(["--simulations", "64"]),
        lambda: open_stockfish(options={"UCI_LimitStrength": True, "UCI_Elo": 1350}),
        games=2, control=control, max_plies=60,
    )
    assert len(records) == 2
    assert [r.forfeit for r in records] == [None, None]
    book = opening_set("eco")
    for i, record in enumerate(records):
        board = chess.Board()
        for move in record.moves:
            assert chess.Move.from_uci(move) in board.legal_moves
            board.push_uci(move)
        assert record.moves[:len(book[0].moves())] == tuple(m.uci() for m in book[i // 2].moves())
        assert record.longest_move["conceptlab"] < control.base


@pytest.fixture(scope="module")
def maia_engine(maia_weights) -> Iterator[chess.engine.SimpleEngine]:
    engine = start("--agent", "lc0", "--weights", "maia-1900", "--simulations", "32")
    yield engine
    engine.quit()


def test_an_lc0_network_over_uci(maia_engine: chess.engine.SimpleEngine) -> None:
    assert maia_engine.id["name"] == "conceptlab lc0"
    assert maia_engine.options["WeightsFile"].default == "maia-1900"
    info = maia_engine.analyse(chess.Board(MATE_IN_ONE), chess.engine.Limit(nodes=64))
    assert info["score"].relative == chess.engine.Mate(1)
    board = chess.Board()
    played = maia_engine.play(board, chess.engine.Limit(nodes=32))
    assert played.move in board.legal_moves



FAKE_ENGINE = """
import sys, time
import chess
mode, board = sys.argv[1], chess.Board()
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "uci":
        print("id name fake", flush=True)
        print("uciok", flush=True)
    elif words[0] == "isready":
        print("readyok", flush=True)
    elif words[0] == "position":
        board = chess.Board() if words[1] == "startpos" else chess.Board(" ".join(words[2:8]))
        for move in words[words.index("moves") + 1:] if "moves" in words else []:
            board.push_uci(move)
    elif words[0] == "go":
        if mode == "slow":
            time.sleep(1.5)
        legal = sorted(move.uci() for move in board.legal_moves)
        print("bestmove " + {"illegal": "e1e8", "null": "0000"}.get(mode, legal[0]), flush=True)
    elif words[0] == "quit":
        break
"""


@pytest.mark.parametrize("mode, forfeit", [
    ("slow", "time ("), ("illegal", "illegal move or protocol error"), ("null", "null move"),
])
def test_the_referee_forfeits_a_slow_illegal_or_null_move(mode: str, forfeit: str) -> None:
    opening = opening_set("eco")[0]
    faulty = chess.engine.SimpleEngine.popen_uci([sys.executable, "-c", FAKE_ENGINE, mode], env=ENV)
    good = chess.engine.SimpleEngine.popen_uci([sys.executable, "-c", FAKE_ENGINE, "good"], env=ENV)
    faulty_is_white = opening.board().turn == chess.WHITE  # the faulty engine moves first
    names = ("faulty", "good") if faulty_is_white else ("good", "faulty")
    try:
        pair = (faulty, good) if faulty_is_white else (good, faulty)
        record = play_clock_game(*pair, names, opening, TimeControl(1.0, 0.0))
    finally:
        faulty.quit()
        good.quit()
    assert record.termination == "forfeit" and record.result == ("0-1" if faulty_is_white else "1-0")
    assert record.forfeit is not None and record.forfeit.startswith(f"faulty: {forfeit}")
    assert record.moves == tuple(m.uci() for m in opening.moves())
