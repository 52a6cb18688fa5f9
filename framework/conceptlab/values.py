"""Small frozen values that cross between components.

Components exchange these, never each other's internals: a search returns a
:class:`SearchResult`, rollout extraction a :class:`RolloutSet`, a miner a
:class:`MinedVector`, the mine stage a :class:`Concept`, a filter a
:class:`Verdict`. Arrays are numpy arrays; their reprs show shape and dtype so
that a value still reads like the call that made it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeAlias, TypeVar

import numpy as np

__all__ = [
    "Action",
    "CheckpointInfo",
    "Concept",
    "ConceptProblem",
    "Evaluation",
    "MinedVector",
    "Player",
    "Puzzle",
    "Rollout",
    "RolloutSet",
    "SearchResult",
    "Verdict",
]

Action: TypeAlias = int
"""An action is its policy index: ``0 <= action < Domain.num_actions``."""

Player: TypeAlias = int
"""A player id, ``0`` or ``1`` in two-player games (``0`` moves first)."""

S = TypeVar("S")


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array(shape={value.shape}, dtype={value.dtype})"
    return repr(value)


def _repr(obj: Any) -> str:
    parts = (
        f"{f.name}={_short(getattr(obj, f.name))}"
        for f in dataclasses.fields(obj)
        if f.repr
    )
    return f"{type(obj).__name__}({', '.join(parts)})"


@dataclass(frozen=True, repr=False)
class Evaluation:
    """What an agent says about a batch of states, from one forward pass."""

    policy: np.ndarray
    """``(batch, num_actions)`` float32 probabilities; zero on illegal actions."""
    value: np.ndarray
    """``(batch,)`` float32 expected outcome in ``[-1, 1]`` for the player to move."""
    activations: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Layer name -> ``(batch, ...)`` float32 activations of the requested layers."""

    __repr__ = _repr


@dataclass(frozen=True, repr=False)
class SearchResult(Generic[S]):
    """The outcome of one search from a root state."""

    state: S
    """The root state searched from."""
    actions: tuple[Action, ...]
    """Legal actions at the root, in the order of the arrays below."""
    visit_counts: np.ndarray
    """``(len(actions),)`` int64 visits of each root child."""
    q_values: np.ndarray
    """``(len(actions),)`` float64 mean value of each child for the root player
    (``nan`` for an unvisited child)."""
    priors: np.ndarray
    """``(len(actions),)`` float64 prior of each child (after root noise)."""
    chosen_action: Action
    """The action the search plays (by visit count and temperature)."""
    principal_variation: tuple[Action, ...]
    """Most-visited line from the root."""
    root_value: float
    """Mean value of the root for the player to move there."""
    simulations: int
    """Number of simulations run for this result."""
    tree: Any = field(default=None, compare=False)
    """The search tree's root node (the search's own node type)."""

    __repr__ = _repr

    def visit_distribution(self, num_actions: int) -> np.ndarray:
        """Visit counts as a dense ``(num_actions,)`` probability vector."""
        dense = np.zeros(num_actions, dtype=np.float32)
        total = self.visit_counts.sum()
        if total > 0:
            dense[list(self.actions)] = self.visit_counts / total
        return dense


@dataclass(frozen=True, repr=False)
class Rollout(Generic[S]):
    """A line of play read off a search tree.

    ``states[0]`` is the state the line starts from (the root for the chosen
    rollout, the branching state for a subpar one); ``states[i + 1]`` follows
    ``actions[i]``.
    """

    states: tuple[S, ...]
    actions: tuple[Action, ...]
    branch_depth: int
    """Ply at which the line leaves the chosen rollout; ``-1`` for the chosen one."""
    value: float = float("nan")
    """Search value of the line's first move for the player making it."""
    visits: int = 0
    """Visit count of the line's first move."""

    __repr__ = _repr


@dataclass(frozen=True, repr=False)
class RolloutSet(Generic[S]):
    """The chosen rollout from a root and the subpar rollouts that branch off it."""

    chosen: Rollout[S]
    subpar: tuple[Rollout[S], ...]

    __repr__ = _repr


