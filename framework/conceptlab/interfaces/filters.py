"""The TeachabilityFilter and NoveltyFilter interfaces: concepts in, verdicts out."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from conceptlab.interfaces.agent import TrainableAgent
from conceptlab.interfaces.component import Component
from conceptlab.interfaces.domain import Domain
from conceptlab.values import CheckpointInfo, Concept, Verdict

__all__ = ["NoveltyContext", "NoveltyFilter", "TeachabilityContext", "TeachabilityFilter"]


@dataclass(frozen=True)
class TeachabilityContext:
    """What a teachability filter may use, prepared once per run."""

    domain: Domain[Any]
    teacher: TrainableAgent[Any]
    """The final agent."""
    checkpoints: Sequence[CheckpointInfo]
    """Earlier checkpoints, oldest first: candidate students."""
    pool_states: Sequence[Any]
    """Self-play positions the prototypes are drawn from."""
    pool_activations: Mapping[str, np.ndarray]
    """Layer -> ``(len(pool_states), dim)`` teacher activations of the pool."""
    concept_support: Mapping[str, Sequence[int]] = field(default_factory=dict)
    """Concept id -> indices into ``pool_states`` of the positions whose own rollouts satisfy
    the concept's constraints (a dynamic concept's prototypes); absent ids fall back to the
    top of the pool proper by ``v . z``."""
    pool_proper: int | None = None
    """How many of the first ``pool_states`` are the self-play pool proper; the others (e.g. the
    root states of rollouts) are there only for ``concept_support`` to name. Prototypes by
    ``v . z`` and random control positions come from the pool proper. ``None``: all of them."""
    pool_groups: Sequence[int] | None = None
    """The game each pool state comes from (``None``: unknown). Filters split prototypes by
    it, so that no game has positions on both sides of a train/test split."""
    students: Sequence[tuple[CheckpointInfo, TrainableAgent[Any]]] = ()
    """Candidate students given as agents, oldest first, each with a record naming it (e.g. a
    model of human play, of another architecture than the teacher); when given, they are
    the candidates instead of ``checkpoints``."""


@dataclass(frozen=True)
class NoveltyContext:
    """What a novelty filter may use: activations of the agent's and reference games."""

    agent_activations: Mapping[str, np.ndarray]
    """Layer -> ``(n, dim)`` activations on positions from the agent's own games."""
    reference_activations: Mapping[str, np.ndarray]
    """Layer -> ``(n, dim)`` activations on reference (human) positions, same ``n``."""
    reference_name: str
    """Where the reference positions came from, for the report."""


class TeachabilityFilter(Component):
    """Decides whether a weaker copy of the agent can learn a concept from examples."""

    kind: ClassVar[str] = "teachability_filter"

    @abstractmethod
    def prepare(self, context: TeachabilityContext, rng: np.random.Generator) -> None:
        """Work shared by all concepts (e.g. choosing the student); called once per run."""

    @abstractmethod
    def assess(self, concept: Concept, rng: np.random.Generator) -> Verdict:
        """The verdict for one concept, with every number it used."""


class NoveltyFilter(Component):
    """Decides whether a concept is better explained by the agent's games than by the reference."""

    kind: ClassVar[str] = "novelty_filter"

    @abstractmethod
    def prepare(self, context: NoveltyContext, rng: np.random.Generator) -> None:
        """Work shared by all concepts (e.g. the bases); called once per run."""

    @abstractmethod
    def assess(self, concept: Concept, rng: np.random.Generator) -> Verdict:
        """The verdict for one concept, with every number it used."""
