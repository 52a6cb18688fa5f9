"""The command line: listings, and one clear line with exit status 2 for each user error."""

from __future__ import annotations

from pathlib import Path

import pytest

from conceptlab.testing.harness import run_cli

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = 'name = "t"\n[domain]\nname = "tictactoe"\n[agent]\nname = "pvnet"\n'


def one_line_error(result, pattern: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("conceptlab: error: ")
    import re

    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


def test_plugins_lists_every_builtin_with_its_hooks():
    result = run_cli("plugins", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    for plugin, hook in [("builtin.games", "register_domains"), ("builtin.search", "register_searches"),
                         ("builtin.agents", "register_agents"), ("builtin.miners", "register_concept_miners"),
                         ("builtin.filters", "register_teachability_filters")]:
        block = result.stdout.split(plugin, 1)[1].split("\n")[1]
        assert hook in block, (plugin, block)


def test_spec_validate_accepts_a_good_spec():
    result = run_cli("spec", "validate", "specs/tictactoe-tiny.toml", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "valid spec 'tictactoe-tiny'" in result.stdout


def test_spec_schema_is_json():
    import json

    result = run_cli("spec", "schema", cwd=ROOT)
    assert json.loads(result.stdout)["title"] == "RunSpec"


def test_missing_spec_file(tmp_path):
    one_line_error(run_cli("run", str(tmp_path / "missing.toml")), r"spec file not found")


def test_toml_syntax_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "t"\n[domain\n')
    one_line_error(run_cli("spec", "validate", str(path)), r"bad.toml: TOML syntax error")


def test_unknown_component_name_with_did_you_mean(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL + '[miner]\nname = "convx"\n')
    one_line_error(run_cli("spec", "validate", str(path)),
                   r"\[miner\] unknown concept miner 'convx' \(did you mean 'convex'\?\)")


def test_wrong_param_type(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL + '[search]\nname = "puct"\nparams = { simulations = "lots" }\n')
    one_line_error(run_cli("run", str(path), "--out", str(tmp_path / "r")),
                   r"search 'puct': param 'simulations'.*'lots'")
    assert not (tmp_path / "r").exists()


BROKEN = "import conceptlab_no_such_dependency\n"
DUPLICATE = '''
from conceptlab import hookimpl
from conceptlab.testing.tictactoe import TicTacToe

class AnotherTicTacToe(TicTacToe):
    """Registers a name the built-ins already use."""

@hookimpl
def register_domains():
    return [AnotherTicTacToe]
'''


def test_plugin_that_fails_to_import_is_named_with_its_cause(plugin_installer):
    site = plugin_installer("conceptlab-broken", "conceptlab_broken", BROKEN, "broken")
    line = one_line_error(run_cli("plugins", pythonpath=site),
                          r"plugin 'broken' .*failed to import: ModuleNotFoundError: "
                          r"No module named 'conceptlab_no_such_dependency'")
    assert "--disable broken" in line
    assert run_cli("--disable", "broken", "plugins", pythonpath=site).returncode == 0


def test_two_plugins_registering_one_name_are_refused(plugin_installer):
    site = plugin_installer("conceptlab-dup", "conceptlab_dup", DUPLICATE, "dup")
    one_line_error(run_cli("plugins", pythonpath=site),
                   r"domain 'tictactoe' is registered by both plugin 'builtin.games' and plugin 'dup'")


@pytest.mark.parametrize("argv", [["--no-autoload", "plugins"], ["--disable", "builtin.games", "plugins"]])
def test_switches(argv):
    result = run_cli(*argv, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    if "--disable" in argv:
        assert "builtin.games" not in result.stdout
