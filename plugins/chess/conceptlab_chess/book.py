"""Human reference lines from a Polyglot opening book built from master games.

A Polyglot book (the format of python-chess's :mod:`chess.polyglot`) maps a
position's Zobrist key to the moves played there, each with a weight that
counts how often (and how successfully) the games the book was built from
played it. Walking a book from the initial position, each ply a move drawn in
proportion to its weight until the book has no move, samples opening lines in
the proportions the source games played them: human positions, with no PGN
file at hand. Debian's ``gnuchess-book`` package is such a book (see
``docs/chess.md``, "Human reference games").

The walk is deterministic for a seed; a line also stops when it repeats a
position, when the game is over, or after ``max_plies``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import chess
import chess.polyglot
import numpy as np

from conceptlab.errors import ConceptlabError

from conceptlab_chess.pgn import PgnGame, PgnStats

__all__ = ["BOOK_PREFIX", "DEFAULT_BOOK_LINES", "BookSourceError", "book_path", "read_book_lines"]

BOOK_PREFIX = "book:"
"""A reference source ``book:PATH`` names a Polyglot book rather than a PGN file."""

DEFAULT_BOOK_LINES = 2000
"""Lines walked from a book when no ``reference_max_games`` is set."""

_ENTRY_BYTES = 16


class BookSourceError(ConceptlabError):
    """A Polyglot book that cannot be read (missing, empty, or not whole 16-byte entries)."""


def book_path(source: str) -> Path | None:
    """The book's path when ``source`` is ``book:PATH``; ``None`` for any other source."""
    if not source.startswith(BOOK_PREFIX):
        return None
    return Path(source[len(BOOK_PREFIX):]).expanduser()


def check_book(path: Path) -> None:
    """Refuse a book that is missing, empty, or not whole 16-byte Polyglot entries."""
    if not path.is_file():
        raise BookSourceError(
            f"opening book {str(path)!r} does not exist (Debian's is /usr/share/games/gnuchess/book.bin, "
            "from 'apt-get install gnuchess-book')"
        )
    size = path.stat().st_size
    if size == 0 or size % _ENTRY_BYTES:
        raise BookSourceError(
            f"{str(path)!r} is not a Polyglot book: {size} bytes is not a positive multiple of {_ENTRY_BYTES}"
        )


def read_book_lines(
    path: str | Path,
    lines: int = DEFAULT_BOOK_LINES,
    *,
    seed: int = 0,
    max_plies: int = 60,
    stats: PgnStats | None = None,
) -> Iterator[PgnGame]:
    """Yield ``lines`` opening lines walked through the Polyglot book at ``path``.

    Each line starts from the initial position; each ply is a legal book move
    drawn with probability proportional to its weight (moves of weight 0 are
    never drawn). Lines the book has no move for at the start are not yielded,
    so an empty walk yields nothing. ``stats`` counts lines as games read and kept.

    Raises:
        BookSourceError: The file is missing or not a Polyglot book.
    """
    path = Path(path)
    check_book(path)
    stats = stats if stats is not None else PgnStats()
    rng = np.random.default_rng(seed)
    with chess.polyglot.open_reader(path) as reader:
        for number in range(1, lines + 1):
            board = chess.Board()
            seen = {chess.polyglot.zobrist_hash(board)}
            moves: list[chess.Move] = []
            while len(moves) < max_plies and not board.is_game_over():
                entries = list(reader.find_all(board))
                if not entries:
                    break
                weights = np.array([e.weight for e in entries], dtype=float)
                move = entries[int(rng.choice(len(entries), p=weights / weights.sum()))].move
                board.push(move)
                key = chess.polyglot.zobrist_hash(board)
                if key in seen:
                    board.pop()
                    break
                seen.add(key)
                moves.append(move)
            stats.read += 1
            if not moves:
                stats.filtered["no moves"] += 1
                continue
            stats.kept += 1
            yield PgnGame(number, {"Event": f"line {number} of book {path.name}"}, chess.Board(), tuple(moves))
