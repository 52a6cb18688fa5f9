"""Helpers for testing conceptlab and its plugins from the outside, as a user would.

:func:`run_cli` runs the ``conceptlab`` command in a subprocess;
:func:`install_plugin` builds and installs a throwaway plugin package into a
folder, for ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

__all__ = ["install_plugin", "run_cli"]


def install_plugin(target: Path, dist: str, module: str, code: str, entry_point: str) -> Path:
    """Build and install a one-module plugin package into ``target``; return ``target``.

    The package ``dist`` holds module ``module`` with ``code`` and names it under
    the entry-point group ``conceptlab`` as ``entry_point``. Needs setuptools in
    the running environment (the build is not isolated, so no network is used).
    """
    source = target.parent / f"{dist}-src"
    (source / module).mkdir(parents=True)
    (source / module / "__init__.py").write_text(code)
    (source / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{dist}"
        version = "0.1.0"

        [project.entry-points.conceptlab]
        {entry_point} = "{module}"

        [tool.setuptools]
        packages = ["{module}"]
    """))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        check=True, capture_output=True, text=True,
    )
    return target


def run_cli(*args: str, pythonpath: Path | None = None, cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``conceptlab ARGS`` in a subprocess; ``pythonpath`` adds installed plugins."""
    env = dict(os.environ, CONCEPTLAB_PROGRESS="0")
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, "-m", "conceptlab.cli", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
    )
