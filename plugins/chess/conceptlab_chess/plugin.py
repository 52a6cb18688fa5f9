"""Entry point of the ``chess`` plugin: the chess domain, the ``az-chess`` and ``lc0`` agents, ``conceptlab chess``."""

from __future__ import annotations

import argparse

from conceptlab.commands import add_delegated_command
from conceptlab.hookspecs import hookimpl
from conceptlab.lazy import LazyComponent

__all__ = ["add_cli_commands", "register_agents", "register_domains"]


@hookimpl
def register_domains() -> list[LazyComponent]:
    return [LazyComponent("chess", "conceptlab_chess.domain:ChessDomain")]


@hookimpl
def register_agents() -> list[LazyComponent]:
    return [
        LazyComponent("az-chess", "conceptlab_chess.agent:AlphaZeroChessAgent"),
        LazyComponent("lc0", "conceptlab_chess.lc0.agent:Lc0Agent"),
    ]


@hookimpl
def add_cli_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    add_delegated_command(
        commands, "chess", "conceptlab_chess.cli:main",
        help="chess tools: play over UCI, a strength match against Stockfish, bootstrap and ship the net",
    )
