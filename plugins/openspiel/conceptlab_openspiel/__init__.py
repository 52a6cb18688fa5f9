"""conceptlab's OpenSpiel plugin: any sequential two-player zero-sum pyspiel game as a domain.

The plugin registers through the entry-point group ``conceptlab`` (see
``conceptlab_openspiel.plugin``); the core never imports it by name. The
generic agent for these games is the core's ``pvnet`` (convolutional for
``(C, H, W)`` observations, an MLP otherwise).

The names below are imported on first access, so that loading the plugin's
entry point (every ``conceptlab`` command does) does not import pyspiel.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "MctsSpec",
    "OpenSpielDomain",
    "OpenSpielParams",
    "SpielState",
    "UnsupportedGameError",
    "load_game",
    "mcts_bot",
    "mcts_selfplay_games",
    "missing_properties",
]

_HOMES = {
    "MctsSpec": "players",
    "OpenSpielDomain": "domain",
    "OpenSpielParams": "domain",
    "SpielState": "state",
    "UnsupportedGameError": "games",
    "load_game": "games",
    "mcts_bot": "players",
    "mcts_selfplay_games": "players",
    "missing_properties": "games",
}
"""Public name -> the module of this package that defines it."""


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
