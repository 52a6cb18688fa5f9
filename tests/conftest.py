"""Shared test setup: quiet progress, the thread policy, installable throwaway plugins."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from conceptlab.testing.harness import install_plugin
from conceptlab.threads import apply_thread_policy

os.environ.setdefault("CONCEPTLAB_PROGRESS", "0")
# the policy every conceptlab process applies (one numeric thread unless CONCEPTLAB_THREADS
# says otherwise), set before any test module imports torch
apply_thread_policy()


@pytest.fixture(scope="session")
def plugin_installer(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``plugin_installer(dist, module, code, entry_point)`` -> a folder for ``PYTHONPATH``."""
    def install(dist: str, module: str, code: str, entry_point: str) -> Path:
        return install_plugin(tmp_path_factory.mktemp(dist) / "site", dist, module, code, entry_point)
    return install
