"""The Domain interface: a game's rules, encodings and text, rendering and reference games."""

from __future__ import annotations

import html
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from conceptlab.errors import ComponentError
from conceptlab.interfaces.component import Component
from conceptlab.plots import sequential_colour
from conceptlab.values import Action, Player, Puzzle

__all__ = ["Domain", "S"]

S = TypeVar("S")
"""The domain's state type. States are treated as immutable: ``apply`` returns a new one."""


class Domain(Component, Generic[S]):
    """A sequential two-player zero-sum game, as the search, agents and pipeline see it.

    Actions are policy indices (``0 <= a < num_actions``); the domain owns the
    bijection between its own moves and these indices, and the text form of both.
    """

    kind: ClassVar[str] = "domain"

    # -- rules -----------------------------------------------------------------
    @property
    @abstractmethod
    def num_actions(self) -> int:
        """Size of the policy vector."""

    @property
    @abstractmethod
    def observation_shape(self) -> tuple[int, ...]:
        """Shape of one encoded state (``encode`` returns ``(batch, *observation_shape)``)."""

    @abstractmethod
    def initial_state(self) -> S:
        """The game's start position."""

    def opening_states(self, count: int, rng: np.random.Generator) -> list[S]:
        """``count`` diverse starting states for self-play (default: random short openings)."""
        states = []
        for _ in range(count):
            state = self.initial_state()
            for _ in range(int(rng.integers(0, 3))):
                if self.is_terminal(state):
                    break
                legal = self.legal_actions(state)
                state = self.apply(state, int(legal[rng.integers(len(legal))]))
            states.append(state)
        return states

    @abstractmethod
    def legal_actions(self, state: S) -> Sequence[Action]:
        """Legal actions in ``state``, sorted ascending; empty when terminal."""

    @abstractmethod
    def apply(self, state: S, action: Action) -> S:
        """The state after ``action``; raises ``InvalidActionError`` for an illegal one."""

    @abstractmethod
    def is_terminal(self, state: S) -> bool:
        """Whether the game is over."""

    @abstractmethod
    def current_player(self, state: S) -> Player:
        """The player to move in a non-terminal state."""

    @abstractmethod
    def returns(self, state: S) -> tuple[float, float]:
        """Final score of each player in a terminal state (``+1`` win, ``0`` draw, ``-1`` loss)."""

    # -- encodings ---------------------------------------------------------------
    @abstractmethod
    def encode(self, states: Sequence[S]) -> np.ndarray:
        """Float32 ``(len(states), *observation_shape)`` tensor input for nets."""

    # -- text ------------------------------------------------------------------
    @abstractmethod
    def to_text(self, state: S) -> str:
        """A one-line text form that ``from_text`` reads back (FEN for chess)."""

    @abstractmethod
    def from_text(self, text: str) -> S:
        """Parse ``to_text``'s form; raises ``InvalidStateError`` on bad input."""

    @abstractmethod
    def action_to_text(self, state: S, action: Action) -> str:
        """The action in the domain's notation (UCI for chess)."""

    @abstractmethod
    def action_from_text(self, state: S, text: str) -> Action:
        """Parse ``action_to_text``'s form; raises ``InvalidActionError`` on bad input."""

    def action_name(self, state: S, action: Action) -> str:
        """The legal ``action``'s name for people, in the game's usual notation for players.

        The study shows moves by this name; it sends and stores ``action_to_text``.
        The default is ``action_to_text``.
        """
        return self.action_to_text(state, action)

    def player_name(self, player: Player) -> str:
        """What people call ``player`` (e.g. by colour); default ``"Player 1"``, ``"Player 2"``."""
        return f"Player {int(player) + 1}"

    def last_action_name(self, state: S) -> str | None:
        """The move that led to ``state``, named for people, or ``None`` when unknown (the default).

        A domain whose text form carries the moves that led to a state can name
        it, with a move number where the game counts moves.
        """
        return None

    def position_key(self, state: S) -> str:
        """The identity of ``state``'s position: two states with one key are the same puzzle.

        The export stage gives each position to one concept and one phase only, and
        the study refuses a puzzle set holding a position twice, both by this key.
        The default is ``to_text``; domains whose text form carries more than the
        position (chess: the moves that led to it) override it.
        """
        return self.to_text(state)

    def puzzle_files(self, label: str, puzzles: Sequence[Puzzle], solutions: bool) -> dict[str, str]:
        """Puzzles in the game's own text forms, for use outside the study app.

        Args:
            label: names the set in the files (e.g. ``"<concept> phase 1"``).
            puzzles: the positions, each with the agent's move and line.
            solutions: whether to write the agent's move and line (phase 2, answer
                keys) or the positions alone (phases 1 and 3).

        Returns:
            File extension (``[a-z0-9]+``) -> file text. The default is one plain
            ``txt`` file: per puzzle a line with ``to_text`` and, with ``solutions``,
            a line with the move and line in ``action_to_text`` form. Domains with
            standard puzzle formats override it (chess: PGN and EPD).
        """
        blocks = []
        for number, puzzle in enumerate(puzzles, start=1):
            block = [f"# {label} {number}", puzzle.state]
            if solutions:
                block.append(f"solution: {puzzle.solution}; line: {' '.join(puzzle.line)}; "
                             f"value: {puzzle.value:.3f}")
            blocks.append("\n".join(block))
        return {"txt": "\n\n".join(blocks) + "\n"}

    # -- rendering and reference games -----------------------------------------
    def render_text(self, state: S) -> str:
        """A multi-line human-readable board (default: ``to_text``)."""
        return self.to_text(state)

    def render_svg(self, state: S, arrows: Sequence[tuple[Action, str]] = ()) -> str:
        """An SVG picture of ``state``; ``arrows`` are (action, colour) to draw.

        The default draws ``render_text`` in a monospaced font and ignores arrows;
        domains with boards override it.
        """
        lines = self.render_text(state).splitlines() or [""]
        width = 10 * max(len(line) for line in lines) + 20
        height = 20 * len(lines) + 20
        body = "".join(
            f'<text x="10" y="{20 * (i + 1)}" font-family="monospace" font-size="16">'
            f"{html.escape(line)}</text>"
            for i, line in enumerate(lines)
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
            f"{body}</svg>"
        )

    def render_player_svg(self, state: S, player: Player, arrows: Sequence[tuple[Action, str]] = ()) -> str:
        """``render_svg``'s picture as ``player`` sees the board (from their side, where sides differ).

        The study draws each puzzle for the side to move. The default is
        :meth:`render_svg`, the same picture for both players; domains with a
        board that players see from opposite sides override it (each player's
        own side at the bottom).
        """
        return self.render_svg(state, arrows)

    def study_assets(self) -> Mapping[str, bytes]:
        """Files the study serves to participants' browsers, by relative path; default none.

        They are served at ``/static/domain/<path>`` (JavaScript, CSS, SVG,
        JSON). A ``board.js`` among them is the domain's client-side board: an ES
        module exporting ``mount(element, board, moves, choose)``, which draws
        :meth:`study_board`'s data in ``element``, lets the participant choose one
        of ``moves`` (``[{"text", "name"}]``, the puzzle's legal moves) and calls
        ``choose(text)`` with it; it returns ``{show(text), destroy()}``, ``show``
        marking a move chosen with the page's buttons (``null``: none). The page
        uses it in phases 1 and 3 and keeps :meth:`render_player_svg`'s picture
        when it is absent or fails to load. Files must work offline (no URL
        outside the study) under the page's Content-Security-Policy (scripts
        and styles from the study only).
        """
        return {}

    def study_board(self, state: S, player: Player) -> Mapping[str, Any] | None:
        """The JSON data ``board.js`` (see :meth:`study_assets`) draws ``state`` from, for ``player``'s side.

        ``None`` (the default) means no client-side board.
        """
        return None

    def render_heatmap_svg(self, state: S, heat: np.ndarray) -> str | None:
        """An SVG of where a concept lives on ``state``'s board, or ``None`` when the domain cannot say.

        Args:
            state: The position the concept was mined from.
            heat: ``(H, W)`` weights in ``[0, 1]``, one per cell of the grid of
                the domain's encoded planes (``observation_shape[1:]``): a
                spatial layer of a convolutional agent keeps that grid, and the
                report sums a concept's absolute weights over its channels.

        The default draws the grid on its own, cell ``(0, 0)`` top left, each
        cell shaded from white (0) to dark blue (1) with its weight on hover;
        it returns ``None`` when the observation is not planes or ``heat`` is
        not their grid. Domains whose board is the grid of their planes in
        another orientation (chess: seen from the side to move) override it to
        shade their own board's squares.
        """
        shape = tuple(self.observation_shape)
        if len(shape) != 3 or tuple(heat.shape) != shape[1:]:
            return None
        rows, cols = heat.shape
        size = min(32, 320 // max(rows, cols))
        cells = []
        for r in range(rows):
            for c in range(cols):
                t = min(1.0, max(0.0, float(heat[r, c])))
                cells.append(
                    f'<rect class="heat" x="{c * size}" y="{r * size}" width="{size}" height="{size}" '
                    f'fill="{sequential_colour(t)}" stroke="#999"><title>row {r}, column {c}: {t:.2f}</title></rect>'
                )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{cols * size}" height="{rows * size}">'
            "<title>concept weight per cell of the encoded planes (row 0 at the top)</title>"
            f"{''.join(cells)}</svg>"
        )

    def reference_games(self, source: str) -> Iterator[list[S]]:
        """Games from ``source`` (e.g. a PGN file of human games), each a list of states.

        Domains without a reader of their own keep this default, which refuses;
        the pipeline then uses games of a reference player named in the spec.
        """
        raise ComponentError(
            f"domain {self.name!r} has no reader of reference games (asked for {source!r}); "
            "name a reference player in the spec instead"
        )

    def check_reference_source(self, source: str) -> None:
        """Refuse, before any work starts, a ``source`` that :meth:`reference_games` cannot read.

        A cheap check (the file exists and opens, the name has the right form);
        it runs when a spec is validated and before a run writes anything. The
        default refuses every source of a domain that keeps the default
        :meth:`reference_games`, and accepts every source of one that reads its
        own; such a domain overrides this too when its sources can be checked.

        Raises:
            ConceptlabError: Naming the source and what is wrong with it.
        """
        if type(self).reference_games is Domain.reference_games:
            self.reference_games(source)

    # -- symmetries ----------------------------------------------------------------
    def symmetries(self, state: S) -> Sequence[tuple[S, np.ndarray]]:
        """The images of ``state`` under the game's exact symmetries (the identity left out).

        Each image comes with ``perm``, an ``(num_actions,)`` integer array
        mapping every action to its image (``perm[a]`` in the image is ``a``
        in ``state``). A symmetry must map legal actions to legal actions and
        keep every value: training on the images (``stages.train.symmetries``)
        is then exact augmentation. The default is none.
        """
        return ()

    # -- game phase --------------------------------------------------------------
    def stratum(self, state: S) -> str | None:
        """A key grouping states of comparable game phase, or ``None`` (not stratified).

        The novelty stage matches the agent's and the reference positions stratum
        by stratum, so that a difference between the two sets is not a
        difference of game phase (chess: ply and material). The default is none,
        and the two sets are then random subsamples of equal size.
        """
        return None

    # -- known concepts ----------------------------------------------------------
    def known_concepts(self) -> Mapping[str, tuple[str, Callable[[S], bool | float]]]:
        """Concepts people already name in this game, for validation and probing.

        Returns name -> ``(family, predicate)``: the family groups concepts in
        tables (e.g. ``"pieces"``), and the predicate labels a state with a
        ``bool`` (present or absent) or a ``float`` (a quantity, probed by
        regression). The ``probe`` stage labels pool positions with them. The
        default is none, and the stage then skips with that reason.
        """
        return {}
