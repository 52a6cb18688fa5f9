"""``openspiel``: any sequential two-player zero-sum pyspiel game as a conceptlab domain.

States are :class:`SpielState` views of pyspiel states, immutable (``apply``
clones) and equal when their action histories are. Actions are
the game's own distinct action ids, so the policy vector has
``game.num_distinct_actions()`` entries. The text form of a state is the action
history from the initial state, e.g. ``"[3,3,4]"``: replaying it gives back the
same state, so ``from_text(to_text(s))`` is exact for every game, and the text
stays one line whatever the game's own string form looks like.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import ClassVar

import numpy as np
import pyspiel
from open_spiel.python.observation import make_observation
from pydantic import Field, field_validator

from conceptlab.errors import ComponentError, InvalidActionError, InvalidStateError
from conceptlab.interfaces import Domain, StrictParams
from conceptlab.values import Action, Player

from conceptlab_openspiel.games import UnsupportedGameError, load_game
from conceptlab_openspiel.players import MctsSpec, mcts_selfplay_games
from conceptlab_openspiel.render import board_svg, changed_cells
from conceptlab_openspiel.state import SpielState

__all__ = ["ROWS_FROM_BOTTOM", "SYMMETRIES", "OpenSpielDomain", "OpenSpielParams", "SpielState"]

ROWS_FROM_BOTTOM = frozenset({"connect_four"})
"""Games whose observation planes hold the board's bottom row first (their string form prints it last)."""


def _column_mirror(game: pyspiel.Game) -> list[np.ndarray]:
    """The left-right mirror of a game whose action ids are the board's columns."""
    return [np.arange(int(game.num_distinct_actions()))[::-1].copy()]


SYMMETRIES: dict[str, Callable[[pyspiel.Game], list[np.ndarray]]] = {
    "connect_four": _column_mirror,
}
"""Game short name -> the action permutations of the game's exact symmetries (identity
left out). Only games whose rules and outcomes are invariant under every listed
permutation, whatever their parameters, are here: Connect Four's mirror maps a drop in
column ``c`` to one in column ``columns - 1 - c``."""


class OpenSpielParams(StrictParams):
    """Params of :class:`OpenSpielDomain`."""

    game: str = Field(
        default="tic_tac_toe",
        description=(
            "The pyspiel game: its short name with optional parameters, e.g. 'connect_four', "
            "'breakthrough(rows=6,columns=6)', 'hex(board_size=5)'. It must be sequential, "
            "deterministic, two-player, zero-sum, of perfect information, with an observation tensor."
        ),
    )
    opening_moves: int = Field(
        default=2, ge=0, le=32,
        description="Self-play openings start after 0 to this many uniformly random moves.",
    )

    @field_validator("game")
    @classmethod
    def _servable(cls, value: str) -> str:
        try:
            load_game(value)
        except UnsupportedGameError as exc:
            raise ValueError(str(exc)) from None
        return value


