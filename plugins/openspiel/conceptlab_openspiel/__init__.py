"""conceptlab's OpenSpiel plugin: any sequential two-player zero-sum pyspiel game as a domain.

The plugin registers through the entry-point group ``conceptlab`` (see
``conceptlab_openspiel.plugin``); the core never imports it by name. The
generic agent for these games is the core's ``pvnet`` (convolutional for
``(C, H, W)`` observations, an MLP otherwise).
"""

from conceptlab_openspiel.domain import OpenSpielDomain, OpenSpielParams, SpielState
from conceptlab_openspiel.games import UnsupportedGameError, load_game, missing_properties
from conceptlab_openspiel.players import MctsSpec, mcts_bot, mcts_selfplay_games

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
