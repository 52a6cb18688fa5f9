"""Entry point of the ``planted`` plugin: the planted-rule domain, its player agent, ``conceptlab planted``."""

from __future__ import annotations

import argparse

from conceptlab.commands import add_delegated_command
from conceptlab.hookspecs import hookimpl
from conceptlab.lazy import LazyComponent

__all__ = ["add_cli_commands", "register_agents", "register_domains"]


@hookimpl
def register_domains() -> list[LazyComponent]:
    return [LazyComponent("planted", "conceptlab_planted.domain:PlantedConnect")]


@hookimpl
def register_agents() -> list[LazyComponent]:
    return [LazyComponent("pvnet-checkpoint", "conceptlab_planted.agent:CheckpointPVNet")]


@hookimpl
def add_cli_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    add_delegated_command(
        commands, "planted", "conceptlab_planted.cli:main",
        help="planted-rule tools: how much of an agent's winning goes through the planted rule",
    )
