"""The UCI front end answers a GUI's commands; the CLI fails clearly without a checkpoint.

These drive :class:`UciEngine` in the process, with a scripted player or a tiny
untrained net under the core's PUCT search; ``test_uci_client.py`` drives the
``conceptlab-chess uci`` process with python-chess as a GUI does.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import chess
import numpy as np
import pytest
import torch

from conceptlab_chess import cli
from conceptlab_chess.agent import AlphaZeroChessAgent
from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.players import Decision, Player, Progress, SearchPlayer, registry_search_factory
from conceptlab.values import SearchResult

from conceptlab_chess.search_lines import mate_in_moves, summarise
from conceptlab_chess.state import ChessState
from conceptlab_chess.uci import UciEngine, clock_seconds, value_to_centipawns

torch.set_num_threads(1)


class FirstMovePlayer(Player):
    """Plays the lowest legal action and records what it was asked."""

    def __init__(self, domain: ChessDomain) -> None:
        self.domain = domain
        self.calls: list[tuple[str, int | None, bool]] = []

    def decide(self, state: ChessState, simulations: int | None = None, *, deadline: float | None = None,
               stop: threading.Event | None = None, progress: Progress | None = None) -> Decision:
        self.calls.append((state.fen, simulations, deadline is not None))
        action = self.domain.legal_actions(state)[0]
        return Decision(action, 0.25, (action,), simulations or 1)


def scripted_engine(**kwargs: object) -> tuple[UciEngine, FirstMovePlayer, list[str]]:
    """An engine over :class:`FirstMovePlayer`; the list records each ``WeightsFile`` loaded."""
    domain = ChessDomain(ChessDomain.Params(history=1, claim_draw=False))
    player = FirstMovePlayer(domain)
    loaded: list[str] = []

    def load(weights: str) -> tuple[ChessDomain, Player]:
        loaded.append(weights)
        if weights.endswith(".broken"):
            from conceptlab.errors import CheckpointError

            raise CheckpointError(f"checkpoint {weights!r} is not a checkpoint")
        return domain, player

    engine = UciEngine(load, weights="net.pt", default_simulations=7, output=io.StringIO(), **kwargs)  # type: ignore[arg-type]
    return engine, player, loaded


def tiny_search_engine(simulations: int = 64, **kwargs: object) -> UciEngine:
    """An engine over an untrained one-block net with the core's PUCT search."""
    domain = ChessDomain(ChessDomain.Params(history=1, claim_draw=False))
    agent = AlphaZeroChessAgent(domain, AlphaZeroChessAgent.Params(blocks=1, filters=8, value_hidden=8))
    player = SearchPlayer(domain, agent, registry_search_factory(domain, params={"batch_size": 4}), simulations,
                          np.random.default_rng(0), increment=16)
    return UciEngine(lambda weights: (domain, player), weights="tiny", default_simulations=simulations,
                     output=io.StringIO(), **kwargs)  # type: ignore[arg-type]


def run(engine: UciEngine, text: str) -> list[str]:
    """Feed ``text`` (a ``quit`` in it cuts a running search short; the end of input waits for it)."""
    engine.run(io.StringIO(text))
    return engine.output.getvalue().splitlines()  # type: ignore[attr-defined]


def infos(lines: list[str]) -> list[dict[str, str]]:
    """The ``info depth`` lines as {key: value} (``pv`` and ``score`` keep their rest)."""
    parsed = []
    for line in lines:
        if not line.startswith("info depth"):
            continue
        tokens = line.split()[1:]
        fields: dict[str, str] = {}
        i = 0
        while i < len(tokens):
            key = tokens[i]
            if key == "pv":
                fields["pv"] = " ".join(tokens[i + 1:])
                break
            if key == "score":
                fields["score"] = f"{tokens[i + 1]} {tokens[i + 2]}"
                i += 3
                continue
            fields[key] = tokens[i + 1]
            i += 2
        parsed.append(fields)
    return parsed


def test_handshake_lists_the_options_and_loads_the_network_only_when_asked() -> None:
    engine, player, loaded = scripted_engine()
    engine.handle("uci")
    lines = engine.output.getvalue().splitlines()  # type: ignore[attr-defined]
    assert lines[0] == "id name conceptlab az-chess" and lines[-1] == "uciok"
    assert "option name WeightsFile type string default net.pt" in lines
    assert "option name Threads type spin default 1 min 1 max 256" in lines
    assert "option name MultiPV type spin default 1 min 1 max 256" in lines
    assert any(line.startswith("option name Move Overhead type spin") for line in lines)
    assert loaded == []
    engine.handle("isready")
    assert loaded == ["net.pt"] and engine.output.getvalue().splitlines()[-1] == "readyok"  # type: ignore[attr-defined]


