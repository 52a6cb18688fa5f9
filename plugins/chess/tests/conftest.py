"""Shared fixtures of the chess plugin's tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conceptlab_chess.domain import ChessDomain  # noqa: E402


@pytest.fixture
def domain() -> ChessDomain:
    """The chess domain with default params (history 8)."""
    return ChessDomain()


@pytest.fixture(scope="session")
def maia_weights() -> Path:
    """The fetched Maia-1900 weights file. Without it the test skips, and fails instead when
    ``CONCEPTLAB_REQUIRE_MAIA=1`` (as CI sets it: ``make test`` fetches it)."""
    from conceptlab.errors import CheckpointError

    from conceptlab_chess.lc0.named import resolve

    try:
        return resolve("maia-1900")
    except CheckpointError as exc:
        if os.environ.get("CONCEPTLAB_REQUIRE_MAIA") == "1":
            pytest.fail(f"Maia-1900 is needed: {exc} (CONCEPTLAB_REQUIRE_MAIA=1)", pytrace=False)
        pytest.skip(f"Maia-1900 is not fetched: {exc}")


@pytest.fixture(scope="session")
def stockfish_path() -> str:
    """The Stockfish binary. Without it the test skips, and fails instead when
    ``CONCEPTLAB_REQUIRE_STOCKFISH=1`` (as CI sets it: ``make test`` installs it)."""
    from conceptlab_chess.stockfish import StockfishNotFoundError, find_stockfish

    try:
        return find_stockfish()
    except StockfishNotFoundError as exc:
        if os.environ.get("CONCEPTLAB_REQUIRE_STOCKFISH") == "1":
            pytest.fail(f"Stockfish is needed: {exc} (CONCEPTLAB_REQUIRE_STOCKFISH=1)", pytrace=False)
        pytest.skip(str(exc))
