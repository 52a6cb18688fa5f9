"""A UCI front end: the agent plays in any chess GUI and against any engine.

Implements the commands a GUI needs (``uci``, ``isready``, ``ucinewgame``,
``position``, ``go``, ``stop``, ``quit``; ``setoption`` is accepted and
ignored). ``go`` runs in a worker thread so that the engine keeps reading.
``nodes N`` asks for ``N`` simulations; ``movetime`` and clock times set a
deadline (a share of the time left plus most of the increment); ``infinite``
searches until ``stop``; otherwise the default number of simulations is used.
``stop`` ends a search at its next check (players check between steps of
simulations) and ``bestmove`` follows.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from typing import TextIO

import chess

from conceptlab.errors import ConceptlabError

from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.players import Player
from conceptlab_chess.state import ChessState

__all__ = ["UciEngine", "value_to_centipawns"]

ENGINE_NAME = "conceptlab az-chess"


def value_to_centipawns(value: float, scale: float = 400.0) -> int:
    """Inverse of the logistic map from centipawns to value, ``v = 2 / (1 + 10^(-cp/scale)) - 1``."""
    v = min(max(value, -0.9999), 0.9999)
    return int(round(scale * math.log10((1 + v) / (1 - v))))


class UciEngine:
    """Reads UCI commands and answers them, choosing moves with a :class:`Player`.

    Args:
        domain: The chess domain (its history param must match the agent's).
        player: Chooses moves; its ``decide`` is called with a simulation count.
        default_simulations: Simulations when ``go`` gives no limit.
        max_simulations: Upper bound whatever the clock allows.
        output: Where answers go (flushed after each line).
    """

    def __init__(
        self,
        domain: ChessDomain,
        player: Player,
        *,
        default_simulations: int,
        max_simulations: int = 100_000,
        output: TextIO,
    ) -> None:
        self.domain = domain
        self.player = player
        self.default_simulations = default_simulations
        self.max_simulations = max_simulations
        self.output = output
        self.state: ChessState = domain.initial_state()
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        self._infinite = False
        self._lock = threading.Lock()

    # -- io --------------------------------------------------------------------------
    def send(self, line: str) -> None:
        """Write one line to the GUI."""
        with self._lock:
            self.output.write(line + "\n")
            self.output.flush()

    def run(self, lines: Iterable[str]) -> None:
        """Answer every command in ``lines`` until ``quit`` or the end of input."""
        for line in lines:
            if not self.handle(line):
                break
        self.finish(cut=False)

    def handle(self, line: str) -> bool:
        """Answer one command; ``False`` after ``quit``."""
        tokens = line.split()
        if not tokens:
            return True
        command, args = tokens[0], tokens[1:]
        try:
            if command == "uci":
                self.send(f"id name {ENGINE_NAME}")
                self.send("id author conceptlab")
                self.send("uciok")
            elif command == "isready":
                self.send("readyok")
            elif command == "ucinewgame":
                self.finish(cut=False)
                self.state = self.domain.initial_state()
            elif command == "position":
                self.finish(cut=False)
                self.state = self.parse_position(args)
            elif command == "go":
                self.finish(cut=False)
                self.go(args)
            elif command == "stop":
                self.finish()
            elif command == "quit":
                self.finish()
                return False
            elif command in ("setoption", "debug", "register", "ponderhit"):
                pass
            else:
                self.send(f"info string unknown command {command!r}")
        except ConceptlabError as exc:
            self.send(f"info string error: {exc}")
        return True

    def finish(self, cut: bool = True) -> None:
        """Wait for a running search and its ``bestmove``.

        Args:
            cut: Stop the search at its next check (``stop``, ``quit``); otherwise
                only a ``go infinite`` search is released and others run to their end.
        """
        if cut or self._infinite:
            self._stop.set()
        if self._worker is not None:
            self._worker.join()
            self._worker = None

    # -- commands ----------------------------------------------------------------------
    def parse_position(self, args: list[str]) -> ChessState:
        """The state of ``position startpos|fen <FEN> [moves m1 m2 ...]``."""
        if not args:
            raise ConceptlabError("position: expected 'startpos' or 'fen <FEN>'")
        moves_at = args.index("moves") if "moves" in args else len(args)
        if args[0] == "startpos":
            state = self.domain.initial_state()
        elif args[0] == "fen":
            state = self.domain.from_text(" ".join(args[1:moves_at]))
        else:
            raise ConceptlabError(f"position: expected 'startpos' or 'fen', got {args[0]!r}")
        for text in args[moves_at + 1:]:
            state = self.domain.apply(state, self.domain.action_from_text(state, text))
        return state

    def limits_for(self, args: list[str]) -> tuple[int, float | None, bool]:
        """(simulations, seconds allowed or ``None``, infinite) for the arguments of ``go``."""
        opts: dict[str, int] = {}
        infinite = "infinite" in args
        for key, value in zip(args, args[1:]):
            if key in ("nodes", "movetime", "wtime", "btime", "winc", "binc", "movestogo", "depth"):
                try:
                    opts[key] = int(value)
                except ValueError:
                    raise ConceptlabError(f"go: {key} needs a number, got {value!r}") from None
        if infinite:
            return self.max_simulations, None, True
        if "nodes" in opts:
            return max(1, min(opts["nodes"], self.max_simulations)), None, False
        white = self.state.board.turn == chess.WHITE
        if "movetime" in opts:
            return self.max_simulations, 0.95 * opts["movetime"] / 1000, False
        if ("wtime" if white else "btime") in opts:
            left = opts["wtime" if white else "btime"]
            increment = opts.get("winc" if white else "binc", 0)
            budget_ms = min(left / opts.get("movestogo", 30) + 0.8 * increment, 0.5 * left)
            return self.max_simulations, max(budget_ms, 1.0) / 1000, False
        return self.default_simulations, None, False

    def go(self, args: list[str]) -> None:
        """Start a search in a worker thread; it prints ``info`` and ``bestmove``."""
        if self.domain.is_terminal(self.state):
            self.send("info string the game is over")
            self.send("bestmove 0000")
            return
        simulations, seconds, infinite = self.limits_for(args)
        self._stop.clear()
        self._infinite = infinite
        self._worker = threading.Thread(
            target=self._search, args=(self.state, simulations, seconds, infinite), daemon=True
        )
        self._worker.start()

    def _search(self, state: ChessState, simulations: int, seconds: float | None, infinite: bool) -> None:
        started = time.perf_counter()
        deadline = None if seconds is None else started + seconds
        try:
            decision = self.player.decide(state, simulations, deadline=deadline, stop=self._stop)
        except ConceptlabError as exc:
            self.send(f"info string error: {exc}")
            self.send("bestmove 0000")
            return
        elapsed = max(time.perf_counter() - started, 1e-6)
        pv, line_state = [], state
        for action in decision.principal_variation:
            if self.domain.is_terminal(line_state) or action not in line_state.moves:
                break
            pv.append(self.domain.action_to_text(line_state, action))
            line_state = self.domain.apply(line_state, action)
        best = self.domain.action_to_text(state, decision.action)
        nodes = max(decision.simulations, 1)
        self.send(
            f"info depth {max(len(pv), 1)} score cp {value_to_centipawns(decision.value)} nodes {nodes} "
            f"nps {int(nodes / elapsed)} time {int(elapsed * 1000)} pv {' '.join(pv) or best}"
        )
        if infinite:
            self._stop.wait()
        self.send(f"bestmove {best}")
