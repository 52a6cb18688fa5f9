"""Puzzle sets for the study: read (and write) the export stage's ``puzzles/`` directory.

The layout (written by :mod:`conceptlab.stages.export`)::

    index.json              {"domain": NAME, "domain_params": {...},
                             "concepts": [{"id", "control", "phase1", "phase3"}, ...]}
    <concept>/phase1.json   [{"state", "solution", "solution_action", "line", "value"}, ...]
    <concept>/phase3.json   the same, other positions

Reading checks the structure and, given the domain, that every position parses
and that every solution is a legal move whose text matches its policy index, so
that a broken set fails when the study is created, not in front of a participant.
A position may be one puzzle only (compared by the domain's ``position_key``, or
by the text without a domain): a phase-3 puzzle that is also a phase-1 puzzle would
have its answer shown in phase 2.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conceptlab.errors import ConceptlabError
from conceptlab.interfaces.domain import Domain
from conceptlab.study.errors import PuzzleSetError
from conceptlab.values import Puzzle

__all__ = ["ConceptPuzzles", "Puzzle", "PuzzleSet", "load_puzzle_set", "write_puzzle_set"]

SCORED_PHASES: tuple[int, ...] = (1, 3)
"""The phases whose puzzles the participant answers (phase 2 shows phase 1's again)."""


@dataclass(frozen=True)
class ConceptPuzzles:
    """The puzzles of one concept: phase 1 (also shown in phase 2) and phase 3 (unseen)."""

    id: str
    """The concept's id (also the name of its folder)."""
    control: bool
    """Whether the concept failed a filter and is shown as a control."""
    phase1: tuple[Puzzle, ...]
    """Puzzles solved in phase 1 and shown with the agent's line in phase 2."""
    phase3: tuple[Puzzle, ...]
    """Unseen puzzles of the same concept, solved in phase 3."""


@dataclass(frozen=True)
class PuzzleSet:
    """Every concept's puzzles and the domain they are positions of."""

    domain: str
    """The registered name of the domain."""
    concepts: tuple[ConceptPuzzles, ...]
    """The concepts in the order of ``index.json``."""
    domain_params: Mapping[str, Any] = field(default_factory=dict)
    """The domain's params (e.g. which game of a family of games); empty for the domain's defaults."""

    def items(self) -> Iterator[tuple[ConceptPuzzles, int, int, Puzzle]]:
        """``(concept, phase, position, puzzle)`` for every puzzle, phase 1 before phase 3."""
        for concept in self.concepts:
            for phase, puzzles in ((1, concept.phase1), (3, concept.phase3)):
                for position, puzzle in enumerate(puzzles):
                    yield concept, phase, position, puzzle

    def fingerprint(self) -> str:
        """A SHA-256 of the set's canonical JSON: two sets with one fingerprint hold the same puzzles."""
        canonical: dict[str, Any] = {
            "domain": self.domain,
            "concepts": [
                {
                    "id": c.id,
                    "control": c.control,
                    "phase1": [p.to_json() for p in c.phase1],
                    "phase3": [p.to_json() for p in c.phase3],
                }
                for c in self.concepts
            ],
        }
        if self.domain_params:  # absent when empty, so sets made before params were recorded keep theirs
            canonical["domain_params"] = dict(self.domain_params)
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PuzzleSetError(f"puzzle file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PuzzleSetError(f"puzzle file {str(path)!r} is not readable JSON: {exc}") from None


def _puzzle(raw: Any, where: str) -> Puzzle:
    if not isinstance(raw, Mapping):
        raise PuzzleSetError(f"{where}: expected an object, got {raw!r}")
    missing = [k for k in ("state", "solution", "solution_action") if k not in raw]
    if missing:
        raise PuzzleSetError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    line = raw.get("line", [])
    if not isinstance(line, list) or not all(isinstance(m, str) for m in line):
        raise PuzzleSetError(f"{where}: 'line' must be a list of move texts, got {line!r}")
    try:
        return Puzzle(
            state=str(raw["state"]),
            solution=str(raw["solution"]),
            solution_action=int(raw["solution_action"]),
            line=tuple(line),
            value=float(raw.get("value", 0.0)),
        )
    except (TypeError, ValueError):
        raise PuzzleSetError(f"{where}: bad 'solution_action' or 'value' in {dict(raw)!r}") from None


def _check_against_domain(domain: Domain[Any], puzzle: Puzzle, where: str) -> None:
    try:
        state = domain.from_text(puzzle.state)
        legal = set(domain.legal_actions(state))
        if puzzle.solution_action not in legal:
            raise PuzzleSetError(
                f"{where}: solution_action {puzzle.solution_action!r} is not legal in {puzzle.state!r}"
            )
        text = domain.action_to_text(state, puzzle.solution_action)
    except PuzzleSetError:
        raise
    except ConceptlabError as exc:
        raise PuzzleSetError(f"{where}: {exc}") from None
    if text != puzzle.solution:
        raise PuzzleSetError(
            f"{where}: solution {puzzle.solution!r} does not match solution_action "
            f"{puzzle.solution_action} ({text!r})"
        )


def load_puzzle_set(directory: str | Path, domain: Domain[Any] | None = None) -> PuzzleSet:
    """Read a puzzles directory; with ``domain``, also check every position and solution.

    Raises:
        PuzzleSetError: naming the file and the problem.
    """
    root = Path(directory)
    if not root.is_dir():
        raise PuzzleSetError(f"puzzles directory {str(root)!r} does not exist")
    index = _read_json(root / "index.json")
    if not isinstance(index, Mapping) or not isinstance(index.get("domain"), str):
        raise PuzzleSetError(f"{str(root / 'index.json')!r}: expected an object with a 'domain' name")
    entries = index.get("concepts")
    if not isinstance(entries, list) or not entries:
        raise PuzzleSetError(f"{str(root / 'index.json')!r}: 'concepts' must be a non-empty list")
    params = index.get("domain_params", {})
    if not isinstance(params, Mapping):
        raise PuzzleSetError(f"{str(root / 'index.json')!r}: 'domain_params' must be an object, got {params!r}")
    if domain is not None and domain.name != index["domain"]:
        raise PuzzleSetError(
            f"puzzles in {str(root)!r} are of domain {index['domain']!r}, not {domain.name!r}"
        )
    concepts, seen = [], set()
    holders: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str) or not entry["id"]:
            raise PuzzleSetError(f"{str(root / 'index.json')!r}: bad concept entry {entry!r}")
        cid = entry["id"]
        if cid in seen or Path(cid).name != cid or cid in (".", ".."):
            raise PuzzleSetError(f"{str(root / 'index.json')!r}: duplicate or unsafe concept id {cid!r}")
        seen.add(cid)
        phases: dict[int, tuple[Puzzle, ...]] = {}
        for phase in SCORED_PHASES:
            path = root / cid / f"phase{phase}.json"
            raw = _read_json(path)
            if not isinstance(raw, list) or not raw:
                raise PuzzleSetError(f"{str(path)!r}: expected a non-empty list of puzzles")
            expected = entry.get(f"phase{phase}")
            if expected is not None and expected != len(raw):
                raise PuzzleSetError(
                    f"{str(path)!r}: index.json announces {expected!r} puzzles, the file holds {len(raw)}"
                )
            puzzles = tuple(_puzzle(p, f"{path}[{i}]") for i, p in enumerate(raw))
            for i, p in enumerate(puzzles):
                where = f"{path}[{i}]"
                if domain is not None:
                    _check_against_domain(domain, p, where)
                key = p.state if domain is None else domain.position_key(domain.from_text(p.state))
                if key in holders:
                    raise PuzzleSetError(
                        f"{holders[key]} and {where} are the same position {key!r}; a position may be "
                        "a puzzle of one concept and one phase only (phase 2 shows phase 1's answers)"
                    )
                holders[key] = where
            phases[phase] = puzzles
        concepts.append(
            ConceptPuzzles(cid, bool(entry.get("control", False)), phases[1], phases[3])
        )
    return PuzzleSet(domain=index["domain"], concepts=tuple(concepts), domain_params=dict(params))


def write_puzzle_set(directory: str | Path, puzzle_set: PuzzleSet) -> Path:
    """Write ``puzzle_set`` in the export stage's layout (e.g. for a hand-made study); returns the folder."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    index: list[dict[str, Any]] = []
    for concept in puzzle_set.concepts:
        folder = root / concept.id
        folder.mkdir(exist_ok=True)
        for phase, puzzles in ((1, concept.phase1), (3, concept.phase3)):
            (folder / f"phase{phase}.json").write_text(
                json.dumps([p.to_json() for p in puzzles], indent=2) + "\n", encoding="utf-8"
            )
        index.append({"id": concept.id, "control": concept.control,
                      "phase1": len(concept.phase1), "phase3": len(concept.phase3)})
    (root / "index.json").write_text(
        json.dumps({"domain": puzzle_set.domain, "domain_params": dict(puzzle_set.domain_params),
                    "concepts": index}, indent=2) + "\n", encoding="utf-8"
    )
    return root

