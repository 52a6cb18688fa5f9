"""The UCI front end answers a GUI's commands; the CLI fails clearly without a checkpoint."""

from __future__ import annotations

import importlib.util
import io
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from conceptlab_chess import cli
from conceptlab_chess.agent import AlphaZeroChessAgent
from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.players import Decision, Player, SearchPlayer, registry_search_factory
from conceptlab_chess.state import ChessState
from conceptlab_chess.uci import UciEngine, value_to_centipawns

torch.set_num_threads(1)


class FirstMovePlayer(Player):
    """Plays the lowest legal action and records what it was asked."""

    def __init__(self, domain: ChessDomain) -> None:
        self.domain = domain
        self.calls: list[tuple[str, int | None, bool]] = []

    def decide(self, state: ChessState, simulations: int | None = None, *, deadline: float | None = None,
               stop: threading.Event | None = None) -> Decision:
        self.calls.append((state.fen, simulations, deadline is not None))
        if stop is not None and simulations == 10**9:
            stop.wait(5)
        action = self.domain.legal_actions(state)[0]
        return Decision(action, 0.25, (action,), simulations or 1)


def run(engine: UciEngine, text: str) -> list[str]:
    engine.run(io.StringIO(text))
    return engine.output.getvalue().splitlines()  # type: ignore[attr-defined]


def test_handshake_position_and_go() -> None:
    domain = ChessDomain(ChessDomain.Params(history=1))
    player = FirstMovePlayer(domain)
    engine = UciEngine(domain, player, default_simulations=7, output=io.StringIO())
    lines = run(engine, "uci\nisready\nucinewgame\nposition startpos moves e2e4 e7e5\ngo nodes 12\n"
                        "position fen 7k/8/8/8/8/8/8/KR6 w - - 0 1\ngo movetime 50\nquit\n")
    assert lines[:4] == ["id name conceptlab az-chess", "id author conceptlab", "uciok", "readyok"]
    bestmoves = [line for line in lines if line.startswith("bestmove")]
    assert len(bestmoves) == 2
    assert player.calls[0] == ("rnbqkbnr/pppp1ppp/8/4p3/4P3/8/PPPP1PPP/RNBQKBNR w KQkq - 0 2", 12, False)
    assert player.calls[1][0] == "7k/8/8/8/8/8/8/KR6 w - - 0 1" and player.calls[1][2]
    assert any(line.startswith("info depth") and " score cp " in line for line in lines)


def test_infinite_waits_for_stop_and_errors_are_reported_not_raised() -> None:
    domain = ChessDomain(ChessDomain.Params(history=1))
    engine = UciEngine(domain, FirstMovePlayer(domain), default_simulations=3, max_simulations=10**9,
                       output=io.StringIO())
    lines = run(engine, "position startpos moves e2e5\nposition fen not-a-fen\ngo depth x\n"
                        "position startpos\ngo infinite\nstop\nbogus\nquit\n")
    assert any("e2e5" in line and line.startswith("info string error") for line in lines)
    assert any("not-a-fen" in line for line in lines)
    assert any("depth needs a number" in line for line in lines)
    assert any("unknown command 'bogus'" in line for line in lines)
    assert sum(line.startswith("bestmove") for line in lines) == 1


def test_game_over_gives_a_null_move() -> None:
    domain = ChessDomain(ChessDomain.Params(history=1))
    engine = UciEngine(domain, FirstMovePlayer(domain), default_simulations=3, output=io.StringIO())
    lines = run(engine, "position startpos moves f2f3 e7e5 g2g4 d8h4\ngo\nquit\n")
    assert lines[-1] == "bestmove 0000"


def test_value_to_centipawns_inverts_the_logistic_map() -> None:
    for cp in (-600, -50, 0, 120, 900):
        value = 2 / (1 + 10 ** (-cp / 400)) - 1
        assert abs(value_to_centipawns(value) - cp) <= 1


@pytest.mark.skipif(importlib.util.find_spec("conceptlab.search.puct") is None, reason="core PUCT search not present")
def test_uci_with_the_core_puct_search() -> None:
    domain = ChessDomain(ChessDomain.Params(history=1))
    agent = AlphaZeroChessAgent(domain, AlphaZeroChessAgent.Params(blocks=1, filters=8, value_hidden=8))
    player = SearchPlayer(domain, agent, registry_search_factory(domain, params={"batch_size": 4}), 16,
                          np.random.default_rng(0), increment=8)
    engine = UciEngine(domain, player, default_simulations=16, output=io.StringIO())
    lines = run(engine, "position startpos moves d2d4\ngo nodes 20\n")  # no quit: it cuts a search short
    info = next(line for line in lines if line.startswith("info depth"))
    assert " nodes 20 " in info
    move = lines[-1].split()[1]
    state = engine.parse_position(["startpos", "moves", "d2d4"])
    assert domain.action_from_text(state, move) in domain.legal_actions(state)


def test_cli_without_checkpoint_names_the_missing_teacher(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cli, "DEFAULT_CHECKPOINT", tmp_path / "teacher.pt")
    assert cli.main(["uci"]) == 2
    err = capsys.readouterr().err
    assert "teacher.pt" in err and "conceptlab-chess bootstrap" in err


def test_cli_with_a_checkpoint_of_another_agent_fails_clearly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint")
    assert cli.main(["uci", "--checkpoint", str(path)]) == 2
    assert "bad.pt" in capsys.readouterr().err
