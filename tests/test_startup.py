"""Start-up cost: listing, help and spec errors import no heavy library.

Plugins register components by import path, the plugins' packages import
their modules on first use, and commands import what they need when they run;
so ``conceptlab --help``, ``--version``, ``plugins`` and a spec error never
import torch, cvxpy, pyspiel or ray. Each command runs in a fresh interpreter
through a small wrapper that records ``sys.modules`` and the CPU seconds used
when the command is done; the seconds are printed, not asserted.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HEAVY = ("torch", "cvxpy", "pyspiel", "open_spiel", "ray")
"""Top-level modules that none of these commands may import."""

WRAPPER = """
import json, os, resource, sys
from conceptlab.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
usage = resource.getrusage(resource.RUSAGE_SELF)
with open(os.environ["CONCEPTLAB_TEST_REPORT"], "w") as report:
    json.dump({"code": code, "modules": sorted(sys.modules),
               "cpu_seconds": usage.ru_utime + usage.ru_stime}, report)
"""

BAD_SPEC = 'name = "t"\n[domain]\nname = "tictactoe"\n[agent]\nname = "pvnet"\n[stages.colect]\ngames = 2\n'


def _run(tmp_path: Path, *argv: str) -> tuple[dict, subprocess.CompletedProcess[str]]:
    report = tmp_path / "report.json"
    env = dict(os.environ, CONCEPTLAB_TEST_REPORT=str(report), CONCEPTLAB_PROGRESS="0")
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert report.exists(), result.stderr
    return json.loads(report.read_text()), result


def _entry_point_modules() -> list[str]:
    return [ep.value.split(":")[0] for ep in metadata.entry_points(group="conceptlab")]


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--help"], 0),
        (["--version"], 0),
        (["plugins"], 0),
        (["run", "missing.toml"], 2),
        (["run", "bad.toml"], 2),
        (["spec", "validate", "bad.toml"], 2),
    ],
    ids=["help", "version", "plugins", "missing-spec", "invalid-spec-run", "invalid-spec-validate"],
)
def test_command_imports_no_heavy_library(tmp_path, capsys, argv, code):
    (tmp_path / "bad.toml").write_text(BAD_SPEC)
    report, result = _run(tmp_path, *argv)
    assert report["code"] == code, result.stderr
    modules = set(report["modules"])
    # the plugins were loaded (their entry points imported), yet nothing heavy came with them
    assert set(_entry_point_modules()) <= modules
    assert "conceptlab.builtin.agents" in modules
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert not heavy, f"conceptlab {' '.join(argv)} imported {heavy[:8]}"
    with capsys.disabled():
        print(f"\n  conceptlab {' '.join(argv)}: {report['cpu_seconds']:.2f} s CPU")


def test_plugins_lists_lazily_registered_components_without_importing_them(tmp_path):
    report, result = _run(tmp_path, "plugins")
    assert "agent: pvnet - (conceptlab.agents.pvnet:PVNetAgent)" in result.stdout
    assert "--params imports each one" in result.stdout.splitlines()[-1]
    assert "conceptlab.agents.pvnet" not in report["modules"]


def test_plugins_with_params_imports_and_describes_each_component(tmp_path):
    _, result = _run(tmp_path, "--no-autoload", "plugins", "--params")
    assert result.returncode == 0, result.stderr
    block = result.stdout.split("search: puct - ", 1)[1]
    assert block.startswith("PUCT Monte-Carlo tree search")
    assert "simulations: int = 100" in block.split("builtin.miners", 1)[0]
