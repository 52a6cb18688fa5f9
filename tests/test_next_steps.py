"""What ``conceptlab report`` says to do next, and that each printed command works on the tiny run.

The tiny run exports nothing (no concept passes both filters), as the chess demo may: the report
says so beside the null rates and prints the command that exports the strongest candidates as
control puzzles; that command re-runs the export stage alone, and the study it then points to
serves phase 1 of the exported puzzles.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conceptlab.spec import STAGES
from conceptlab.stages.export import strongest_candidates
from conceptlab.testing.harness import free_port, run_cli

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "specs" / "tictactoe-tiny.toml"


def _printed(stdout: str, label: str) -> list[str]:
    """The arguments after ``conceptlab`` of the command on the line that starts with ``label``."""
    line = next(line for line in stdout.splitlines() if line.startswith(label))
    words = shlex.split(line.split(": ", 1)[1] if label.endswith(":") else line.rsplit(": ", 1)[1])
    assert words[0] == "conceptlab", line
    return words[1:]


def _files(path: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(path)): (p.read_bytes(), p.stat().st_mtime_ns) for p in path.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("next") / "tiny"
    result = run_cli("run", str(TINY), "--out", str(out), "--quiet", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return out


def test_strongest_candidates_rank_by_filters_passed_then_p_value_then_effect():
    def verdict(passed: bool, p: float, effect: float) -> dict:
        return {"passed": passed, "scores": {"p_value": p, "effect": effect}}

    teach = {"a": verdict(False, 0.5, 0.1), "b": verdict(False, 0.01, 0.0), "c": verdict(True, 0.2, 0.0),
             "d": verdict(False, 0.01, 0.3), "e": verdict(False, float("nan"), 0.9)}
    novelty = {"c": {"passed": False}}
    assert strongest_candidates(teach, novelty, 4) == ["c", "d", "b", "a"]
    assert strongest_candidates(teach, {"b": {"passed": True}}, 2) == ["b", "c"]


def test_nothing_exported_then_controls_exported_then_the_study_serves_them(finished, tmp_path):
    report = run_cli("report", str(finished), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "exported: nothing, no concept passed both filters: teachable 0 of " in report.stdout
    assert "(null: random sparse directions " in report.stdout and "the agent against itself " in report.stdout
    command = _printed(report.stdout, "control puzzles of the strongest candidates")
    assert command[-2:] == ["--set", "stages.export.fallback=strongest"]

    before = {stage: _files(finished / stage) for stage in STAGES}
    rerun = run_cli(*command, "--quiet", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert "(discarded, run again when asked for): export\n" in rerun.stdout
    manifest = json.loads((finished / "manifest.json").read_text())
    assert manifest["runtime"]["discarded"] == ["export"]
    for stage in STAGES:
        if stage != "export":
            assert _files(finished / stage) == before[stage], f"{stage} ran again"
    index = json.loads((finished / "export" / "puzzles" / "index.json").read_text())
    assert index["fallback"] == "strongest" and index["concepts"]
    assert all(entry["control"] for entry in index["concepts"])
    assert manifest["stages"]["export"]["figures"]["fallback_controls"] == len(index["concepts"])

    report = run_cli("report", str(finished), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert f"0 concepts, {len(index['concepts'])} controls" in report.stdout
    assert "the puzzles are controls only" in report.stdout
    study = _printed(report.stdout, "study:")
    assert study[:2] == ["study", "serve"]

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "conceptlab.cli", *study, "--port", str(port), "--participants", "1"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        link = ""
        while not link:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            link = line.split(": ", 1)[1].strip() if line.startswith("participant 1") else ""
        token = link.rsplit("/", 1)[1]
        deadline = time.monotonic() + 60
        while True:
            try:
                state = httpx.get(f"http://127.0.0.1:{port}/api/p/{token}", timeout=5).json()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the study server did not start"
                time.sleep(0.1)
        assert state["phase"] == 1 and state["puzzle"]["phase"] == 1
        phase1 = {
            p["state"] for entry in index["concepts"]
            for p in json.loads((finished / "export" / "puzzles" / entry["id"] / "phase1.json").read_text())
        }
        assert state["puzzle"]["state"] in phase1 and state["puzzle"]["moves"]
        assert state["phases"]["1"]["total"] == len(phase1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
