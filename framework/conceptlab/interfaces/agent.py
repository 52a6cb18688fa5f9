"""The Agent interface: batched evaluation with activations, and optional training."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic

import numpy as np

from conceptlab.interfaces.component import Component, StrictParams
from conceptlab.interfaces.domain import Domain, S
from conceptlab.values import CheckpointInfo, Evaluation

__all__ = ["Agent", "TrainableAgent"]


class Agent(Component, Generic[S]):
    """Evaluates batches of states of one domain: priors over legal actions and a value.

    ``evaluate`` also returns the activations of any named layers, captured in
    the same forward pass.
    """

    kind: ClassVar[str] = "agent"

    def __init__(
        self, domain: Domain[S], params: StrictParams | None = None, *, seed: int = 0
    ) -> None:
        super().__init__(params)
        self.domain = domain
        self.seed = seed
        """Seeds anything random at construction (e.g. weight initialisation)."""

    @property
    @abstractmethod
    def layer_names(self) -> tuple[str, ...]:
        """Names of the layers whose activations ``evaluate`` can return, input to output."""

    @abstractmethod
    def evaluate(self, states: Sequence[S], layers: Sequence[str] = ()) -> Evaluation:
        """Policy (masked to legal actions), value, and the requested layers' activations.

        Raises ``ComponentError`` naming the layer when one is unknown.
        """


class TrainableAgent(Agent[S]):
    """An agent whose weights can be fitted, copied, saved and loaded."""

    @abstractmethod
    def fit(
        self,
        states: Sequence[S],
        policy_targets: np.ndarray,
        value_targets: np.ndarray | None = None,
        *,
        epochs: int,
        learning_rate: float,
        batch_size: int,
        rng: np.random.Generator,
        freeze_statistics: bool = False,
    ) -> Mapping[str, float]:
        """Minimise cross-entropy to ``policy_targets`` (+ squared error to ``value_targets``).

        ``policy_targets`` is ``(len(states), num_actions)``, each row a
        distribution; with a teacher's policies this is KL(teacher || self) up to
        a constant. With ``freeze_statistics`` only weights change: normalisation
        statistics (batch-norm running means and variances) stay as they were and
        are used as at evaluation. Returns the final epoch's mean losses by name.
        """

    @abstractmethod
    def clone(self) -> TrainableAgent[S]:
        """An independent copy with the same weights."""

    @abstractmethod
    def save(self, path: str | Path, *, step: int, games: int, extra: Mapping[str, Any] | None = None) -> CheckpointInfo:
        """Write weights and metadata to ``path`` atomically."""

    @abstractmethod
    def load(self, path: str | Path) -> CheckpointInfo:
        """Load weights from ``path`` into this agent.

        Raises ``CheckpointError`` when the file is missing, corrupt, or was
        saved by another architecture (the message names both).
        """
