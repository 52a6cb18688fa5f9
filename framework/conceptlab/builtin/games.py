"""Built-in plugin ``builtin.games``: the tiny tic-tac-toe domain."""

from __future__ import annotations

from conceptlab.hookspecs import hookimpl
from conceptlab.testing.tictactoe import TicTacToe


@hookimpl
def register_domains() -> list[type]:
    return [TicTacToe]
