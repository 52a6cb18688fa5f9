"""Games between two UCI engine processes under a chess clock, refereed as a GUI referees them.

python-chess is the client: each engine gets ``position ... moves ...`` and
``go wtime .. btime .. winc .. binc ..``, the referee measures how long the
answer took and takes it off the mover's clock (``isready`` is answered before
the clocks start, so engines load their networks off the clock). A game ends by the rules
(claimable draws are claimed, as GUIs do), by adjudication as a draw after
``max_plies``, or by a forfeit of the engine that ran out of time, answered an
illegal or null move, or stopped answering.

Run a match of the UCI engine against Stockfish::

    python -m conceptlab_chess.referee --games 20 --time-control 10+0.1 --stockfish-elo 1350 \\
        -- --simulations 400

(the arguments after ``--`` go to ``conceptlab-chess uci``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import chess
import chess.engine

from conceptlab.errors import ParamsError

from conceptlab_chess.openings import Opening, opening_set

__all__ = ["ClockGame", "TimeControl", "engine_command", "main", "play_clock_game", "play_clock_match"]


@dataclass(frozen=True)
class TimeControl:
    """A base time and an increment per move, in seconds (``10+0.1``)."""

    base: float
    increment: float = 0.0

    @classmethod
    def parse(cls, text: str) -> TimeControl:
        """``"BASE+INC"`` or ``"BASE"`` in seconds."""
        base, _, increment = text.partition("+")
        try:
            control = cls(float(base), float(increment or 0))
        except ValueError:
            raise ParamsError(f"time control {text!r}: expected BASE+INC in seconds, e.g. 10+0.1") from None
        if control.base <= 0 or control.increment < 0:
            raise ParamsError(f"time control {text!r}: the base must be positive and the increment not negative")
        return control

    def __str__(self) -> str:
        return f"{self.base:g}+{self.increment:g}"


@dataclass(frozen=True)
class ClockGame:
    """One refereed game."""

    white: str
    black: str
    result: str
    """``1-0``, ``0-1`` or ``1/2-1/2``."""
    termination: str
    """How it ended: a python-chess termination (``checkmate``, ``threefold_repetition``, ...),
    ``adjudicated`` after the ply limit, or ``forfeit``."""
    forfeit: str | None
    """Why the loser forfeited (``time``, ``illegal move ...``, ``null move``, ``engine error ...``), if it did."""
    moves: tuple[str, ...]
    """All moves of the game in UCI, the opening's included."""
    longest_move: dict[str, float]
    """Longest answer, in seconds, of each engine by name."""
    mean_nodes: dict[str, float]
    """Mean nodes (simulations, for conceptlab) per move of each engine by name, as its last info said."""


def engine_command(arguments: Sequence[str] = ()) -> list[str]:
    """The command that starts ``conceptlab-chess uci`` with this Python."""
    return [sys.executable, "-m", "conceptlab_chess.cli", "uci", *arguments]


def play_clock_game(
    white: chess.engine.SimpleEngine,
    black: chess.engine.SimpleEngine,
    names: tuple[str, str],
    opening: Opening,
    control: TimeControl,
    *,
    max_plies: int = 200,
    game: object = None,
) -> ClockGame:
    """Play one game from ``opening`` with ``white`` and ``black`` (named ``names``) on ``control``."""
    board = opening.board()
    clocks = {chess.WHITE: control.base, chess.BLACK: control.base}
    engines = {chess.WHITE: white, chess.BLACK: black}
    longest = {chess.WHITE: 0.0, chess.BLACK: 0.0}
    nodes: dict[bool, list[int]] = {chess.WHITE: [], chess.BLACK: []}
    plies = 0
    forfeit: str | None = None
    for engine in (white, black):
        engine.ping()  # isready before the clocks start, as UCI asks of a GUI: engines load here
    while not board.is_game_over(claim_draw=True) and plies < max_plies:
        turn = board.turn
        limit = chess.engine.Limit(white_clock=clocks[chess.WHITE], black_clock=clocks[chess.BLACK],
                                   white_inc=control.increment, black_inc=control.increment)
        started = time.perf_counter()
        try:
            played = engines[turn].play(board, limit, game=game, info=chess.engine.INFO_BASIC)
        except chess.engine.EngineError as exc:
            forfeit = f"illegal move or protocol error: {exc}"
        except (chess.engine.EngineTerminatedError, TimeoutError) as exc:
            forfeit = f"engine error: {type(exc).__name__}: {exc}"
        spent = time.perf_counter() - started
        longest[turn] = max(longest[turn], spent)
        clocks[turn] -= spent
        if forfeit is None and clocks[turn] < 0:
            forfeit = f"time ({-clocks[turn]:.3f} s over)"
        if forfeit is None and not played.move:  # None or bestmove 0000
            forfeit = "null move"
        if forfeit is None and played.move not in board.legal_moves:
            forfeit = f"illegal move {played.move}"
        if forfeit is not None:
            result = "0-1" if turn == chess.WHITE else "1-0"
            return ClockGame(names[0], names[1], result, "forfeit", f"{names[0 if turn else 1]}: {forfeit}",
                             tuple(m.uci() for m in board.move_stack), _by_name(longest, names),
                             _mean_nodes(nodes, names))
        if "nodes" in played.info:
            nodes[turn].append(int(played.info["nodes"]))
        board.push(played.move)  # type: ignore[arg-type]
        clocks[turn] += control.increment
        plies += 1
    outcome = board.outcome(claim_draw=True)
    if outcome is None:
        result, termination = "1/2-1/2", "adjudicated"
    else:
        result, termination = outcome.result(), outcome.termination.name.lower()
    return ClockGame(names[0], names[1], result, termination, None, tuple(m.uci() for m in board.move_stack),
                     _by_name(longest, names), _mean_nodes(nodes, names))


