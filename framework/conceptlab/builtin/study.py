"""Built-in plugin ``builtin.study``: the ``conceptlab study`` commands.

It adds its commands through ``add_cli_commands``, the hook third-party plugins
use; ``--disable builtin.study`` removes them.
"""

from __future__ import annotations

import argparse

from conceptlab.markers import hookimpl
from conceptlab.study.commands import add_study_commands

__all__ = ["add_cli_commands"]


@hookimpl(tryfirst=True)
def add_cli_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    add_study_commands(commands)
