"""conceptlab's chess reference plugin: python-chess rules, AlphaZero encodings and net, UCI, bootstrap.

The plugin registers through the entry-point group ``conceptlab`` (see
``conceptlab_chess.plugin``); the core never imports it by name. The names
below are imported on first access, so that loading the plugin's entry point
(every ``conceptlab`` command does) does not import python-chess.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["NUM_ACTIONS", "ChessDomain", "ChessParams", "ChessState", "index_to_move", "move_to_index"]

_HOMES = {
    "NUM_ACTIONS": "encoding",
    "ChessDomain": "domain",
    "ChessParams": "domain",
    "ChessState": "state",
    "index_to_move": "encoding",
    "move_to_index": "encoding",
}
"""Public name -> the module of this package that defines it."""


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
