"""Shared fixtures of the chess plugin's tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conceptlab_chess.domain import ChessDomain  # noqa: E402


@pytest.fixture
def domain() -> ChessDomain:
    """The chess domain with default params (history 8)."""
    return ChessDomain()
