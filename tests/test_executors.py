"""The local executor's worker processes: none outlives the process that started them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "specs" / "tictactoe-tiny.toml"

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of process ``pid`` from /proc, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[1])


def _workers_of(parent: int) -> list[int]:
    """The multiprocessing workers that ``parent`` started (spawn start method), by pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if stat is not None and stat[1] == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (an exited process nobody has reaped yet does not count)."""
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def test_workers_exit_when_the_run_is_killed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = dict(os.environ, CONCEPTLAB_PROGRESS="0", OMP_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "conceptlab.cli", "run", str(TINY), "--out", str(out), "--quiet",
         "--set", 'executor.name="local"', "--set", "executor.workers=2"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            workers = _workers_of(proc.pid)
        assert len(workers) == 2, "the run started no pool of 2 workers"
        time.sleep(1.0)  # mid-stage: the workers are importing or running units
        manifest = json.loads((out / "manifest.json").read_text())
        assert any(s.get("status") == "running" for s in manifest["stages"].values()), manifest["stages"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if _alive(pid)]
        assert not left, f"workers {left} outlived the killed run"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in [p for p in workers if _alive(p)]:  # only what this test started, so no stray pool stays
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
