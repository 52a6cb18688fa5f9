"""The three-phase human study (method.md section 6), as a web app over exported puzzles.

- :mod:`~conceptlab.study.puzzles` reads the export stage's puzzles directory;
- :mod:`~conceptlab.study.store` keeps the study in SQLite (puzzles, participants, answers);
- :mod:`~conceptlab.study.scoring` scores phase 1 against phase 3, per concept and per arm;
- :mod:`~conceptlab.study.app` is the web app (participant and admin pages and API);
- :mod:`~conceptlab.study.commands` wires ``conceptlab study`` into the CLI.

The web app needs the ``study`` extra (FastAPI and uvicorn); the store and the
puzzles need only the standard library, the scores' intervals scipy. The study is
domain-free: boards, legal moves, move and player names, and any client-side
board all come from the study's Domain.
"""

from __future__ import annotations

from conceptlab.study.errors import StudyError
from conceptlab.study.puzzles import ConceptPuzzles, Puzzle, PuzzleSet, load_puzzle_set, write_puzzle_set
from conceptlab.study.store import StudyStore

__all__ = [
    "ConceptPuzzles",
    "Puzzle",
    "PuzzleSet",
    "StudyError",
    "StudyStore",
    "load_puzzle_set",
    "write_puzzle_set",
]
