"""The state of an OpenSpiel domain: an immutable view of a pyspiel state.

It lives apart from the domain so that the domain's helpers (the reference
players in :mod:`conceptlab_openspiel.players`) can name it without importing
the domain.
"""

from __future__ import annotations

import pyspiel

__all__ = ["SpielState"]


class SpielState:
    """An immutable view of a pyspiel state: equal (and hashing equal) when the action histories are.

    The domain never mutates ``native`` after construction; ``apply`` clones it.
    """

    __slots__ = ("history", "native")

    def __init__(self, native: pyspiel.SpielState, history: tuple[int, ...] | None = None) -> None:
        self.native = native
        self.history: tuple[int, ...] = (
            tuple(int(a) for a in native.history()) if history is None else history
        )
        """The actions from the initial state, which identify the state (``history``,
        when given, must be ``native``'s)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SpielState) and other.history == self.history

    def __hash__(self) -> int:
        return hash(self.history)

    def __repr__(self) -> str:
        return f"SpielState([{','.join(map(str, self.history))}])"
