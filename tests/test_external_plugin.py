"""The plugin of docs/writing_plugins.md, installed outside the repository, used like a built-in."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pytest

from conceptlab.testing.contract import check_component
from conceptlab.testing.harness import run_cli

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "writing_plugins.md"


def doc_plugin_code() -> str:
    return re.search(r"```python\n(\"\"\"A conceptlab plugin.+?)```", DOC.read_text(), re.S).group(1)


@pytest.fixture(scope="module")
def site(plugin_installer) -> Path:
    return plugin_installer("conceptlab-subtraction", "conceptlab_subtraction", doc_plugin_code(), "subtraction")


def test_the_documented_plugin_is_under_50_lines():
    assert len(doc_plugin_code().splitlines()) < 50


def test_conceptlab_plugins_shows_its_components(site):
    result = run_cli("plugins", pythonpath=site)
    assert result.returncode == 0, result.stderr
    block = result.stdout.split("subtraction  (conceptlab-subtraction 0.1.0)", 1)[1]
    assert "domain: subtraction" in block
    assert "concept miner: sign-of-difference" in block


def test_its_components_honour_the_contracts(site, monkeypatch):
    monkeypatch.syspath_prepend(str(site))
    module = importlib.import_module("conceptlab_subtraction")
    try:
        assert "action text round-trip" in check_component(module.Subtraction)
        assert "finds a vector for an easy problem" in check_component(module.SignOfDifference)
    finally:
        sys.modules.pop("conceptlab_subtraction", None)


SPEC = '''
name = "subtraction-tiny"
seed = 4
[executor]
name = "serial"
[domain]
name = "subtraction"
[agent]
name = "pvnet"
params = { hidden = 16, blocks = 1 }
[search]
name = "puct"
params = { simulations = 16, batch_size = 4 }
[miner]
name = "sign-of-difference"
[stages.train]
iterations = 1
games_per_iteration = 4
[stages.collect]
games = 4
positions_examined = 40
pool_size = 40
reference_player = "random"
reference_size = 10
[stages.collect.rollout]
plies = 2
'''


@pytest.mark.slow
def test_a_spec_selecting_them_validates_and_runs(site, tmp_path):
    spec = tmp_path / "subtraction.toml"
    spec.write_text(SPEC)
    assert run_cli("spec", "validate", str(spec), pythonpath=site).returncode == 0
    result = run_cli("run", str(spec), "--out", str(tmp_path / "run"), pythonpath=site)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert all(rec["status"] == "finished" for rec in manifest["stages"].values())
    candidates = [json.loads(p.read_text()) for p in (tmp_path / "run" / "mine" / "candidates").glob("*.json")]
    assert candidates and {c["miner"]["name"] for c in candidates} == {"sign-of-difference"}
