"""Commands that arrive through ``add_cli_commands``: the built-in study and bench, the plugins' tools."""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
from pathlib import Path

import pytest

from conceptlab.cli import build_parser
from conceptlab.commands import add_delegated_command
from conceptlab.errors import PluginLoadError
from conceptlab.hookspecs import hookimpl
from conceptlab.plugins import get_registry
from conceptlab.testing.harness import run_cli

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = {ep.name for ep in metadata.entry_points(group="conceptlab")}


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(action.choices)


def test_study_and_bench_arrive_through_the_hook_and_can_be_disabled():
    registry = get_registry(autoload=False)
    assert {"plugins", "spec", "run", "report", "study", "bench"} <= _commands(build_parser(registry))
    providers = {
        info.name for info in registry.plugins() if "add_cli_commands" in info.hooks
    }
    assert {"builtin.study", "builtin.bench"} <= providers
    without = get_registry(autoload=False, disable=["builtin.study", "builtin.bench"])
    assert _commands(build_parser(without)) == {"plugins", "spec", "run", "report"}


@pytest.mark.skipif(not {"chess", "openspiel"} <= PLUGINS, reason="the in-repo plugins are not installed")
def test_the_plugins_commands_are_conceptlab_subcommands():
    assert {"chess", "openspiel"} <= _commands(build_parser(get_registry()))


class _Greeter:
    """A plugin that adds a command the way the docs show."""

    @hookimpl
    def add_cli_commands(self, commands):
        greet = commands.add_parser("greet", help="say hello")
        greet.add_argument("--name", default="world")
        greet.set_defaults(func=self.greet)

    def greet(self, args, registry):
        print(f"hello {args.name} from {len(registry.names('domain'))} domain(s)")
        return 0


def test_a_plugin_command_gets_its_arguments_and_the_registry(capsys):
    registry = get_registry(autoload=False, extra_plugins=[("greeter", _Greeter())])
    args = build_parser(registry).parse_args(["greet", "--name", "ada"])
    assert args.func(args, registry) == 0
    assert capsys.readouterr().out == "hello ada from 1 domain(s)\n"


def _echo_main(argv, prog):
    print(f"{prog}: {argv}")
    return 3


class _Delegating:
    @hookimpl
    def add_cli_commands(self, commands):
        add_delegated_command(commands, "echo", f"{__name__}:_echo_main", help="echo the words")
        add_delegated_command(commands, "broken", f"{__name__}:no_such_function", help="cannot load")


@pytest.mark.parametrize(
    "words", [["--help"], ["sub", "-h", "--flag", "x"], []], ids=["help", "options", "nothing"]
)
def test_a_delegated_command_hands_every_word_to_its_main(capsys, words):
    registry = get_registry(autoload=False, extra_plugins=[("delegating", _Delegating())])
    args = build_parser(registry).parse_args(["echo", *words])
    assert args.func(args, registry) == 3
    assert capsys.readouterr().out == f"conceptlab echo: {words}\n"


def test_a_delegated_command_whose_main_is_missing_names_it():
    registry = get_registry(autoload=False, extra_plugins=[("delegating", _Delegating())])
    args = build_parser(registry).parse_args(["broken"])
    with pytest.raises(PluginLoadError, match=r"command 'broken': cannot load '.*:no_such_function'"):
        args.func(args, registry)


@pytest.mark.skipif("chess" not in PLUGINS, reason="the chess plugin is not installed")
def test_conceptlab_chess_runs_the_chess_tools():
    result = run_cli("chess", "--help", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: conceptlab chess ")
    for command in ("uci", "match", "bootstrap", "ship"):
        assert command in result.stdout


@pytest.mark.skipif("chess" not in PLUGINS, reason="the chess plugin is not installed")
def test_a_chess_tool_error_is_one_line_with_status_2(tmp_path):
    result = run_cli("chess", "uci", "--checkpoint", str(tmp_path / "missing.pt"), cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"conceptlab chess: error: checkpoint not found: {str(tmp_path / 'missing.pt')!r}"
    ]


@pytest.mark.skipif("openspiel" not in PLUGINS, reason="the OpenSpiel plugin is not installed")
def test_conceptlab_openspiel_runs_the_openspiel_tools():
    result = run_cli("openspiel", "match", "--help", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: conceptlab openspiel match ")
