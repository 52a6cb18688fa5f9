"""Built-in plugin ``builtin.bench``: the ``conceptlab bench`` commands.

It adds its commands through ``add_cli_commands``, the hook third-party plugins
use; ``--disable builtin.bench`` removes them.
"""

from __future__ import annotations

import argparse

from conceptlab.bench.commands import add_bench_commands
from conceptlab.markers import hookimpl

__all__ = ["add_cli_commands"]


@hookimpl(tryfirst=True)
def add_cli_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bench = commands.add_parser("bench", help="benchmarks that print measured ratios")
    benchmarks = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK", required=True)
    add_bench_commands(benchmarks)
