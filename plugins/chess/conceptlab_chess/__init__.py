"""conceptlab's chess reference plugin: python-chess rules, AlphaZero encodings and net, UCI, bootstrap.

The plugin registers through the entry-point group ``conceptlab`` (see
``conceptlab_chess.plugin``); the core never imports it by name.
"""

from conceptlab_chess.domain import ChessDomain, ChessParams
from conceptlab_chess.encoding import NUM_ACTIONS, index_to_move, move_to_index
from conceptlab_chess.state import ChessState

__all__ = ["NUM_ACTIONS", "ChessDomain", "ChessParams", "ChessState", "index_to_move", "move_to_index"]
