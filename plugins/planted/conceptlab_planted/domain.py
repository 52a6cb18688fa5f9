"""Connect Four with a planted rule: a pattern of one's own stones that wins at once.

The board has ``rows`` x ``columns`` cells; a stone dropped in a column falls to
its lowest empty cell. A line of ``connect`` stones (row, column or diagonal)
wins, as in the standard game. With ``planted = true`` a second rule is in
force: completing the *pattern* with one's own stones also wins at once. The
pattern is ``square`` (any 2x2 block) or ``marked`` (every cell of the set
``marked``). The net's input says nothing about the rule: an agent can learn it
only from the outcomes of its games, and one trained with ``planted = false``
(the standard game) lacks it by construction.

:func:`moves_to_pattern` and :meth:`PlantedConnect.planted_predicate` say
where the rule matters: the side to move can complete the pattern within ``k``
of its own moves, or its opponent can (and must be stopped). They are the
ground truth a concept-discovery benchmark scores mined concepts against.

States are :class:`Board` values (immutable). The text form is the rows from
the top, ``/``-separated, of ``.XO`` (``X`` moves first); actions are columns,
written ``a``, ``b``, ...; cells are written column letter and row number from
the bottom (``a1`` is the bottom-left cell).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from conceptlab.errors import InvalidActionError, InvalidStateError
from conceptlab.interfaces import Domain, StrictParams
from conceptlab.values import Action, Player

__all__ = ["Board", "PlantedConnect", "PlantedParams", "cell_name", "moves_to_pattern"]

SYMBOLS = ".XO"
LETTERS = "abcdefghi"


@dataclass(frozen=True)
class Board:
    """A position: the cells and, once decided, who won and how."""

    cells: tuple[int, ...]
    """Row-major from the bottom row: ``cells[r * columns + c]`` is ``0`` empty, ``1`` X, ``2`` O."""
    winner: int = 0
    """``1`` or ``2`` for the mark that won, ``0`` while nobody has."""
    by_rule: bool = False
    """Whether the win came through the planted pattern alone (no line of ``connect`` with it)."""


def cell_name(cell: int, columns: int) -> str:
    """The name of cell index ``cell`` (``a1`` is the bottom-left cell)."""
    return f"{LETTERS[cell % columns]}{cell // columns + 1}"


def moves_to_pattern(cells: Sequence[int], heights: Sequence[int], columns: int,
                     instances: Sequence[tuple[int, ...]], mark: int) -> int | None:
    """The fewest stones ``mark`` must drop to complete one pattern instance by its own moves alone.

    An instance holding an opponent stone is out of reach. For the others, each
    column with a missing cell needs stones up to the highest missing one (the
    cells below it fill with ``mark``'s own stones, as if the opponent played
    elsewhere); the cost is the sum over columns. ``None`` when no instance is
    reachable, ``0`` when one is already complete.
    """
    best: int | None = None
    for instance in instances:
        need: dict[int, int] = {}
        blocked = False
        for cell in instance:
            value = cells[cell]
            if value == mark:
                continue
            if value != 0:
                blocked = True
                break
            column, row = cell % columns, cell // columns
            need[column] = max(need.get(column, -1), row)
        if blocked:
            continue
        cost = sum(row - heights[column] + 1 for column, row in need.items())
        if best is None or cost < best:
            best = cost
    return best


class PlantedParams(StrictParams):
    """Board size, the planted rule and its pattern, and the horizon of the planted concept."""

    rows: int = Field(default=6, ge=4, le=9, description="Rows of the board.")
    columns: int = Field(default=7, ge=4, le=9, description="Columns of the board (one action each).")
    connect: int = Field(
        default=4, ge=3, le=6, description="Stones in a row, column or diagonal that win (both games)."
    )
    planted: bool = Field(
        default=True,
        description="The planted rule is in force: completing the pattern with one's own stones wins at "
        "once. False: the standard game, where the pattern means nothing.",
    )
    pattern: Literal["square", "marked"] = Field(
        default="square",
        description="The planted pattern: 'square' (any 2x2 block of one's own stones) or 'marked' "
        "(one's own stones on every cell of `marked`).",
    )
    marked: list[str] = Field(
        default=["b2", "d3", "f2"],
        description="'marked' pattern: the cells to own, as column letter and row number from the bottom "
        "('a1' is the bottom-left cell).",
    )
    horizon: int = Field(
        default=1, ge=1, le=6,
        description="k of the known concept 'planted': either side can complete the pattern within k of its "
        "own moves.",
    )
    opening_moves: int = Field(
        default=2, ge=0, le=8, description="Self-play openings start after 0 to this many uniformly random moves."
    )

    @model_validator(mode="after")
    def _check(self) -> PlantedParams:
        if self.connect > max(self.rows, self.columns):
            raise ValueError(
                f"connect = {self.connect} does not fit a {self.rows}x{self.columns} board"
            )
        if self.pattern == "marked":
            if not self.marked:
                raise ValueError("pattern 'marked' needs at least one cell in `marked`")
            if len(set(self.marked)) != len(self.marked):
                raise ValueError(f"`marked` names a cell twice: {self.marked}")
            for name in self.marked:
                if not _parse_cell(name, self.rows, self.columns):
                    raise ValueError(
                        f"`marked` cell {name!r} is not on a {self.rows}x{self.columns} board "
                        f"(columns a-{LETTERS[self.columns - 1]}, rows 1-{self.rows})"
                    )
        return self


def _parse_cell(name: str, rows: int, columns: int) -> tuple[int, int] | None:
    """(row, column) of a cell name, or ``None`` when it names no cell of the board."""
    if len(name) < 2 or name[0] not in LETTERS[:columns] or not name[1:].isdigit():
        return None
    row = int(name[1:]) - 1
    return (row, LETTERS.index(name[0])) if 0 <= row < rows else None


class PlantedConnect(Domain[Board]):
    """Connect Four whose planted rule (a pattern of one's own stones wins at once) can be switched on."""

    name: ClassVar[str] = "planted"
    Params: ClassVar[type[StrictParams]] = PlantedParams
    params: PlantedParams

    # -- geometry ----------------------------------------------------------------
    @cached_property
    def lines(self) -> tuple[tuple[int, ...], ...]:
        """Every line of ``connect`` cells (rows, columns, both diagonals)."""
        rows, columns, n = self.params.rows, self.params.columns, self.params.connect
        found = []
        for r in range(rows):
            for c in range(columns):
                for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                    end_r, end_c = r + dr * (n - 1), c + dc * (n - 1)
                    if 0 <= end_r < rows and 0 <= end_c < columns:
                        found.append(tuple((r + dr * i) * columns + c + dc * i for i in range(n)))
        return tuple(found)

    @cached_property
    def pattern_instances(self) -> tuple[tuple[int, ...], ...]:
        """The cell sets that complete the pattern (every 2x2 block, or the one marked set)."""
        rows, columns = self.params.rows, self.params.columns
        if self.params.pattern == "square":
            return tuple(
                (r * columns + c, r * columns + c + 1, (r + 1) * columns + c, (r + 1) * columns + c + 1)
                for r in range(rows - 1) for c in range(columns - 1)
            )
        cells = []
        for name in self.params.marked:
            row, column = _parse_cell(name, rows, columns)  # type: ignore[misc]  # validated
            cells.append(row * columns + column)
        return (tuple(sorted(cells)),)

    @cached_property
    def _through(self) -> tuple[tuple[tuple[tuple[int, ...], ...], ...], tuple[tuple[tuple[int, ...], ...], ...]]:
        """Per cell: the lines through it, and the pattern instances through it."""
        size = self.params.rows * self.params.columns
        lines = tuple(tuple(line for line in self.lines if cell in line) for cell in range(size))
        patterns = tuple(tuple(p for p in self.pattern_instances if cell in p) for cell in range(size))
        return lines, patterns

    @cached_property
    def marked_plane(self) -> np.ndarray:
        """``(rows, columns)``: 1 on the cells of the marked pattern (all zeros for 'square')."""
        plane = np.zeros(self.params.rows * self.params.columns, dtype=np.float32)
        if self.params.pattern == "marked":
            plane[list(self.pattern_instances[0])] = 1.0
        return plane.reshape(self.params.rows, self.params.columns)

    def heights(self, state: Board) -> list[int]:
        """Stones in each column."""
        columns, rows = self.params.columns, self.params.rows
        return [sum(1 for r in range(rows) if state.cells[r * columns + c]) for c in range(columns)]

    # -- rules -----------------------------------------------------------------
    @property
    def num_actions(self) -> int:
        return self.params.columns

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return (4, self.params.rows, self.params.columns)

    def initial_state(self) -> Board:
        return Board((0,) * (self.params.rows * self.params.columns))

    def opening_states(self, count: int, rng: np.random.Generator) -> list[Board]:
        """``count`` states after 0 to ``opening_moves`` uniformly random moves each."""
        states = []
        for _ in range(count):
            state = self.initial_state()
            for _ in range(int(rng.integers(0, self.params.opening_moves + 1))):
                legal = self.legal_actions(state)
                if not legal:
                    break
                state = self.apply(state, int(legal[rng.integers(len(legal))]))
            states.append(state)
        return states

    def legal_actions(self, state: Board) -> Sequence[Action]:
        if state.winner:
            return []
        top = (self.params.rows - 1) * self.params.columns
        return [c for c in range(self.params.columns) if state.cells[top + c] == 0]

    def apply(self, state: Board, action: Action) -> Board:
        columns = self.params.columns
        if state.winner or not (0 <= action < columns) or state.cells[(self.params.rows - 1) * columns + action]:
            raise InvalidActionError(f"illegal action {action!r} in {self.to_text(state)!r}")
        row = next(r for r in range(self.params.rows) if state.cells[r * columns + action] == 0)
        cell = row * columns + action
        mark = 1 + self.current_player(state)
        cells = state.cells[:cell] + (mark,) + state.cells[cell + 1:]
        lines, patterns = self._through
        if any(all(cells[i] == mark for i in line) for line in lines[cell]):
            return Board(cells, mark, False)
        if self.params.planted and any(all(cells[i] == mark for i in p) for p in patterns[cell]):
            return Board(cells, mark, True)
        return Board(cells)

    def is_terminal(self, state: Board) -> bool:
        return bool(state.winner) or all(state.cells)

    def current_player(self, state: Board) -> Player:
        return sum(1 for cell in state.cells if cell) % 2

    def returns(self, state: Board) -> tuple[float, float]:
        if state.winner == 1:
            return (1.0, -1.0)
        if state.winner == 2:
            return (-1.0, 1.0)
        return (0.0, 0.0)

    # -- the planted concept -------------------------------------------------------
    def moves_to_pattern(self, state: Board, player: Player) -> int | None:
        """The fewest of ``player``'s own moves that complete the pattern (see :func:`moves_to_pattern`)."""
        return moves_to_pattern(state.cells, self.heights(state), self.params.columns,
                                self.pattern_instances, 1 + player)

    def planted_predicate(self, state: Board, k: int) -> bool:
        """Whether the planted concept matters in ``state``: the side to move can complete the
        pattern within ``k`` of its own moves, or its opponent can (and must be stopped).

        Geometric, so it labels positions of the standard game too (where the pattern
        wins nothing); false in a finished game.
        """
        if k < 1:
            raise ValueError(f"planted_predicate: k must be >= 1, got {k}")
        if self.is_terminal(state):
            return False
        mover = self.current_player(state)
        return any(
            (cost := self.moves_to_pattern(state, player)) is not None and cost <= k
            for player in (mover, 1 - mover)
        )

    def completes(self, state: Board, action: Action, player: Player) -> Literal["line", "pattern"] | None:
        """What ``player``'s stone dropped in column ``action`` would complete, whoever is to move:
        ``"line"`` (a line of ``connect``), ``"pattern"`` (the pattern, and no line), or ``None``.

        The pattern counts whether or not the planted rule is in force.
        """
        columns = self.params.columns
        if not (0 <= action < columns) or state.cells[(self.params.rows - 1) * columns + action]:
            raise InvalidActionError(f"column {action!r} is full or off the board in {self.to_text(state)!r}")
        cell = self.heights(state)[action] * columns + action
        mark = 1 + player
        cells = state.cells[:cell] + (mark,) + state.cells[cell + 1:]
        lines, patterns = self._through
        if any(all(cells[i] == mark for i in line) for line in lines[cell]):
            return "line"
        if any(all(cells[i] == mark for i in p) for p in patterns[cell]):
            return "pattern"
        return None

    def line_threat(self, state: Board, player: Player) -> bool:
        """Whether ``player`` could complete a line of ``connect`` with one stone dropped now
        (a concept of the standard rules, shared by every player of either game)."""
        if self.is_terminal(state):
            return False
        return any(self.completes(state, a, player) == "line" for a in self.legal_actions(state))

    def known_concepts(self) -> Mapping[str, tuple[str, Callable[[Board], bool | float]]]:
        """The planted concept (at the domain's horizon), its two sides, line threats and stone count."""
        k = self.params.horizon

        def mover(state: Board) -> int:
            return self.current_player(state)

        def within(state: Board, player: int) -> bool:
            cost = self.moves_to_pattern(state, player)
            return not self.is_terminal(state) and cost is not None and cost <= k

        return {
            "planted": ("planted rule", lambda s: self.planted_predicate(s, k)),
            "planted_mover": ("planted rule", lambda s: within(s, mover(s))),
            "planted_opponent": ("planted rule", lambda s: within(s, 1 - mover(s))),
            "line_threat": ("standard rules", lambda s: self.line_threat(s, mover(s))),
            "opponent_line_threat": ("standard rules", lambda s: self.line_threat(s, 1 - mover(s))),
            "stones": ("board", lambda s: float(sum(1 for cell in s.cells if cell))),
        }

    # -- encodings ---------------------------------------------------------------
    def encode(self, states: Sequence[Board]) -> np.ndarray:
        """Planes: the mover's stones, the opponent's, all-ones if X is to move, the marked cells.

        Nothing in the input says whether the planted rule is in force.
        """
        rows, columns = self.params.rows, self.params.columns
        out = np.zeros((len(states), 4, rows, columns), dtype=np.float32)
        for i, state in enumerate(states):
            mover = 1 + self.current_player(state)
            cells = np.asarray(state.cells).reshape(rows, columns)
            out[i, 0] = cells == mover
            out[i, 1] = (cells != mover) & (cells != 0)
            out[i, 2] = float(mover == 1)
            out[i, 3] = self.marked_plane
        return out

    def symmetries(self, state: Board) -> Sequence[tuple[Board, np.ndarray]]:
        """The left-right mirror image, when the pattern is mirror-symmetric (always for 'square')."""
        columns = self.params.columns
        if not self._mirror_symmetric:
            return ()
        cells = tuple(
            state.cells[(i // columns) * columns + columns - 1 - i % columns] for i in range(len(state.cells))
        )
        return ((Board(cells, state.winner, state.by_rule), np.arange(columns)[::-1].copy()),)

    @cached_property
    def _mirror_symmetric(self) -> bool:
        columns = self.params.columns

        def mirror(instance: tuple[int, ...]) -> tuple[int, ...]:
            return tuple(sorted((i // columns) * columns + columns - 1 - i % columns for i in instance))

        instances = set(self.pattern_instances)
        return {mirror(p) for p in instances} == instances

    def stratum(self, state: Board) -> str | None:
        """The stage of the game: stones on the board, in bands of one row's worth."""
        return f"stones-{sum(1 for cell in state.cells if cell) // self.params.columns}"

    # -- text ------------------------------------------------------------------
    def to_text(self, state: Board) -> str:
        rows, columns = self.params.rows, self.params.columns
        return "/".join(
            "".join(SYMBOLS[state.cells[r * columns + c]] for c in range(columns)) for r in range(rows - 1, -1, -1)
        )

    def from_text(self, text: str) -> Board:
        rows, columns = self.params.rows, self.params.columns
        text = text.strip()
        ranks = text.split("/")
        if len(ranks) != rows or any(len(rank) != columns or set(rank) - set(SYMBOLS) for rank in ranks):
            raise InvalidStateError(
                f"invalid board {text!r}: expected {rows} rows of {columns} of '.XO', separated by '/'"
            )
        cells = tuple(SYMBOLS.index(ch) for rank in reversed(ranks) for ch in rank)
        for c in range(columns):
            column = [cells[r * columns + c] for r in range(rows)]
            if 0 in column and any(column[column.index(0):]):
                raise InvalidStateError(f"invalid board {text!r}: a stone floats in column {LETTERS[c]}")
        xs, os_ = cells.count(1), cells.count(2)
        if xs - os_ not in (0, 1):
            raise InvalidStateError(f"invalid board {text!r}: {xs} X and {os_} O")
        return self._decided(Board(cells), text)

    def _decided(self, board: Board, text: str) -> Board:
        """``board`` with its winner found by scanning the whole board."""
        cells = board.cells

        def complete(groups: Sequence[tuple[int, ...]]) -> set[int]:
            """The marks that fill every cell of some group."""
            return {cells[g[0]] for g in groups if cells[g[0]] and all(cells[i] == cells[g[0]] for i in g)}

        by_line = complete(self.lines)
        by_pattern = complete(self.pattern_instances) if self.params.planted else set()
        winners = by_line | by_pattern
        if len(winners) > 1:
            raise InvalidStateError(f"invalid board {text!r}: both sides have won")
        if not winners:
            return board
        mark = winners.pop()
        last_mover = 1 if cells.count(1) > cells.count(2) else 2
        if mark != last_mover:
            raise InvalidStateError(f"invalid board {text!r}: {SYMBOLS[mark]} has won but did not move last")
        return Board(cells, mark, mark not in by_line)

    def action_to_text(self, state: Board, action: Action) -> str:
        if not (0 <= action < self.params.columns):
            raise InvalidActionError(f"action {action!r} is no column of a {self.params.columns}-column board")
        return LETTERS[action]

    def action_from_text(self, state: Board, text: str) -> Action:
        text = text.strip()
        if len(text) != 1 or text not in LETTERS[: self.params.columns]:
            raise InvalidActionError(
                f"invalid move {text!r}: expected a column letter a-{LETTERS[self.params.columns - 1]}"
            )
        action = LETTERS.index(text)
        if action not in self.legal_actions(state):
            raise InvalidActionError(f"illegal move {text!r} in {self.to_text(state)!r}")
        return action

    # -- rendering -----------------------------------------------------------------
    def render_text(self, state: Board) -> str:
        return self.to_text(state).replace("/", "\n") + "\n" + LETTERS[: self.params.columns]

    def render_svg(self, state: Board, arrows: Sequence[tuple[Action, str]] = ()) -> str:
        """The board as discs in a grid; marked cells ringed; an arrow is drawn over its column."""
        rows, columns, size = self.params.rows, self.params.columns, 40
        width, height = columns * size + 20, (rows + 1) * size + 20
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
                 f'<rect x="10" y="{size + 10}" width="{columns * size}" height="{rows * size}" fill="#2f5fa8"/>']
        colours = {0: "#ffffff", 1: "#d83a2e", 2: "#f2c230"}
        marked = set(self.pattern_instances[0]) if self.params.pattern == "marked" else set()
        for r in range(rows):
            for c in range(columns):
                cell = r * columns + c
                x, y = 10 + c * size + size // 2, 10 + (rows - r) * size + size // 2
                ring = ' stroke="#111111" stroke-width="3"' if cell in marked else ""
                fill = colours[state.cells[cell]]
                parts.append(f'<circle cx="{x}" cy="{y}" r="{size // 2 - 4}" fill="{fill}"{ring}/>')
        for action, colour in arrows:
            if 0 <= action < columns:
                x = 10 + action * size + size // 2
                parts.append(f'<path d="M{x - 10},15 L{x + 10},15 L{x},{size} Z" fill="{html.escape(colour)}"/>')
        parts.append("</svg>")
        return "".join(parts)