class OpenSpielDomain(Domain[SpielState]):
    """A pyspiel game (sequential, two-player, zero-sum, perfect information) as a domain.

    The encoding is the game's observation tensor for the player to move,
    shaped by ``game.observation_tensor_shape()``, with one extra plane (or one
    extra entry, for flat observations) that is 1 when the first player is to
    move: some games' tensors do not say whose turn it is. Returns are the signs
    of pyspiel's returns (``+1`` win, ``0`` draw, ``-1`` loss).
    """

    name: ClassVar[str] = "openspiel"
    Params: ClassVar[type[StrictParams]] = OpenSpielParams
    params: OpenSpielParams

    def __init__(self, params: StrictParams | None = None) -> None:
        super().__init__(params)
        self.game = load_game(self.params.game)
        self._tensor_shape = tuple(int(d) for d in self.game.observation_tensor_shape())
        # OpenSpiel's observer writes the observation tensor into a numpy buffer: the same
        # numbers as state.observation_tensor(player), without building a Python list
        self._observer = make_observation(self.game)
        if len(self._tensor_shape) == 3:
            c, h, w = self._tensor_shape
            self._observation_shape: tuple[int, ...] = (c + 1, h, w)
        else:
            self._observation_shape = (math.prod(self._tensor_shape) + 1,)
        symmetries = SYMMETRIES.get(self.game.get_type().short_name)
        self._symmetries: list[np.ndarray] = symmetries(self.game) if symmetries else []

    def __repr__(self) -> str:
        return f"OpenSpielDomain(OpenSpielParams(game={self.params.game!r}))"

    def __reduce__(self) -> tuple[type[OpenSpielDomain], tuple[OpenSpielParams]]:
        return (type(self), (self.params,))

    # -- rules -----------------------------------------------------------------
    @property
    def num_actions(self) -> int:
        return int(self.game.num_distinct_actions())

    @property
    def observation_shape(self) -> tuple[int, ...]:
        return self._observation_shape

    @property
    def spatial(self) -> bool:
        """Whether observations are ``(C, H, W)`` planes (the ``pvnet`` agent then uses convolutions)."""
        return len(self._observation_shape) == 3

    def initial_state(self) -> SpielState:
        return SpielState(self.game.new_initial_state())

    def opening_states(self, count: int, rng: np.random.Generator) -> list[SpielState]:
        """``count`` states after 0 to ``opening_moves`` uniformly random moves each."""
        states = []
        for _ in range(count):
            native = self.game.new_initial_state()
            for _ in range(int(rng.integers(0, self.params.opening_moves + 1))):
                if native.is_terminal():
                    break
                legal = native.legal_actions()
                native.apply_action(int(legal[rng.integers(len(legal))]))
            states.append(SpielState(native))
        return states

    def legal_actions(self, state: SpielState) -> Sequence[Action]:
        if state.native.is_terminal():
            return []
        return sorted(state.native.legal_actions())

    def apply(self, state: SpielState, action: Action) -> SpielState:
        native = state.native
        if native.is_terminal() or action not in native.legal_actions():
            raise InvalidActionError(f"illegal action {action!r} in {self.to_text(state)!r}")
        child = native.clone()
        child.apply_action(int(action))
        return SpielState(child, (*state.history, int(action)))

    def is_terminal(self, state: SpielState) -> bool:
        return bool(state.native.is_terminal())

    def current_player(self, state: SpielState) -> Player:
        player = int(state.native.current_player())
        return player if player >= 0 else len(state.history) % 2

    def returns(self, state: SpielState) -> tuple[float, float]:
        first, second = (float(np.sign(r)) for r in state.native.returns())
        return (first, second)

    # -- encodings ---------------------------------------------------------------
    def encode(self, states: Sequence[SpielState]) -> np.ndarray:
        out = np.zeros((len(states), *self._observation_shape), dtype=np.float32)
        observer = self._observer
        for i, state in enumerate(states):
            player = self.current_player(state)
            observer.set_from(state.native, player)
            tensor = observer.tensor
            out[i, :-1] = tensor.reshape(self._tensor_shape) if self.spatial else tensor
            out[i, -1] = float(player == 0)
        return out

    def symmetries(self, state: SpielState) -> list[tuple[SpielState, np.ndarray]]:
        """The state replayed with every action mapped by each of the game's exact symmetries
        (``SYMMETRIES``); none for the other games."""
        images = []
        for perm in self._symmetries:
            native = self.game.new_initial_state()
            for action in state.history:
                native.apply_action(int(perm[action]))
            images.append((SpielState(native), perm))
        return images

    # -- text ------------------------------------------------------------------
    def to_text(self, state: SpielState) -> str:
        return "[" + ",".join(map(str, state.history)) + "]"

    def from_text(self, text: str) -> SpielState:
        body = text.strip()
        if not (body.startswith("[") and body.endswith("]")):
            raise InvalidStateError(
                f"invalid {self.params.game} state {text!r}: expected the action history, e.g. '[3,3,4]'"
            )
        native = self.game.new_initial_state()
        for item in filter(None, (part.strip() for part in body[1:-1].split(","))):
            try:
                action = int(item)
            except ValueError:
                raise InvalidStateError(
                    f"invalid {self.params.game} state {text!r}: {item!r} is not an action id"
                ) from None
            if native.is_terminal() or action not in set(native.legal_actions()):
                raise InvalidStateError(
                    f"invalid {self.params.game} state {text!r}: action {action} is illegal "
                    f"after {self.to_text(SpielState(native))!r}"
                )
            native.apply_action(action)
        return SpielState(native)

    def _action_names(self, state: SpielState) -> dict[str, Action]:
        player = self.current_player(state)
        native = state.native
        return {native.action_to_string(player, int(a)): int(a) for a in native.legal_actions()}

    def action_to_text(self, state: SpielState, action: Action) -> str:
        """The game's own name of the action (e.g. ``x3``, ``a5b4``), or ``#id`` where
        names are not unique among the legal actions."""
        names = self._action_names(state)
        text = state.native.action_to_string(self.current_player(state), int(action))
        if names.get(text) == action:
            return text
        return f"#{int(action)}"

    def action_from_text(self, state: SpielState, text: str) -> Action:
        if state.native.is_terminal():
            raise InvalidActionError(f"no move {text!r}: {self.to_text(state)!r} is terminal")
        names = self._action_names(state)
        if text in names:
            return names[text]
        if text.startswith("#") and text[1:].isdigit() and int(text[1:]) in names.values():
            return int(text[1:])
        raise InvalidActionError(
            f"illegal move {text!r} in {self.to_text(state)!r}; legal: {', '.join(list(names)[:12])}"
        )

    # -- rendering and reference games -----------------------------------------
    def render_text(self, state: SpielState) -> str:
        """The game's own string form of the position."""
        return str(state.native).rstrip("\n")

    def render_svg(self, state: SpielState, arrows: Sequence[tuple[Action, str]] = ()) -> str:
        """The game's string form drawn on a grid, pieces as discs; each of ``arrows`` (a
        legal action and a colour) as frames of that colour around the cells the action changes."""
        text = self.render_text(state)
        legal = set(self.legal_actions(state))
        marks = [
            (row, col, colour)
            for action, colour in arrows if action in legal
            for row, col in changed_cells(text, self.render_text(self.apply(state, action)))
        ]
        return board_svg(text, title=f"{self.params.game}: {self.to_text(state)}", marks=marks)

    def render_heatmap_svg(self, state: SpielState, heat: np.ndarray) -> str | None:
        """The default grid of the planes, turned to match :meth:`render_svg`'s picture.

        OpenSpiel's Connect Four keeps its bottom row first in the observation
        and prints it last, so its rows are flipped; the other games print
        their observation's rows in order.
        """
        if self.params.game in ROWS_FROM_BOTTOM:
            heat = heat[::-1]
        return super().render_heatmap_svg(state, heat)

    def reference_games(self, source: str) -> Iterator[list[SpielState]]:
        """Games of a reference player named by ``source``.

        ``"mcts:N"`` (or ``"mcts:N:R"``): OpenSpiel's MCTS bot with ``N``
        simulations and ``R`` random rollouts per leaf (default 1) playing both
        sides, from random openings; an endless, reproducible stream.
        """
        return mcts_selfplay_games(self, self._reference_player(source))

    def check_reference_source(self, source: str) -> None:
        """Refuse a source that is not ``"mcts:N"`` or ``"mcts:N:R"``."""
        self._reference_player(source)

    def _reference_player(self, source: str) -> MctsSpec:
        try:
            return MctsSpec.parse(source)
        except ValueError as exc:
            raise ComponentError(f"domain {self.name!r}: reference source {source!r}: {exc}") from None
