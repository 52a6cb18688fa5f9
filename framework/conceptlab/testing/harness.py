"""Helpers for testing conceptlab and its plugins from the outside, as a user would.

:func:`run_cli` runs the ``conceptlab`` command in a subprocess;
:func:`install_plugin` builds and installs a throwaway plugin package into a
folder, for ``PYTHONPATH``; :func:`free_port` and :func:`serve_app` run a web app
on loopback for the length of a test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["free_port", "install_plugin", "run_cli", "serve_app"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_app(app: Any, *, port: int | None = None, **config: Any) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn on 127.0.0.1 in a thread; yield its base URL.

    ``config`` goes to ``uvicorn.Config``. The server is stopped on exit.
    """
    import uvicorn

    port = port or free_port()
    config.setdefault("log_level", "warning")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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
