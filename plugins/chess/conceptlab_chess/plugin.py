"""Entry point of the ``chess`` plugin: the chess domain and the ``az-chess`` agent."""

from __future__ import annotations

from conceptlab.hookspecs import hookimpl
from conceptlab.lazy import LazyComponent

__all__ = ["register_agents", "register_domains"]


@hookimpl
def register_domains() -> list[LazyComponent]:
    return [LazyComponent("chess", "conceptlab_chess.domain:ChessDomain")]


@hookimpl
def register_agents() -> list[LazyComponent]:
    return [LazyComponent("az-chess", "conceptlab_chess.agent:AlphaZeroChessAgent")]

