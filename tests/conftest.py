"""Shared test setup: quiet progress, one numeric thread, installable throwaway plugins."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conceptlab.testing.harness import install_plugin

os.environ.setdefault("CONCEPTLAB_PROGRESS", "0")


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> Iterator[None]:
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def plugin_installer(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``plugin_installer(dist, module, code, entry_point)`` -> a folder for ``PYTHONPATH``."""
    def install(dist: str, module: str, code: str, entry_point: str) -> Path:
        return install_plugin(tmp_path_factory.mktemp(dist) / "site", dist, module, code, entry_point)
    return install
