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


START = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1"
CHESS_STUDY = {
    # concept -> (phase 1, phase 3): (position, the agent's line in UCI); the line starts with the agent's move
    "open-games": (
        [(f"{START} moves e2e4 e7e5 g1f3", ["b8c6", "f1b5", "a7a6"])],
        [(f"{START} moves d2d4 d7d5 c2c4", ["e7e6", "b1c3"])],
    ),
    "sicilian": (
        [(f"{START} moves e2e4 c7c5", ["g1f3", "d7d6", "d2d4"])],
        [("8/P7/8/8/8/8/k7/4K3 w - - 0 1", ["a7a8q"])],  # a bare FEN: no last move known
    ),
}
"""Chess puzzles for the study tests: Black and White to move, histories and a promotion."""


@pytest.fixture()
def chess_study_puzzles(tmp_path: Path) -> Path:
    """A chess puzzle set in ``tmp_path / "chess-puzzles"`` (concept ``sicilian`` a control), built by the registry's domain."""
    from conceptlab.plugins import get_registry
    from conceptlab.study import ConceptPuzzles, Puzzle, PuzzleSet, write_puzzle_set

    domain = get_registry().create("domain", "chess", {})

    def puzzle(text: str, line: list[str]) -> Puzzle:
        state = domain.from_text(text)
        action = domain.action_from_text(state, line[0])
        return Puzzle(text, line[0], action, tuple(line), 0.5)

    concepts = tuple(
        ConceptPuzzles(cid, cid == "sicilian", tuple(puzzle(*p) for p in phase1), tuple(puzzle(*p) for p in phase3))
        for cid, (phase1, phase3) in CHESS_STUDY.items()
    )
    return write_puzzle_set(tmp_path / "chess-puzzles",
                            PuzzleSet("chess", concepts, domain_params=dict(domain.params.model_dump())))
