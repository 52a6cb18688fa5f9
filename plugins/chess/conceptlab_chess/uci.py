"""A UCI front end: the agent plays in any chess GUI and against any engine.

Commands: ``uci``, ``isready``, ``ucinewgame``, ``position``, ``go``, ``stop``,
``setoption``, ``quit`` (``debug``, ``register`` and ``ponderhit`` are accepted
and ignored). ``uci`` is answered at once: the network is loaded (and torch
imported) at the first ``isready`` or ``go``, and again after ``WeightsFile``
changes.

``go`` runs in a worker thread so that the engine keeps reading; the search
grows in steps of simulations and, between steps, prints ``info`` about once a
second (``depth`` is the mean depth of the tree, ``seldepth`` its deepest node,
``nodes`` the simulations, ``score mate N`` when the tree proves a mate, else
``score cp`` from the move's mean value) and a last ``info`` before
``bestmove``. Limits: ``nodes N`` (simulations), ``depth N``, ``movetime MS``,
the clock (``wtime``/``btime``/``winc``/``binc``/``movestogo``), ``infinite``
(until ``stop``); several limits end the search at the first one reached;
without any, the default number of simulations. A ``position`` that fails
leaves no position: ``go`` then answers ``bestmove 0000`` with an
``info string`` saying why, as it does when no network could be loaded or the
game is over.

Options: ``WeightsFile`` (what the network is read from), ``Threads`` (torch
threads), ``MultiPV`` (lines in each ``info``), ``Move Overhead`` (milliseconds
kept back from each clock-based move for the GUI's own delays).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO

import chess

from conceptlab.errors import ConceptlabError, ParamsError
from conceptlab.values import SearchResult

from conceptlab_chess.domain import ChessDomain
from conceptlab_chess.players import Decision, Player
from conceptlab_chess.search_lines import SearchSummary, mate_in_moves, summarise
from conceptlab_chess.state import ChessState

__all__ = ["GoLimits", "PlayerLoader", "UciEngine", "clock_seconds", "value_to_centipawns"]

ENGINE_NAME = "conceptlab az-chess"
INFO_INTERVAL = 0.75
"""Seconds between periodic ``info`` lines (below UCI's customary one second, as steps
of simulations take time too)."""

PlayerLoader = Callable[[str], tuple[ChessDomain, Player]]
"""``WeightsFile`` value -> the chess domain of the network and a player using it."""


def value_to_centipawns(value: float, scale: float = 400.0) -> int:
    """Inverse of the logistic map from centipawns to value, ``v = 2 / (1 + 10^(-cp/scale)) - 1``."""
    v = min(max(value, -0.9999), 0.9999)
    return int(round(scale * math.log10((1 + v) / (1 - v))))


def clock_seconds(left_ms: int, increment_ms: int, moves_to_go: int | None, overhead_ms: int) -> float:
    """Seconds to think on a clock with ``left_ms`` left.

    A share of the time left (``1 / movestogo``, 30 moves when unsaid) plus
    three quarters of the increment, less ``overhead_ms``; never more than half
    of what is left after the overhead (nine tenths on the last move before the
    time control), and at least 5 ms.
    """
    moves = max(moves_to_go or 30, 1)
    available = max(left_ms - overhead_ms, 0)
    share = left_ms / moves + 0.75 * increment_ms - overhead_ms
    cap = available * (0.9 if moves == 1 else 0.5)
    return max(min(share, cap), 5.0) / 1000


@dataclass(frozen=True)
class GoLimits:
    """When a ``go`` search ends."""

    simulations: int
    """Most simulations."""
    seconds: float | None = None
    """Most seconds of search, if any."""
    depth: int | None = None
    """End once the tree's mean depth reaches this, if set."""
    infinite: bool = False
    """Keep the answer until ``stop`` (the search itself ends at ``simulations``)."""


@dataclass
class _Options:
    weights: str
    threads: int
    multipv: int = 1
    move_overhead_ms: int = 100


