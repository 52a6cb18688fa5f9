"""The ConceptMiner interface: paired activations in, a concept direction out."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import numpy as np

from conceptlab.interfaces.component import Component
from conceptlab.values import ConceptProblem, MinedVector

__all__ = ["ConceptMiner"]


class ConceptMiner(Component):
    """Finds a direction ``v`` with ``v . positive[i] >= v . negative[i]`` for the pairs.

    Static and dynamic concepts both reach a miner as a :class:`ConceptProblem`;
    the pipeline builds the pairs (from labelled sets, or from chosen versus
    subpar rollouts). A miner never raises on a bad problem: it returns a
    :class:`MinedVector` with ``vector=None`` and a reason.
    """

    kind: ClassVar[str] = "concept_miner"

    @abstractmethod
    def mine(self, problem: ConceptProblem, rng: np.random.Generator) -> MinedVector:
        """The concept direction for ``problem``, or an explained failure."""