def test_position_and_go_limits_reach_the_player() -> None:
    engine, player, _ = scripted_engine()
    lines = run(engine, "uci\nisready\nucinewgame\nposition startpos moves e2e4 e7e5\ngo nodes 12\n"
                        "position fen 7k/8/8/8/8/8/8/KR6 w - - 0 1\ngo movetime 50\n"
                        "go wtime 1000 btime 1000\ngo\nquit\n")
    bestmoves = [line for line in lines if line.startswith("bestmove")]
    assert len(bestmoves) == 4 and "bestmove 0000" not in bestmoves
    assert player.calls[0] == ("rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2", 12, False)
    assert player.calls[1][0] == "7k/8/8/8/8/8/8/KR6 w - - 0 1" and player.calls[1][2]
    assert player.calls[2][2], "a clock sets a deadline"
    assert player.calls[3][1:] == (7, False), "without limits: the default simulations"
    assert all(" score cp " in info_line for info_line in lines if info_line.startswith("info depth"))


@pytest.mark.parametrize("bad, why", [
    ("position startpos moves e2e4 e7e5 e1e3", "'e1e3'"),
    ("position fen 8/8/8/8/8/8/8/KK5k w - - 0 1", "KK5k"),
    ("position fen not-a-fen", "not-a-fen"),
    ("position sideways", "expected 'startpos' or 'fen', got 'sideways'"),
    ("position", "expected 'startpos' or 'fen <FEN>'"),
])
def test_a_failed_position_is_never_searched(bad: str, why: str) -> None:
    engine, player, _ = scripted_engine()
    lines = run(engine, f"position startpos moves d2d4\ngo nodes 3\n{bad}\ngo nodes 3\nquit\n")
    after = lines[lines.index(next(line for line in lines if line.startswith("bestmove"))) + 1:]
    assert after[0].startswith("info string error:") and why in after[0]
    assert after[1].startswith("info string no search: the last position command failed") and why in after[1]
    assert after[2] == "bestmove 0000"
    assert len(player.calls) == 1, "only the good position was searched"


def test_a_good_position_after_a_failed_one_is_searched() -> None:
    engine, player, _ = scripted_engine()
    lines = run(engine, "position startpos moves e2e5\ngo nodes 3\nposition startpos moves e2e4\ngo nodes 3\nquit\n")
    bestmoves = [line for line in lines if line.startswith("bestmove")]
    assert bestmoves[0] == "bestmove 0000" and bestmoves[1] != "bestmove 0000"
    assert player.calls == [("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1", 3, False)]


def test_a_bad_go_or_a_finished_game_answers_a_null_move_with_the_reason() -> None:
    engine, player, _ = scripted_engine()
    lines = run(engine, "position startpos\ngo depth x\nposition startpos moves f2f3 e7e5 g2g4 d8h4\ngo\nquit\n")
    assert lines == [
        "info string no search: go: depth needs a whole number, got 'x'", "bestmove 0000",
        "info string no search: the game is over (checkmate)", "bestmove 0000",
    ]
    assert player.calls == []


def test_unsupported_go_words_are_named_and_the_search_goes_on() -> None:
    engine, player, _ = scripted_engine()
    lines = run(engine, "position startpos\ngo mate 2 nodes 5\nquit\n")
    assert lines[0] == "info string go: mate is not supported; searching without it"
    assert player.calls[0][1] == 5 and lines[-1].startswith("bestmove ") and lines[-1] != "bestmove 0000"


def test_unknown_commands_and_options_are_named() -> None:
    engine, _, _ = scripted_engine()
    lines = run(engine, "bogus\nsetoption name Hash value 16\nsetoption name MultiPV value 0\n"
                        "setoption name Threads value two\nquit\n")
    assert lines == [
        "info string unknown command 'bogus'",
        "info string error: setoption: unknown option 'Hash'; options: WeightsFile, Threads, MultiPV, Move Overhead",
        "info string error: setoption multipv: 0 is outside 1..256",
        "info string error: setoption threads: expected a whole number, got 'two'",
    ]