class UciEngine:
    """Reads UCI commands and answers them, choosing moves with a :class:`Player`.

    Args:
        load: Builds the domain and player from a ``WeightsFile`` value; called at
            the first ``isready`` or ``go`` (and after the option changes), so that
            ``uciok`` never waits for it. Raise :class:`ConceptlabError` for weights
            that cannot be read.
        weights: The ``WeightsFile`` default.
        default_simulations: Simulations when ``go`` gives no limit.
        max_simulations: Upper bound whatever the clock allows (and of ``go infinite``).
        threads: The ``Threads`` default.
        set_threads: Applies ``Threads`` (before loading, and when it changes).
        name: The engine's ``id name``.
        output: Where answers go (flushed after each line).
    """

    def __init__(
        self,
        load: PlayerLoader,
        *,
        weights: str,
        default_simulations: int,
        max_simulations: int = 100_000,
        threads: int = 1,
        set_threads: Callable[[int], None] | None = None,
        name: str = ENGINE_NAME,
        output: TextIO,
    ) -> None:
        self.load = load
        self.default_simulations = default_simulations
        self.max_simulations = max_simulations
        self.set_threads = set_threads
        self.name = name
        self.output = output
        self.options = _Options(weights=weights, threads=threads)
        self.domain = ChessDomain(ChessDomain.Params(claim_draw=False))
        """Parses positions until the network's own domain is loaded."""
        self.player: Player | None = None
        self._initial_weights = weights
        self._loaded_weights: str | None = None
        self._threads_applied: int | None = None
        self._load_error: str | None = None
        self._position: list[str] = ["startpos"]
        self.state: ChessState | None = self.domain.initial_state()
        """The position to search, or ``None`` when the last ``position`` failed."""
        self._position_error: str | None = None
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

    def say(self, text: str) -> None:
        """An ``info string``, on one line whatever ``text`` holds."""
        self.send("info string " + " ".join(text.split()))

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
                self._identify()
            elif command == "isready":
                if self._worker is not None and not self._worker.is_alive():
                    self.finish(cut=False)
                if self._worker is None:  # never load while a search runs
                    self.ensure_player()
                self.send("readyok")
            elif command == "ucinewgame":
                self.finish(cut=False)
                self.set_position(["startpos"])
            elif command == "position":
                self.finish(cut=False)
                self.set_position(args)
            elif command == "go":
                self.finish(cut=False)
                self.go(args)
            elif command == "setoption":
                self.set_option(args)
            elif command == "stop":
                self.finish()
            elif command == "quit":
                self.finish()
                return False
            elif command in ("debug", "register", "ponderhit"):
                pass
            else:
                self.say(f"unknown command {command!r}")
        except ConceptlabError as exc:
            self.say(f"error: {exc}")
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

    # -- handshake and options -------------------------------------------------------------
    def _identify(self) -> None:
        self.send(f"id name {self.name}")
        self.send("id author conceptlab")
        self.send(f"option name WeightsFile type string default {self.options.weights}")
        self.send(f"option name Threads type spin default {self.options.threads} min 1 max 256")
        self.send("option name MultiPV type spin default 1 min 1 max 256")
        self.send(f"option name Move Overhead type spin default {self.options.move_overhead_ms} min 0 max 10000")
        self.send("uciok")

    def set_option(self, args: list[str]) -> None:
        """``setoption name <id> [value <x>]``; names are case-insensitive, as UCI says."""
        if not args or args[0] != "name":
            raise ParamsError("setoption: expected 'setoption name <id> [value <x>]'")
        value_at = args.index("value") if "value" in args else len(args)
        name = " ".join(args[1:value_at]).lower()
        value = " ".join(args[value_at + 1:])
        if name == "weightsfile":
            self.options.weights = value or self._initial_weights
        elif name in ("threads", "multipv", "move overhead"):
            bounds = {"threads": (1, 256), "multipv": (1, 256), "move overhead": (0, 10000)}[name]
            try:
                number = int(value)
            except ValueError:
                raise ParamsError(f"setoption {name}: expected a whole number, got {value!r}") from None
            if not bounds[0] <= number <= bounds[1]:
                raise ParamsError(f"setoption {name}: {number} is outside {bounds[0]}..{bounds[1]}")
            if name == "threads":
                self.options.threads = number
            elif name == "multipv":
                self.options.multipv = number
            else:
                self.options.move_overhead_ms = number
        else:
            raise ParamsError(
                f"setoption: unknown option {' '.join(args[1:value_at])!r}; "
                "options: WeightsFile, Threads, MultiPV, Move Overhead"
            )

    def ensure_player(self) -> bool:
        """Load the network of ``WeightsFile`` (with ``Threads``) unless it is loaded; whether one is."""
        if self.set_threads is not None and self._threads_applied != self.options.threads:
            self.set_threads(self.options.threads)
            self._threads_applied = self.options.threads
        if self.player is not None and self._loaded_weights == self.options.weights:
            return True
        try:
            domain, player = self.load(self.options.weights)
        except Exception as exc:  # noqa: BLE001 - a GUI can still set another WeightsFile
            reason = str(exc) if isinstance(exc, ConceptlabError) else f"{type(exc).__name__}: {exc}"
            self.player, self._loaded_weights = None, None
            self._load_error = f"cannot load WeightsFile {self.options.weights!r}: {reason}"
            self.say(f"error: {self._load_error}")
            return False
        self.domain, self.player, self._load_error = domain, player, None
        self._loaded_weights = self.options.weights
        self.set_position(self._position, quiet=True)
        return True

    # -- position and go ---------------------------------------------------------------------
    def set_position(self, args: list[str], *, quiet: bool = False) -> None:
        """Take ``position startpos|fen <FEN> [moves ...]``; on failure no position is left."""
        self._position = list(args)
        try:
            self.state, self._position_error = self.parse_position(args), None
        except ConceptlabError as exc:
            self.state, self._position_error = None, f"the last position command failed: {exc}"
            if not quiet:
                raise

    def parse_position(self, args: list[str]) -> ChessState:
        """The state of ``position startpos|fen <FEN> [moves m1 m2 ...]``."""
        if not args:
            raise ParamsError("position: expected 'startpos' or 'fen <FEN>'")
        moves_at = args.index("moves") if "moves" in args else len(args)
        if args[0] == "startpos":
            if moves_at != 1:
                raise ParamsError(f"position: unexpected {' '.join(args[1:moves_at])!r} after 'startpos'")
            state = self.domain.initial_state()
        elif args[0] == "fen":
            state = self.domain.from_text(" ".join(args[1:moves_at]))
        else:
            raise ParamsError(f"position: expected 'startpos' or 'fen', got {args[0]!r}")
        for text in args[moves_at + 1:]:
            state = self.domain.apply(state, self.domain.action_from_text(state, text))
        return state

    def limits_for(self, args: list[str], state: ChessState) -> GoLimits:
        """When the search for ``go <args>`` in ``state`` ends."""
        numbers: dict[str, int] = {}
        keys = ("nodes", "movetime", "wtime", "btime", "winc", "binc", "movestogo", "depth")
        for at, key in enumerate(args):
            if key in keys:
                text = args[at + 1] if at + 1 < len(args) else ""
                try:
                    numbers[key] = int(text)
                except ValueError:
                    raise ParamsError(f"go: {key} needs a whole number, got {text!r}") from None
        for word in ("searchmoves", "mate", "ponder"):
            if word in args:
                self.say(f"go: {word} is not supported; searching without it")
        if "infinite" in args:
            return GoLimits(self.max_simulations, None, None, True)
        white = state.board.turn == chess.WHITE
        seconds: list[float] = []
        if "movetime" in numbers:
            movetime = max(numbers["movetime"], 1)
            seconds.append(max(movetime - self.options.move_overhead_ms, movetime / 2) / 1000)
        left = numbers.get("wtime" if white else "btime")
        if left is not None:
            seconds.append(clock_seconds(
                left, numbers.get("winc" if white else "binc", 0), numbers.get("movestogo"),
                self.options.move_overhead_ms,
            ))
        depth = max(numbers["depth"], 1) if "depth" in numbers else None
        if "nodes" in numbers:
            simulations = max(1, min(numbers["nodes"], self.max_simulations))
        elif seconds or depth is not None:
            simulations = self.max_simulations
        else:
            simulations = self.default_simulations
        return GoLimits(simulations, min(seconds) if seconds else None, depth, False)

    def go(self, args: list[str]) -> None:
        """Start a search in a worker thread; it prints ``info`` and ``bestmove``.

        Answers ``bestmove 0000`` at once, with an ``info string`` saying why, when
        there is nothing to search: no position, no network, or the game is over.
        """
        started = time.perf_counter()
        why = None
        if self.state is None:
            why = self._position_error or "no position"
        elif not self.ensure_player():
            why = self._load_error
        if why is None and self.state is not None and self.domain.is_terminal(self.state):
            outcome = self.domain.outcome(self.state)
            why = f"the game is over ({outcome.termination.name.lower()})" if outcome else "the game is over"
        if why is not None or self.state is None or self.player is None:
            self.say(f"no search: {why}")
            self.send("bestmove 0000")
            return
        try:
            limits = self.limits_for(args, self.state)
        except ConceptlabError as exc:
            self.say(f"no search: {exc}")
            self.send("bestmove 0000")
            return
        self._stop.clear()
        self._infinite = limits.infinite
        self._worker = threading.Thread(
            target=self._search, args=(self.player, self.state, limits, started), daemon=True
        )
        self._worker.start()

    # -- the search (worker thread) ---------------------------------------------------------
    def _search(self, player: Player, state: ChessState, limits: GoLimits, started: float) -> None:
        deadline = None if limits.seconds is None else started + limits.seconds
        multipv = self.options.multipv
        last_info = started
        next_depth_check = 0

        def progress(result: SearchResult[ChessState]) -> bool:
            nonlocal last_info, next_depth_check
            now = time.perf_counter()
            summary: SearchSummary | None = None
            if now - last_info >= INFO_INTERVAL:
                summary = summarise(result, multipv)
                self._send_info(state, summary, now - started)
                last_info = now
            if limits.depth is not None:
                visits = int(result.visit_counts.sum())
                if summary is not None or visits >= next_depth_check:
                    summary = summary or summarise(result, 1)
                    next_depth_check = int(visits * 1.1) + 1  # the tree grows; check it now and then
                    return summary.depth >= limits.depth
            return False

        try:
            decision = player.decide(state, limits.simulations, deadline=deadline, stop=self._stop, progress=progress)
        except Exception as exc:  # noqa: BLE001 - the GUI waits for a bestmove whatever happened
            self.say(f"error: search failed: {type(exc).__name__}: {exc}")
            self.send("bestmove 0000")
            return
        summary = self._summary_of(decision, multipv)
        self._send_info(state, summary, time.perf_counter() - started)
        if limits.infinite:
            self._stop.wait()
        self.send(f"bestmove {self.domain.action_to_text(state, decision.action)}")

    @staticmethod
    def _summary_of(decision: Decision, multipv: int) -> SearchSummary:
        return summarise(decision.search, multipv, value=decision.value,
                         principal_variation=decision.principal_variation, nodes=decision.simulations)

    def _send_info(self, state: ChessState, summary: SearchSummary, elapsed: float) -> None:
        elapsed = max(elapsed, 1e-6)
        nodes = max(summary.nodes, 1)
        for rank, line in enumerate(summary.lines, 1):
            moves, at = [], state
            for action in line.moves:
                if self.domain.is_terminal(at) or action not in at.moves:
                    break
                moves.append(self.domain.action_to_text(at, action))
                at = self.domain.apply(at, action)
            if not moves:
                continue
            score = (f"mate {mate_in_moves(line.mate_plies)}" if line.mate_plies is not None
                     else f"cp {value_to_centipawns(line.value)}")
            self.send(
                f"info depth {summary.depth} seldepth {summary.seldepth} multipv {rank} score {score} "
                f"nodes {nodes} nps {int(nodes / elapsed)} time {int(elapsed * 1000)} pv {' '.join(moves)}"
            )
