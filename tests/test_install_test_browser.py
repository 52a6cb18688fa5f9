"""scripts/install-test-browser.sh, run against stand-in ``id`` and ``apt-get`` commands.

The stand-ins record their calls, so no package is installed and the machine's
own browser is never touched; ``CONCEPTLAB_CHROMIUM`` points the script at a
path under the test's temporary folder.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install-test-browser.sh"


def _command(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _run(tmp_path: Path, uid: int, creates_browser: bool) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    stubs = tmp_path / "bin"
    stubs.mkdir()
    browser = tmp_path / "usr-bin" / "chromium"
    calls = tmp_path / "apt-calls.txt"
    _command(stubs, "id", f'[ "$1" = "-u" ] && echo {uid}')
    install = f'mkdir -p "{browser.parent}" && printf "#!/bin/sh\\n" > "{browser}" && chmod +x "{browser}"'
    _command(
        stubs, "apt-get",
        f'echo "$*" >> "{calls}"\n' + (f'if [ "$1" = "install" ]; then {install}; fi' if creates_browser else ""),
    )
    env = {**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "CONCEPTLAB_CHROMIUM": str(browser)}
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    return done, browser, calls


def test_does_nothing_when_the_browser_is_there(tmp_path: Path) -> None:
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    stubs = tmp_path / "bin"
    stubs.mkdir()
    _command(stubs, "apt-get", f'echo "$*" >> "{tmp_path / "apt-calls.txt"}"')
    env = {**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "CONCEPTLAB_CHROMIUM": str(browser)}
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout == done.stderr == ""
    assert not (tmp_path / "apt-calls.txt").exists()


def test_root_installs_chromium_with_apt(tmp_path: Path) -> None:
    done, browser, calls = _run(tmp_path, uid=0, creates_browser=True)
    assert done.returncode == 0, done.stderr
    assert calls.read_text().splitlines() == ["update", "install -y chromium"]
    assert os.access(browser, os.X_OK)


def test_a_user_is_told_how_to_install_it(tmp_path: Path) -> None:
    done, browser, calls = _run(tmp_path, uid=1000, creates_browser=False)
    assert done.returncode == 0
    assert "apt-get install -y chromium" in done.stderr and str(browser) in done.stderr
    assert not calls.exists() and not browser.exists()


def test_fails_when_apt_leaves_no_browser(tmp_path: Path) -> None:
    done, browser, calls = _run(tmp_path, uid=0, creates_browser=False)
    assert done.returncode == 1
    assert "still missing" in done.stderr
    assert calls.read_text().splitlines() == ["update", "install -y chromium"]


@pytest.mark.parametrize("uid", [0, 1000])
def test_is_idempotent(tmp_path: Path, uid: int) -> None:
    first, browser, calls = _run(tmp_path, uid=uid, creates_browser=True)
    assert first.returncode == 0
    before = calls.read_text() if calls.exists() else ""
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}", "CONCEPTLAB_CHROMIUM": str(browser)}
    second = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert second.returncode == 0
    assert (calls.read_text() if calls.exists() else "") == before
