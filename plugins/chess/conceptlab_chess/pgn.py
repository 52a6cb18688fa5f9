"""A streaming reader of human games in PGN that skips broken games and says why.

Reads ``.pgn`` files plain or compressed (``.gz``, ``.bz2``, ``.zst``) one game
at a time, keeps the main line only, applies rating and time-control filters
before parsing any moves, and never stops on a bad game: a game with an illegal
or ambiguous move, an unreadable FEN or a chess variant is skipped and counted
under its reason in a :class:`PgnStats`, with the first few cases described.
"""

from __future__ import annotations

import bz2
import gzip
import io
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import chess
import chess.pgn

from conceptlab.errors import ConceptlabError, InvalidActionError

__all__ = [
    "PgnFilter",
    "PgnGame",
    "PgnSourceError",
    "PgnStats",
    "open_pgn",
    "parse_game",
    "read_games",
    "time_control_category",
]

MAX_EXAMPLES = 20
"""Skipped games described by name in :class:`PgnStats` (the rest are only counted)."""

_MAX_CONSECUTIVE_FAILURES = 1000


class PgnSourceError(ConceptlabError):
    """A PGN source that cannot be opened at all (missing, unreadable, unknown compression)."""


def time_control_category(time_control: str | None) -> str | None:
    """Lichess's category of a PGN ``TimeControl`` tag, or ``None`` when it cannot be read.

    ``"-"`` is correspondence; otherwise ``base + 40 * increment`` seconds gives
    ultrabullet (< 30), bullet (< 180), blitz (< 480), rapid (< 1500) or classical.
    """
    if time_control is None:
        return None
    text = time_control.strip()
    if text == "-":
        return "correspondence"
    base, _, increment = text.partition("+")
    try:
        seconds = int(base) + 40 * int(increment or 0)
    except ValueError:
        return None
    for limit, name in ((30, "ultrabullet"), (180, "bullet"), (480, "blitz"), (1500, "rapid")):
        if seconds < limit:
            return name
    return "classical"


