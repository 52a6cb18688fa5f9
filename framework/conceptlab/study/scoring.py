"""Scores of the study: per participant, per concept and per arm, phase 1 against phase 3.

A puzzle is solved when the participant's move is the agent's move
(method.md section 6). For a set of puzzles, ``rate`` is solved / total, with
unanswered puzzles counting as unsolved; the **gain** is phase 3's rate minus
phase 1's, reported once the participant has finished phase 3 (before that it
is ``None``, not a misleading negative). ``gain_puzzles`` is phase 3's solved
count minus phase 1's, per concept: the paper's "+0.85 puzzles per concept".

Concepts marked ``control`` (they failed a filter) form the control arm and are
scored apart from the concepts under study; a study without controls has no
control arm. Each arm's mean gain comes with a :data:`CONFIDENCE` Student-t
interval over the finished participants, and, with both arms, the paired
difference (each finished participant's concepts gain minus their control gain)
with its own interval: a gain on both arms is practice, the difference is what
teaching adds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from conceptlab.stats import mean_interval
from conceptlab.study.store import Answer, Participant, StoredPuzzle, StudyStore

__all__ = [
    "ArmScore", "ConceptScore", "ParticipantScore", "PhaseScore", "answers_csv", "score_study", "scores_csv",
    "summary_json",
]

ARMS: tuple[str, ...] = ("concepts", "control")
CONFIDENCE = 0.95
"""The level of the admin summary's intervals for the mean gains."""


@dataclass(frozen=True)
class PhaseScore:
    """Solved, answered and total puzzles of one phase."""

    solved: int
    """Puzzles answered with the agent's move."""
    answered: int
    """Puzzles answered at all."""
    total: int
    """Puzzles in the phase."""

    @property
    def rate(self) -> float:
        """``solved / total`` (0 for an empty phase)."""
        return self.solved / self.total if self.total else 0.0

    @property
    def complete(self) -> bool:
        """Whether every puzzle is answered."""
        return self.answered == self.total


def _phase(puzzles: Iterable[StoredPuzzle], answers: dict[int, Answer]) -> PhaseScore:
    ids = [p.id for p in puzzles]
    return PhaseScore(
        solved=sum(1 for i in ids if i in answers and answers[i].solved),
        answered=sum(1 for i in ids if i in answers),
        total=len(ids),
    )


def _gain(phase1: PhaseScore, phase3: PhaseScore) -> float | None:
    return phase3.rate - phase1.rate if phase1.complete and phase3.complete else None


@dataclass(frozen=True)
class ConceptScore:
    """One participant's scores on one concept."""

    concept: str
    """The concept's id."""
    control: bool
    """Whether the concept is in the control arm."""
    phase1: PhaseScore
    """Phase 1 (before seeing the agent's lines)."""
    phase3: PhaseScore
    """Phase 3 (unseen puzzles, after phase 2)."""

    @property
    def gain(self) -> float | None:
        """Phase 3 rate minus phase 1 rate; ``None`` until both are complete."""
        return _gain(self.phase1, self.phase3)

    @property
    def gain_puzzles(self) -> int | None:
        """Phase 3 solved minus phase 1 solved; ``None`` until both are complete."""
        return self.phase3.solved - self.phase1.solved if self.gain is not None else None


@dataclass(frozen=True)
class ArmScore:
    """One participant's scores over the concepts of one arm."""

    phase1: PhaseScore
    """Phase 1 over the arm's concepts."""
    phase3: PhaseScore
    """Phase 3 over the arm's concepts."""
    concepts: int
    """Number of concepts in the arm."""

    @property
    def gain(self) -> float | None:
        """Phase 3 rate minus phase 1 rate; ``None`` until both are complete."""
        return _gain(self.phase1, self.phase3)

    @property
    def gain_per_concept(self) -> float | None:
        """Mean of phase 3 solved minus phase 1 solved per concept; ``None`` until complete."""
        if self.gain is None or not self.concepts:
            return None
        return (self.phase3.solved - self.phase1.solved) / self.concepts


@dataclass(frozen=True)
class ParticipantScore:
    """A participant's progress and scores."""

    participant: Participant
    """Who."""
    phase: int
    """The open phase (1-3), or 4 when finished."""
    arms: dict[str, ArmScore]
    """``"concepts"`` and, if the study has controls, ``"control"``."""
    concepts: tuple[ConceptScore, ...]
    """Per concept, in index order."""


def score_study(store: StudyStore) -> list[ParticipantScore]:
    """Score every participant of the study in ``store``."""
    by_participant: dict[int, dict[int, Answer]] = {}
    for answer in store.answers():
        by_participant.setdefault(answer.participant_id, {})[answer.puzzle_id] = answer
    concepts = store.concepts()
    puzzles = store.puzzles()
    out = []
    for participant in store.participants():
        answers = by_participant.get(participant.id, {})
        per_concept = tuple(
            ConceptScore(
                cid, control,
                _phase((p for p in puzzles if p.concept == cid and p.phase == 1), answers),
                _phase((p for p in puzzles if p.concept == cid and p.phase == 3), answers),
            )
            for cid, control in concepts
        )
        arms = {}
        for arm in ARMS:
            members = {cid for cid, control in concepts if control == (arm == "control")}
            if members:
                arms[arm] = ArmScore(
                    _phase((p for p in puzzles if p.concept in members and p.phase == 1), answers),
                    _phase((p for p in puzzles if p.concept in members and p.phase == 3), answers),
                    len(members),
                )
        out.append(ParticipantScore(participant, store.progress(participant).phase, arms, per_concept))
    return out


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return fmean(present) if present else None


