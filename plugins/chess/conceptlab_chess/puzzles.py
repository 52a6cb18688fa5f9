"""Puzzle sets as PGN and EPD, the formats chess programs and trainers read.

Each puzzle is a position (a FEN) with the agent's move and line. Without
solutions (phases 1 and 3) the files hold the positions alone; with solutions
(phase 2 and answer keys):

- **EPD** (Edwards' Extended Position Description, as specified with PGN): one
  line per puzzle with the opcodes ``bm`` (the agent's move, in SAN), ``pv`` (its
  line), ``c0`` (its value for the side to move), ``id``, and ``hmvc``/``fmvn`` so
  that the move counters of the FEN survive;
- **PGN**: one game per puzzle that starts from the position (``SetUp "1"`` and
  ``FEN`` headers) with the agent's line as the mainline.

python-chess writes both and reads them back (``chess.Board.from_epd``,
``chess.pgn.read_game``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import chess
import chess.pgn

from conceptlab.errors import InvalidActionError, InvalidStateError

from conceptlab_chess.state import split_text

if TYPE_CHECKING:
    from conceptlab.values import Puzzle

__all__ = ["agent_line", "puzzles_epd", "puzzles_pgn"]


def _board(puzzle: Puzzle) -> chess.Board:
    """The puzzle's position (its text is a FEN, or a FEN and the moves that led to the position)."""
    fen, moves = split_text(puzzle.state)
    try:
        board = chess.Board(fen)
        for uci in moves:
            board.push_uci(uci)
    except ValueError as exc:
        raise InvalidStateError(f"puzzle position {puzzle.state!r} is not a FEN with legal moves: {exc}") from None
    return chess.Board(board.fen())


def agent_line(puzzle: Puzzle) -> list[chess.Move]:
    """The agent's line as moves: ``puzzle.line`` when it starts with the solution, else the solution alone.

    Raises:
        InvalidActionError: a move of the line is not legal where it is played.
    """
    board = _board(puzzle)
    texts = list(puzzle.line) if puzzle.line and puzzle.line[0] == puzzle.solution else [puzzle.solution]
    moves = []
    for text in texts:
        try:
            move = board.parse_uci(text)
        except ValueError:
            raise InvalidActionError(
                f"move {text!r} of the agent's line {list(texts)!r} is not legal in {board.fen()!r}"
            ) from None
        moves.append(move)
        board.push(move)
    return moves


def puzzles_epd(label: str, puzzles: Sequence[Puzzle], solutions: bool) -> str:
    """One EPD line per puzzle, ``id "<label> <n>"``; with ``solutions``, ``bm``, ``pv`` and ``c0`` too."""
    lines = []
    for number, puzzle in enumerate(puzzles, start=1):
        board = _board(puzzle)
        ops: dict[str, object] = {}
        if solutions:
            line = agent_line(puzzle)
            ops.update(bm=line[0], pv=line, c0=f"agent value {puzzle.value:+.3f} for the side to move")
        ops.update(id=f"{label} {number}", hmvc=board.halfmove_clock, fmvn=board.fullmove_number)
        lines.append(board.epd(**ops))  # type: ignore[arg-type]
    return "\n".join(lines) + "\n"


def puzzles_pgn(label: str, puzzles: Sequence[Puzzle], solutions: bool) -> str:
    """One PGN game per puzzle from its position; with ``solutions``, the agent's line is the mainline."""
    games = []
    for number, puzzle in enumerate(puzzles, start=1):
        game = chess.pgn.Game()
        game.headers["Event"] = label
        game.headers["Round"] = str(number)
        board = _board(puzzle)
        game.setup(board)
        game.headers["SetUp"] = "1"  # also for the standard start, which setup() leaves implicit
        game.headers["FEN"] = board.fen()
        if solutions:
            node: chess.pgn.GameNode = game
            for ply, move in enumerate(agent_line(puzzle)):
                node = node.add_variation(move)
                if ply == 0:
                    node.comment = f"agent's move; agent value {puzzle.value:+.3f} for the side to move"
        exporter = chess.pgn.StringExporter(headers=True, variations=True, comments=True)
        games.append(game.accept(exporter))
    return "\n\n".join(games) + "\n"
