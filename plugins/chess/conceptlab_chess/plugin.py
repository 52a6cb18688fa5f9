"""Entry point of the ``chess`` plugin: registers the chess domain and the ``az-chess`` and ``lc0`` agents."""

from __future__ import annotations

from conceptlab.hookspecs import hookimpl

__all__ = ["register_agents", "register_domains"]


@hookimpl
def register_domains() -> list[type]:
    from conceptlab_chess.domain import ChessDomain

    return [ChessDomain]


@hookimpl
def register_agents() -> list[type]:
    from conceptlab_chess.agent import AlphaZeroChessAgent
    from conceptlab_chess.lc0.agent import Lc0Agent

    return [AlphaZeroChessAgent, Lc0Agent]
