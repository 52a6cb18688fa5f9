"""The Search interface: search from a state with an agent, return visits, values and the tree."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Generic

import numpy as np

from conceptlab.interfaces.agent import Agent
from conceptlab.interfaces.component import Component, StrictParams
from conceptlab.interfaces.domain import Domain, S
from conceptlab.values import Action, RolloutSet, SearchResult

__all__ = ["Search"]


class Search(Component, Generic[S]):
    """A planning procedure over a domain, guided by an agent's priors and values."""

    kind: ClassVar[str] = "search"

    def __init__(self, domain: Domain[S], params: StrictParams | None = None) -> None:
        super().__init__(params)
        self.domain = domain

    @abstractmethod
    def run(
        self,
        state: S,
        agent: Agent[S],
        rng: np.random.Generator,
        *,
        tree: Any = None,
        add_noise: bool = False,
        temperature: float = 0.0,
    ) -> SearchResult[S]:
        """Search from ``state``.

        Args:
            state: A non-terminal root state.
            agent: Gives priors and values for leaves.
            rng: The only source of randomness (root noise, move sampling).
            tree: A subtree from an earlier result to reuse (``advance`` gives one).
            add_noise: Add exploration noise at the root (self-play).
            temperature: ``0`` plays the most-visited action; ``> 0`` samples in
                proportion to ``visits ** (1 / temperature)``.
        """

    def advance(self, result: SearchResult[S], action: Action) -> Any:
        """The subtree under ``action`` of ``result``, to pass as ``tree`` next move.

        The default returns ``None`` (no reuse).
        """
        return None

    @abstractmethod
    def rollouts(self, result: SearchResult[S]) -> RolloutSet[S]:
        """The chosen rollout and the subpar rollouts of ``result`` (method.md section 2)."""