def _rating(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class PgnFilter:
    """Which games to keep, decided from the headers alone."""

    min_rating: int | None = None
    """Keep games whose both players are rated at least this (unrated games are dropped)."""
    max_rating: int | None = None
    """Keep games whose both players are rated at most this (unrated games are dropped)."""
    time_controls: frozenset[str] | None = None
    """Keep games of these :func:`time_control_category` categories only."""

    def rejects(self, headers: Mapping[str, str]) -> str | None:
        """Why a game with ``headers`` is filtered out, or ``None`` to keep it."""
        if self.min_rating is not None or self.max_rating is not None:
            ratings = [_rating(headers.get("WhiteElo")), _rating(headers.get("BlackElo"))]
            if any(r is None for r in ratings):
                return "rating unknown"
            if self.min_rating is not None and min(ratings) < self.min_rating:  # type: ignore[type-var]
                return "rating below minimum"
            if self.max_rating is not None and max(ratings) > self.max_rating:  # type: ignore[type-var]
                return "rating above maximum"
        if self.time_controls is not None:
            category = time_control_category(headers.get("TimeControl"))
            if category is None:
                return "time control unknown"
            if category not in self.time_controls:
                return "time control not wanted"
        return None


@dataclass
class PgnStats:
    """Counts of one reading: games read, kept, skipped (broken) and filtered, by reason."""

    read: int = 0
    """Games met in the source."""
    kept: int = 0
    """Games yielded."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Broken games by reason ("illegal move", "invalid FEN", "variant", "parse error", ...)."""
    filtered: Counter[str] = field(default_factory=Counter)
    """Sound games left out by the filter (or with no moves), by reason."""
    examples: list[str] = field(default_factory=list)
    """The first :data:`MAX_EXAMPLES` skipped games, each "game N (White - Black): why"."""

    @property
    def total_skipped(self) -> int:
        """Broken games, all reasons together."""
        return sum(self.skipped.values())

    def skip(self, reason: str, detail: str) -> None:
        """Count a broken game under ``reason`` and keep ``detail`` if there is room."""
        self.skipped[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(detail)

    def summary(self) -> str:
        """One line: read, kept, skipped and filtered with reasons."""
        def reasons(counter: Counter[str]) -> str:
            return ", ".join(f"{k}: {v}" for k, v in counter.most_common()) or "none"
        return (
            f"{self.read} games read, {self.kept} kept, {self.total_skipped} skipped "
            f"({reasons(self.skipped)}), {sum(self.filtered.values())} filtered ({reasons(self.filtered)})"
        )


@dataclass(frozen=True)
class PgnGame:
    """One game's main line."""

    number: int
    """1-based position of the game in its source."""
    headers: Mapping[str, str]
    start: chess.Board
    """The starting position (the standard one unless the game has a FEN tag)."""
    moves: tuple[chess.Move, ...]

    def __repr__(self) -> str:
        return (
            f"PgnGame(number={self.number}, white={self.headers.get('White', '?')!r}, "
            f"black={self.headers.get('Black', '?')!r}, plies={len(self.moves)})"
        )


class _MainLine(chess.pgn.BaseVisitor["_MainLine"]):
    """Collects headers, the start board, main-line moves and errors; skips variations."""

    def __init__(self, pgn_filter: PgnFilter) -> None:
        self.pgn_filter = pgn_filter

    def begin_game(self) -> None:
        self.headers = chess.pgn.Headers({})
        self.start: chess.Board | None = None
        self.moves: list[chess.Move] = []
        self.errors: list[Exception] = []
        self.filtered: str | None = None

    def begin_headers(self) -> chess.pgn.Headers:
        return self.headers

    def visit_header(self, tagname: str, tagvalue: str) -> None:
        self.headers[tagname] = tagvalue

    def end_headers(self) -> chess.pgn.SkipType | None:
        if self.headers.get("Variant", "standard").lower() not in ("standard", "chess", "from position"):
            self.errors.append(ValueError(f"variant {self.headers['Variant']!r}"))
            return chess.pgn.SKIP
        self.filtered = self.pgn_filter.rejects(self.headers)
        return chess.pgn.SKIP if self.filtered else None

    def visit_board(self, board: chess.Board) -> None:
        if self.start is not None:  # also called after each move; only the first call is the start
            return
        if not board.is_valid():
            self.errors.append(ValueError(f"illegal start position {board.fen()!r}"))
        self.start = board.copy(stack=False)

    def begin_variation(self) -> chess.pgn.SkipType:
        return chess.pgn.SKIP

    def visit_move(self, board: chess.Board, move: chess.Move) -> None:
        if not self.errors:
            self.moves.append(move)

    def handle_error(self, error: Exception) -> None:
        self.errors.append(error)

    def result(self) -> _MainLine:
        return self


def open_pgn(path: str | Path) -> IO[str]:
    """Open a PGN file as text, decompressing by suffix (``.gz``, ``.bz2``, ``.zst``).

    Undecodable bytes are replaced, so a damaged file still reads to its end.

    Raises:
        PgnSourceError: The file is missing or cannot be opened.
    """
    path = Path(path)
    if not path.is_file():
        raise PgnSourceError(f"PGN file not found: {str(path)!r}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".gz":
            return gzip.open(path, "rt", encoding="utf-8", errors="replace")
        if suffix == ".bz2":
            return bz2.open(path, "rt", encoding="utf-8", errors="replace")
        if suffix == ".zst":
            import zstandard

            raw = zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
            return io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
        return open(path, encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise PgnSourceError(f"cannot open PGN file {str(path)!r}: {exc}") from None


def _describe(number: int, headers: Mapping[str, str], why: Any) -> str:
    return f"game {number} ({headers.get('White', '?')} - {headers.get('Black', '?')}): {why}"


def _reason(error: Exception) -> str:
    if isinstance(error, chess.IllegalMoveError):
        return "illegal move"
    if isinstance(error, chess.AmbiguousMoveError):
        return "ambiguous move"
    if isinstance(error, chess.InvalidMoveError):
        return "unreadable move"
    text = str(error)
    if text.startswith("variant"):
        return "variant"
    if "fen" in text.lower() or "position" in text.lower():
        return "invalid FEN"
    return "parse error"


def read_games(
    source: str | Path | IO[str],
    pgn_filter: PgnFilter | None = None,
    stats: PgnStats | None = None,
    *,
    max_games: int | None = None,
) -> Iterator[PgnGame]:
    """Yield the sound games of ``source`` that pass ``pgn_filter``, updating ``stats``.

    Args:
        source: A path (plain or compressed) or an open text stream.
        pgn_filter: Header filter (default: keep every game).
        stats: Updated in place as games are read (default: a fresh one).
        max_games: Stop after this many games were kept.

    Raises:
        PgnSourceError: Only when the source cannot be opened; bad games never raise.
    """
    pgn_filter = pgn_filter or PgnFilter()
    stats = stats if stats is not None else PgnStats()
    handle = open_pgn(source) if isinstance(source, (str, Path)) else source
    failures = 0
    try:
        while max_games is None or stats.kept < max_games:
            try:
                visitor = chess.pgn.read_game(handle, Visitor=lambda: _MainLine(pgn_filter))
            except Exception as exc:  # a damaged stream: count it, resynchronise on the next game
                failures += 1
                stats.read += 1
                stats.skip("parse error", _describe(stats.read, {}, f"{type(exc).__name__}: {exc}"))
                if failures >= _MAX_CONSECUTIVE_FAILURES:
                    stats.skip("read error", f"stopped after {failures} consecutive unreadable games")
                    return
                continue
            if visitor is None:
                return
            failures = 0
            stats.read += 1
            number, headers = stats.read, visitor.headers
            if visitor.errors:
                stats.skip(_reason(visitor.errors[0]), _describe(number, headers, visitor.errors[0]))
            elif visitor.filtered:
                stats.filtered[visitor.filtered] += 1
            elif visitor.start is None:
                stats.skip("parse error", _describe(number, headers, "no start position"))
            elif not visitor.moves:
                stats.filtered["no moves"] += 1
            else:
                stats.kept += 1
                yield PgnGame(number, dict(headers), visitor.start, tuple(visitor.moves))
    finally:
        if handle is not source:
            handle.close()


def parse_game(text: str) -> PgnGame:
    """Parse one game from PGN text, strictly.

    Raises:
        InvalidActionError: The game has an illegal, ambiguous or unreadable move
            (the message quotes it and the game).
        PgnSourceError: The text holds no game or a game that cannot be read.
    """
    visitor = chess.pgn.read_game(io.StringIO(text), Visitor=lambda: _MainLine(PgnFilter()))
    if visitor is None:
        raise PgnSourceError(f"no PGN game in {text[:80]!r}")
    if visitor.errors:
        error = visitor.errors[0]
        message = _describe(1, visitor.headers, error)
        if isinstance(error, ValueError) and _reason(error).endswith("move"):
            raise InvalidActionError(message)
        raise PgnSourceError(message)
    if visitor.start is None:
        raise PgnSourceError(f"cannot read the game in {text[:80]!r}")
    return PgnGame(1, dict(visitor.headers), visitor.start, tuple(visitor.moves))
