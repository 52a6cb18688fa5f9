"""Built-in plugin ``builtin.games``: the tiny tic-tac-toe domain."""

from __future__ import annotations

from conceptlab.lazy import LazyComponent
from conceptlab.markers import hookimpl

__all__ = ["register_domains"]


@hookimpl
def register_domains() -> list[LazyComponent]:
    return [LazyComponent("tictactoe", "conceptlab.testing.tictactoe:TicTacToe")]
