"""Loading a pyspiel game and checking that conceptlab can serve it.

conceptlab's :class:`~conceptlab.interfaces.Domain` is a sequential two-player
zero-sum game of perfect information whose states a net reads as a tensor. A
pyspiel game (Lanctot et al., "OpenSpiel: A Framework for Reinforcement Learning
in Games", arXiv 1908.09453) declares each of these properties in its
``GameType``; :func:`load_game` checks them all and refuses a game that lacks
one, naming the game and every missing property.
"""

from __future__ import annotations

import difflib

import pyspiel

from conceptlab.errors import ComponentError

__all__ = ["UnsupportedGameError", "load_game", "missing_properties"]


class UnsupportedGameError(ComponentError):
    """A pyspiel game that the OpenSpiel domain cannot serve (the message says why)."""


def missing_properties(game: pyspiel.Game) -> list[str]:
    """What ``game`` lacks to be a conceptlab domain; empty when it can be served."""
    kind = game.get_type()
    missing = []
    if kind.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        missing.append(f"sequential moves (it has {kind.dynamics.name.lower()} moves)")
    if kind.chance_mode != pyspiel.GameType.ChanceMode.DETERMINISTIC:
        missing.append("deterministic rules (it has chance nodes)")
    if kind.information != pyspiel.GameType.Information.PERFECT_INFORMATION:
        missing.append(f"perfect information (it has {kind.information.name.lower()})")
    if game.num_players() != 2:
        missing.append(f"two players (it has {game.num_players()})")
    if kind.utility != pyspiel.GameType.Utility.ZERO_SUM:
        missing.append(f"zero-sum utility (it is {kind.utility.name.lower()})")
    if not kind.provides_observation_tensor:
        missing.append("an observation tensor")
    return missing


def load_game(name: str) -> pyspiel.Game:
    """The pyspiel game ``name`` (a short name with optional parameters, e.g.
    ``"breakthrough(rows=6,columns=6)"``), checked to be servable.

    Raises:
        UnsupportedGameError: pyspiel does not know the game, or the game lacks
            a property the domain needs (all missing properties are listed).
    """
    short = name.partition("(")[0].strip()
    known = list(pyspiel.registered_names())
    if short not in known:
        close = difflib.get_close_matches(short, known, n=3)
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else (
            "list them with 'python -c \"import pyspiel; print(pyspiel.registered_names())\"'"
        )
        raise UnsupportedGameError(f"OpenSpiel has no game {short!r} (from {name!r}); {hint}")
    try:
        game = pyspiel.load_game(name)
    except pyspiel.SpielError as exc:
        raise UnsupportedGameError(f"OpenSpiel cannot load game {name!r}: {exc}") from None
    missing = missing_properties(game)
    if missing:
        raise UnsupportedGameError(
            f"OpenSpiel game {name!r} cannot be a conceptlab domain: it lacks "
            + "; ".join(missing)
            + " (conceptlab serves sequential two-player zero-sum perfect-information "
            "games with an observation tensor)"
        )
    return game