def test_weights_and_threads_options_reload_and_apply() -> None:
    threads: list[int] = []
    engine, player, loaded = scripted_engine(threads=2, set_threads=threads.append)
    lines = run(engine, "uci\nsetoption name Threads value 3\nisready\ngo nodes 2\n"
                        "setoption name WeightsFile value other.pt\nisready\n"
                        "setoption name WeightsFile value net.broken\nposition startpos\ngo nodes 2\n"
                        "setoption name WeightsFile value\nisready\ngo nodes 2\nquit\n")
    assert threads == [3]
    assert loaded == ["net.pt", "other.pt", "net.broken", "net.pt"]
    failed = lines.index("info string error: cannot load WeightsFile 'net.broken': "
                         "checkpoint 'net.broken' is not a checkpoint")
    assert lines[failed + 1].startswith("info string no search: cannot load WeightsFile 'net.broken'")
    assert lines[failed + 2] == "bestmove 0000"
    assert sum(line.startswith("bestmove") and line != "bestmove 0000" for line in lines) == 2


def test_value_to_centipawns_inverts_the_logistic_map() -> None:
    for cp in (-600, -50, 0, 120, 900):
        value = 2 / (1 + 10 ** (-cp / 400)) - 1
        assert abs(value_to_centipawns(value) - cp) <= 1


def test_mate_distances_in_moves() -> None:
    assert [mate_in_moves(p) for p in (1, 3, 5, -2, -4)] == [1, 2, 3, -1, -2]


def test_clock_time_is_a_share_of_what_is_left_and_keeps_the_overhead_back() -> None:
    assert clock_seconds(60_000, 0, None, 100) == pytest.approx((60_000 / 30 - 100) / 1000)
    assert clock_seconds(60_000, 1_000, 10, 100) == pytest.approx((6_000 + 750 - 100) / 1000)
    assert clock_seconds(1_000, 5_000, None, 100) == pytest.approx(0.45), "never half of what is left"
    assert clock_seconds(3_000, 0, 1, 100) == pytest.approx(0.9 * 2.9), "last move before the control"
    assert clock_seconds(50, 0, None, 100) == pytest.approx(0.005), "an answer even with no time"


def test_search_prints_depths_nodes_and_a_legal_line() -> None:
    engine = tiny_search_engine()
    lines = run(engine, "position startpos moves d2d4\ngo nodes 40\n")
    last = infos(lines)[-1]
    assert last["nodes"] == "40" and last["multipv"] == "1"
    assert 1 <= int(last["depth"]) <= int(last["seldepth"])
    assert last["score"].startswith("cp ")
    board = chess.Board()
    board.push_uci("d2d4")
    for move in last["pv"].split():
        assert chess.Move.from_uci(move) in board.legal_moves
        board.push_uci(move)
    assert lines[-1] == f"bestmove {last['pv'].split()[0]}"


def test_multipv_reports_distinct_first_moves() -> None:
    engine = tiny_search_engine()
    lines = run(engine, "setoption name MultiPV value 3\nposition startpos\ngo nodes 120\n")
    final = infos(lines)[-3:]
    assert [info["multipv"] for info in final] == ["1", "2", "3"]
    assert len({info["pv"].split()[0] for info in final}) == 3
    assert lines[-1] == f"bestmove {final[0]['pv'].split()[0]}"


def test_go_depth_ends_when_the_tree_is_that_deep() -> None:
    engine = tiny_search_engine(max_simulations=20_000)
    lines = run(engine, "position startpos\ngo depth 2\n")
    last = infos(lines)[-1]
    assert int(last["depth"]) >= 2
    assert int(last["nodes"]) < 20_000, "the depth, not the simulation cap, ended it"


@pytest.mark.parametrize("fen, mate", [
    ("6k1/5ppp/8/8/8/8/5PPP/R5K1 w - - 0 1", "mate 1"),  # Ra8#
    ("k7/2K5/8/8/8/8/8/1R6 b - - 0 1", "mate -1"),  # Ka7 only, then Ra1#
])
def test_a_proven_mate_is_scored_as_mate(fen: str, mate: str) -> None:
    engine = tiny_search_engine()
    lines = run(engine, f"position fen {fen}\ngo nodes 400\n")
    assert infos(lines)[-1]["score"] == mate


