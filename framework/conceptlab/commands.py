"""Helpers for plugins that add commands to ``conceptlab`` through ``add_cli_commands``.

A plugin whose tools already have a command-line ``main`` of their own (a
separate console script, say) hands the whole sub-tree to it with
:func:`add_delegated_command`: ``conceptlab chess uci ...`` then runs
``conceptlab_chess.cli:main(["uci", ...], prog="conceptlab chess")``. The module
of ``main`` is imported only when the command runs, so ``conceptlab --help``
stays cheap.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence

from conceptlab.errors import PluginLoadError
from conceptlab.registry import Registry

__all__ = ["DelegatedMain", "add_delegated_command"]

DelegatedMain = Callable[..., int]
"""``main(argv: Sequence[str], prog: str) -> int``: a program's own entry point."""

_NO_OPTIONS = "\0"
"""A prefix no argument starts with: the delegating parser treats every argument,
``--help`` included, as one of the words it hands on."""


def add_delegated_command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    target: str,
    *,
    help: str,
) -> argparse.ArgumentParser:
    """Add ``conceptlab NAME ...``, which runs ``target`` with every argument after NAME.

    Args:
        commands: What ``add_cli_commands`` receives.
        name: The command (``"chess"``).
        target: ``"package.module:function"``, a :data:`DelegatedMain`; imported when
            the command runs.
        help: One line for ``conceptlab --help``.

    Returns:
        The command's parser (its only argument is the list of words handed on).
    """
    parser = commands.add_parser(
        name, help=help, add_help=False, prefix_chars=_NO_OPTIONS,
        usage=f"conceptlab {name} COMMAND ... (conceptlab {name} --help lists them)",
    )
    parser.add_argument("delegated_argv", nargs=argparse.REMAINDER)
    parser.set_defaults(func=_Delegate(name, target))
    return parser


class _Delegate:
    """The ``func`` of a delegated command: import ``target`` and run it."""

    def __init__(self, name: str, target: str) -> None:
        self.name = name
        self.target = target

    def __call__(self, args: argparse.Namespace, registry: Registry) -> int:
        main = _load(self.target, self.name)
        argv: Sequence[str] = args.delegated_argv
        return int(main(list(argv), prog=f"conceptlab {self.name}") or 0)


def _load(target: str, name: str) -> DelegatedMain:
    module_name, _, attr = target.partition(":")
    try:
        main = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise PluginLoadError(
            f"command {name!r}: cannot load {target!r}: {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(main):
        raise PluginLoadError(f"command {name!r}: {target!r} is not callable")
    return main  # type: ignore[no-any-return]