def _by_name(longest: dict[bool, float], names: tuple[str, str]) -> dict[str, float]:
    return {names[0]: round(longest[chess.WHITE], 3), names[1]: round(longest[chess.BLACK], 3)}


def _mean_nodes(nodes: dict[bool, list[int]], names: tuple[str, str]) -> dict[str, float]:
    return {name: round(sum(nodes[side]) / max(len(nodes[side]), 1), 1)
            for name, side in zip(names, (chess.WHITE, chess.BLACK))}


def play_clock_match(
    engine: Sequence[str],
    opponent: Callable[[], chess.engine.SimpleEngine],
    *,
    games: int,
    control: TimeControl,
    openings: str = "eco",
    max_plies: int = 200,
    on_game: Callable[[int, ClockGame], None] | None = None,
) -> list[ClockGame]:
    """``games`` games of the engine started by ``engine`` against ``opponent()``, colours
    alternating, each opening played once with each colour."""
    book = opening_set(openings)
    records = []
    ours = chess.engine.SimpleEngine.popen_uci(list(engine), timeout=120)
    theirs = opponent()
    try:
        for i in range(games):
            opening = book[(i // 2) % len(book)]
            white_is_ours = i % 2 == 0
            pair = (ours, theirs) if white_is_ours else (theirs, ours)
            names = ("conceptlab", "opponent") if white_is_ours else ("opponent", "conceptlab")
            record = play_clock_game(*pair, names, opening, control, max_plies=max_plies, game=i)
            records.append(record)
            if on_game is not None:
                on_game(i, record)
    finally:
        for process in (ours, theirs):
            try:
                process.quit()
            except (chess.engine.EngineError, chess.engine.EngineTerminatedError, TimeoutError):
                process.close()
    return records


def score_of(record: ClockGame, name: str = "conceptlab") -> float:
    """``name``'s score in ``record``: 1, 1/2 or 0."""
    if record.result == "1/2-1/2":
        return 0.5
    return 1.0 if (record.result == "1-0") == (record.white == name) else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m conceptlab_chess.referee``: a clock match against Stockfish; prints each game and the score."""
    parser = argparse.ArgumentParser(prog="python -m conceptlab_chess.referee", description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--time-control", default="10+0.1", help="BASE+INC in seconds (default 10+0.1)")
    parser.add_argument("--stockfish-elo", type=int, default=1350, help="Stockfish's UCI_Elo (its minimum: 1350)")
    parser.add_argument("--stockfish", default=None, help="Stockfish binary (default: found on PATH)")
    parser.add_argument("--max-plies", type=int, default=200, help="adjudicate a draw after this many plies")
    parser.add_argument("--openings", default="eco")
    parser.add_argument("engine_args", nargs="*", help="arguments of conceptlab-chess uci (after --)")
    args = parser.parse_args(argv)
    from conceptlab_chess.stockfish import open_stockfish

    control = TimeControl.parse(args.time_control)

    def stockfish() -> chess.engine.SimpleEngine:
        return open_stockfish(args.stockfish, options={"UCI_LimitStrength": True, "UCI_Elo": args.stockfish_elo})

    def report(i: int, record: ClockGame) -> None:
        print(f"game {i + 1}: {record.white} - {record.black} {record.result} {record.termination}"
              f"{' (' + record.forfeit + ')' if record.forfeit else ''}, {len(record.moves)} plies, "
              f"longest answer {record.longest_move} s, mean nodes {record.mean_nodes}", flush=True)

    started = time.perf_counter()
    records = play_clock_match(engine_command(args.engine_args), stockfish, games=args.games, control=control,
                               openings=args.openings, max_plies=args.max_plies, on_game=report)
    scores = [score_of(r) for r in records]
    forfeits = [r.forfeit for r in records if r.forfeit]
    ours = [f for f in forfeits if f.startswith("conceptlab:")]
    print(f"conceptlab scored {sum(scores):g}/{len(records)} (+{scores.count(1.0)} ={scores.count(0.5)} "
          f"-{scores.count(0.0)}) against Stockfish UCI_Elo {args.stockfish_elo} at {control}, "
          f"{len(ours)} forfeits by conceptlab, {len(forfeits) - len(ours)} by Stockfish, "
          f"{time.perf_counter() - started:.0f} s; conceptlab searched "
          f"{sum(r.mean_nodes['conceptlab'] for r in records) / max(len(records), 1):.0f} simulations a move on average, "
          f"its longest answer took {max((r.longest_move['conceptlab'] for r in records), default=0):.2f} s")
    for forfeit in forfeits:
        print(f"forfeit: {forfeit}")
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main())
