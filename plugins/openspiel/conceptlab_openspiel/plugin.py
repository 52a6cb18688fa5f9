"""Entry point of the ``openspiel`` plugin: the OpenSpiel domain and ``conceptlab openspiel``."""

from __future__ import annotations

import argparse

from conceptlab.commands import add_delegated_command
from conceptlab.hookspecs import hookimpl
from conceptlab.lazy import LazyComponent

__all__ = ["add_cli_commands", "register_domains"]


@hookimpl
def register_domains() -> list[LazyComponent]:
    return [LazyComponent("openspiel", "conceptlab_openspiel.domain:OpenSpielDomain")]


@hookimpl
def add_cli_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    add_delegated_command(
        commands, "openspiel", "conceptlab_openspiel.cli:main",
        help="OpenSpiel tools: a match of a trained agent against OpenSpiel's MCTS bot",
    )
