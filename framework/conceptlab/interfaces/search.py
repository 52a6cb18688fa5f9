"""The Search interface: search from a state with an agent, return visits, values and the tree."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Generic

import numpy as np

from pydantic import Field

from conceptlab.interfaces.agent import Agent
from conceptlab.interfaces.component import Component, StrictParams
from conceptlab.interfaces.domain import Domain, S
from conceptlab.values import Action, RolloutSet, SearchResult

__all__ = ["RolloutParams", "Search"]


class RolloutParams(StrictParams):
    """How the chosen and subpar rollouts are read off a search tree (method.md section 2)."""

    plies: int = Field(default=5, ge=1, description="T: length of the chosen rollout in plies.")
    value_gap: float = Field(
        default=0.20, ge=0,
        description="A child is subpar when its value is at least this much below the best child's...",
    )
    visit_gap: float = Field(
        default=0.10, ge=0, le=1,
        description="...or when it has at least this fraction fewer visits than the best child.",
    )
    branch_depths: list[int] | None = Field(
        default=None, description="Depths j where subpar rollouts branch off (default: every j < T)."
    )
    max_subpar_per_depth: int = Field(default=2, ge=1, description="Subpar rollouts kept per depth.")
    extend_with_policy: bool = Field(
        default=True,
        description="Continue a line past the tree's frontier with the agent's most likely move.",
    )


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
    def rollouts(
        self, result: SearchResult[S], params: RolloutParams, agent: Agent[S] | None = None
    ) -> RolloutSet[S]:
        """The chosen rollout and the subpar rollouts of ``result`` (method.md section 2).

        ``agent`` is needed only when ``params.extend_with_policy`` continues lines
        past the tree's frontier.
        """