def summary_json(scores: Sequence[ParticipantScore]) -> dict[str, Any]:
    """The admin page's data: per participant, per concept means, per arm means over finished participants."""
    def phase_json(s: PhaseScore) -> dict[str, Any]:
        return {"solved": s.solved, "answered": s.answered, "total": s.total, "rate": s.rate}

    participants = [
        {
            "id": s.participant.id,
            "label": s.participant.label,
            "phase": s.phase,
            "finished": s.phase == 4,
            "arms": {
                arm: {"phase1": phase_json(a.phase1), "phase3": phase_json(a.phase3),
                      "gain": a.gain, "gain_per_concept": a.gain_per_concept}
                for arm, a in s.arms.items()
            },
            "concepts": [
                {"concept": c.concept, "control": c.control, "phase1": phase_json(c.phase1),
                 "phase3": phase_json(c.phase3), "gain": c.gain, "gain_puzzles": c.gain_puzzles}
                for c in s.concepts
            ],
        }
        for s in scores
    ]
    concept_ids = [(c.concept, c.control) for c in scores[0].concepts] if scores else []
    concepts = [
        {
            "concept": cid, "control": control,
            "mean_gain": _mean(c.gain for s in scores for c in s.concepts if c.concept == cid),
            "mean_gain_puzzles": _mean(
                c.gain_puzzles for s in scores for c in s.concepts if c.concept == cid
            ),
            "finished": sum(1 for s in scores for c in s.concepts if c.concept == cid and c.gain is not None),
        }
        for cid, control in concept_ids
    ]
    arms = {
        arm: {
            "mean_phase1": _mean(s.arms[arm].phase1.rate for s in scores if s.arms[arm].gain is not None),
            "mean_phase3": _mean(s.arms[arm].phase3.rate for s in scores if s.arms[arm].gain is not None),
            "mean_gain": _mean(s.arms[arm].gain for s in scores),
            **_interval("gain", [s.arms[arm].gain for s in scores]),
            "mean_gain_per_concept": _mean(s.arms[arm].gain_per_concept for s in scores),
            "finished": sum(1 for s in scores if s.arms[arm].gain is not None),
        }
        for arm in ARMS
        if scores and arm in scores[0].arms
    }
    difference = None
    if len(arms) == 2:
        paired = [
            s.arms["concepts"].gain - s.arms["control"].gain  # type: ignore[operator]
            for s in scores
            if s.arms["concepts"].gain is not None and s.arms["control"].gain is not None
        ]
        difference = {"mean": _mean(paired), **_interval("mean", paired), "finished": len(paired)}
    return {"participants": participants, "concepts": concepts, "arms": arms,
            "concepts_minus_control": difference, "confidence": CONFIDENCE}


def _interval(key: str, values: Sequence[float | None]) -> dict[str, float | None]:
    """``{key}_ci_low`` and ``{key}_ci_high``: the :data:`CONFIDENCE` interval of the present values' mean.

    Both are ``None`` with fewer than two values.
    """
    interval = mean_interval([v for v in values if v is not None], CONFIDENCE)
    low, high = interval if interval is not None else (None, None)
    return {f"{key}_ci_low": low, f"{key}_ci_high": high}


CSV_COLUMNS: tuple[str, ...] = (
    "participant", "label", "phase", "arm", "concept",
    "phase1_solved", "phase1_answered", "phase1_total",
    "phase3_solved", "phase3_answered", "phase3_total",
    "phase1_rate", "phase3_rate", "gain", "gain_puzzles",
)


def scores_csv(scores: Sequence[ParticipantScore]) -> str:
    """One row per participant and concept, plus one per participant and arm (``concept`` = ``*``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def fmt(value: float | int | None) -> str:
        if value is None:
            return ""
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    for s in scores:
        rows: list[tuple[str, str, PhaseScore, PhaseScore, float | None, float | None]] = [
            ("control" if c.control else "concepts", c.concept, c.phase1, c.phase3, c.gain, c.gain_puzzles)
            for c in s.concepts
        ]
        rows += [(arm, "*", a.phase1, a.phase3, a.gain, a.gain_per_concept) for arm, a in s.arms.items()]
        for arm, concept, p1, p3, gain, gain_puzzles in rows:
            writer.writerow([
                s.participant.id, s.participant.label, s.phase, arm, concept,
                p1.solved, p1.answered, p1.total, p3.solved, p3.answered, p3.total,
                fmt(p1.rate), fmt(p3.rate), fmt(gain), fmt(gain_puzzles),
            ])
    return buffer.getvalue()


ANSWER_COLUMNS: tuple[str, ...] = (
    "participant", "label", "concept", "control", "phase", "puzzle_id", "state",
    "move", "solution", "solved", "answered_at",
)


def answers_csv(store: StudyStore) -> str:
    """Every stored answer, one row each, in commit order, with its puzzle and the agent's move."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ANSWER_COLUMNS)
    labels = {p.id: p.label for p in store.participants()}
    for a in store.answers():
        puzzle = store.puzzle(a.puzzle_id)
        writer.writerow([
            a.participant_id, labels.get(a.participant_id, ""), puzzle.concept, int(puzzle.control),
            puzzle.phase, puzzle.id, puzzle.puzzle.state, a.move, puzzle.puzzle.solution,
            int(a.solved), a.answered_at,
        ])
    return buffer.getvalue()