def test_a_single_legal_move_on_a_clock_is_answered_after_the_first_step() -> None:
    engine = tiny_search_engine()
    lines = run(engine, "position fen k7/2K5/8/8/8/8/8/1R6 b - - 0 1\ngo wtime 600000 btime 600000\n")
    assert int(infos(lines)[-1]["nodes"]) <= 8 and lines[-1] == "bestmove a8a7"


def test_lines_of_a_search_without_a_tree_come_from_the_root_statistics() -> None:
    domain = ChessDomain(ChessDomain.Params(history=1))
    state = domain.initial_state()
    actions = tuple(domain.legal_actions(state))
    visits = np.zeros(len(actions), dtype=np.int64)
    visits[[3, 7, 1]] = [50, 30, 20]
    q_values = np.full(len(actions), np.nan)
    q_values[[3, 7, 1]] = [0.1, -0.2, 0.3]
    pv = (actions[3], domain.legal_actions(domain.apply(state, actions[3]))[0])
    result = SearchResult(state, actions, visits, q_values, np.full(len(actions), 1 / len(actions)), actions[3], pv,
                          0.05, 100, tree=None)
    summary = summarise(result, 2)
    assert summary.nodes == 100 and summary.depth == summary.seldepth == 2
    assert [line.moves for line in summary.lines] == [pv, (actions[7],)]
    assert [line.value for line in summary.lines] == [0.1, -0.2]


def test_go_infinite_prints_info_until_stop_and_then_answers() -> None:
    engine = tiny_search_engine(max_simulations=10**6)
    engine.handle("position startpos")
    engine.handle("go infinite")
    waited = time.monotonic()
    while sum(line.startswith("info depth") for line in engine.output.getvalue().splitlines()) < 2:  # type: ignore[attr-defined]
        assert time.monotonic() - waited < 60, "no periodic info during go infinite"
        time.sleep(0.05)
    engine.handle("isready")
    lines = engine.output.getvalue().splitlines()  # type: ignore[attr-defined]
    assert "readyok" in lines and not any(line.startswith("bestmove") for line in lines)
    engine.handle("stop")
    lines = engine.output.getvalue().splitlines()  # type: ignore[attr-defined]
    assert sum(line.startswith("bestmove") for line in lines) == 1 and lines[-1].startswith("bestmove ")


def test_uciok_comes_before_torch_is_imported() -> None:
    probe = (
        "import io, sys\n"
        "from conceptlab_chess import cli\n"
        "class Probe(io.StringIO):\n"
        "    def write(self, text):\n"
        "        for word in ('uciok', 'readyok'):\n"
        "            if word in text:\n"
        "                sys.stderr.write(f'{word}: torch imported={\"torch\" in sys.modules}\\n')\n"
        "        sys.__stdout__.write(text)\n"
        "        return super().write(text)\n"
        "sys.stdout = Probe()\n"
        "sys.stdin = io.StringIO('uci\\nisready\\nquit\\n')\n"
        "sys.exit(cli.main(['uci']))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-2:] == ["uciok: torch imported=False", "readyok: torch imported=True"]
    assert "readyok" in done.stdout and "info string error" not in done.stdout, done.stdout


def test_cli_without_checkpoint_names_the_missing_teacher(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cli, "DEFAULT_CHECKPOINT", tmp_path / "teacher.pt")
    assert cli.main(["uci"]) == 2
    err = capsys.readouterr().err
    assert "teacher.pt" in err and "conceptlab-chess bootstrap" in err


def test_cli_with_a_missing_checkpoint_fails_at_start(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["uci", "--checkpoint", str(tmp_path / "nowhere.pt")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err


def test_cli_with_missing_lc0_weights_fails_at_start(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["uci", "--agent", "lc0", "--weights", str(tmp_path / "none.pb.gz")]) == 2
    assert "none.pb.gz" in capsys.readouterr().err


def test_cli_with_a_checkpoint_of_another_agent_says_so_over_uci(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint")
    monkeypatch.setattr(sys, "stdin", io.StringIO("uci\nisready\nposition startpos\ngo nodes 1\nquit\n"))
    assert cli.main(["uci", "--checkpoint", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("info string error: cannot load WeightsFile") and "bad.pt" in line for line in lines)
    assert lines[-1] == "bestmove 0000" and lines[-2].startswith("info string no search: cannot load WeightsFile")