@dataclass(frozen=True, repr=False)
class ConceptProblem:
    """Paired activations for mining one concept.

    Row ``i`` of ``positive`` should score higher along the concept than row
    ``i`` of ``negative`` (``v . positive[i] >= v . negative[i]``). The held-out
    pairs are never seen by the miner; they measure how well a vector generalises.
    """

    positive: np.ndarray
    """``(pairs, dim)`` float activations where the concept should be present."""
    negative: np.ndarray
    """``(pairs, dim)`` float activations where it should be less present."""
    held_out_positive: np.ndarray
    held_out_negative: np.ndarray
    description: str = ""

    __repr__ = _repr

    @property
    def dim(self) -> int:
        """Dimension of the activation space."""
        return int(self.positive.shape[1])


@dataclass(frozen=True, repr=False)
class MinedVector:
    """What a miner returns for one problem."""

    vector: np.ndarray | None
    """``(dim,)`` float64 concept direction, or ``None`` when mining failed."""
    status: str
    """Solver or method status, e.g. ``"optimal"``, ``"infeasible"``, ``"degenerate"``."""
    reason: str = ""
    """A sentence for a person when ``vector`` is ``None`` (or a warning otherwise)."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Method-specific numbers (objective, slack used, solve time, ...)."""

    __repr__ = _repr

    @property
    def ok(self) -> bool:
        """Whether a vector was found."""
        return self.vector is not None


@dataclass(frozen=True, repr=False)
class Concept:
    """A mined concept: a direction in one layer, with where it came from."""

    id: str
    """Stable id within a run, e.g. ``"c0007-block4-active-all"``."""
    layer: str
    vector: np.ndarray
    """``(dim,)`` float64 direction in the layer's flattened activation space."""
    provenance: Mapping[str, Any]
    """Run, position (text form), miner name and params, sign, steps, ..."""
    metrics: Mapping[str, float]
    """Sparsity, train and held-out constraint satisfaction, solve time, ..."""

    __repr__ = _repr

    def presence(self, activations: np.ndarray) -> np.ndarray:
        """``v . z`` for each row of ``(batch, ...)`` activations."""
        flat = activations.reshape(activations.shape[0], -1)
        return flat @ self.vector


@dataclass(frozen=True)
class Verdict:
    """A filter's decision on one concept, with its numbers and a reason."""

    concept_id: str
    filter: str
    """The filter's registered name."""
    passed: bool
    scores: Mapping[str, float]
    """Every number the decision used (effects, bounds, scores per k, ...)."""
    reason: str
    """One or two sentences a person can read."""


@dataclass(frozen=True)
class CheckpointInfo:
    """Metadata stored with an agent checkpoint."""

    path: str
    step: int
    """Training step (iteration) that produced it."""
    games: int
    """Self-play or training games seen so far."""
    architecture: Mapping[str, Any]
    """The agent's name and params: loading checks these match."""
    sha256: str = ""
    """Hash of the weights, for provenance."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    file_sha256: str = ""
    """SHA-256 of the checkpoint file as the run recorded it (hex); loading the series
    through a run checks the file still has it. Empty where nothing recorded it (an
    agent's own ``load``, runs recorded before the field existed)."""


@dataclass(frozen=True)
class Puzzle:
    """One position to solve, with the agent's answer (written by export, read by the study)."""

    state: str
    """The position in the domain's text form (``Domain.to_text``; FEN for chess)."""
    solution: str
    """The agent's move in the domain's action text (``Domain.action_to_text``)."""
    solution_action: int
    """The agent's move as a policy index; a participant's move solves the puzzle when it equals this."""
    line: tuple[str, ...] = ()
    """The agent's principal variation from ``state``, as action texts (shown in phase 2)."""
    value: float = 0.0
    """The agent's value of ``state`` for the player to move."""

    def to_json(self) -> dict[str, Any]:
        """The export stage's JSON form."""
        return {
            "state": self.state,
            "solution": self.solution,
            "solution_action": self.solution_action,
            "line": list(self.line),
            "value": self.value,
        }
