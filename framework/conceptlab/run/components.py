"""A spec's components, built on demand.

:class:`Components` builds the domain, agent, search, miner and filters of a
resolved spec when first asked, and caches them. Worker units get theirs through
:func:`conceptlab.run.worker.components_for`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from conceptlab.errors import ComponentError
from conceptlab.interfaces import Agent, Domain, Search, build_params
from conceptlab.precision import PrecisionChoice, resolve_precision
from conceptlab.registry import Registry
from conceptlab.spec import ResolvedSpec

__all__ = ["PLAYER_PREFIX", "Components"]

PLAYER_PREFIX = "agent:"
"""How a spec names one of its ``[players]`` where a checkpoint could stand: ``agent:NAME``."""


class Components:
    """The spec's components, built on demand and cached (one per process)."""

    def __init__(self, resolved: ResolvedSpec, registry: Registry) -> None:
        self.resolved = resolved
        self.spec = resolved.spec
        self.registry = registry
        self._agents: dict[str, Agent[Any]] = {}
        self._searches: dict[str, Search[Any]] = {}

    def _make(self, field_name: str, *args: Any, **kwargs: Any) -> Any:
        cls = self.resolved.classes[field_name]
        return cls(*args, self.resolved.params[field_name], **kwargs)

    @functools.cached_property
    def domain(self) -> Domain[Any]:
        return self._make("domain")

    @functools.cached_property
    def search(self) -> Search[Any]:
        return self._make("search", self.domain)

    def search_with(self, overrides: Mapping[str, Any], where: str) -> Search[Any]:
        """The spec's search with ``overrides`` of its params (built once per overrides).

        Without overrides, the spec's own search. ``where`` names the spec field
        the overrides come from, for the error.

        Raises:
            ComponentError: An override names no param of the search, or gives a bad value.
        """
        if not overrides:
            return self.search
        key = json.dumps(dict(overrides), sort_keys=True)
        if key not in self._searches:
            search = self.search
            try:
                params = build_params(type(search), {**search.params.model_dump(), **overrides})
            except ComponentError as exc:
                raise ComponentError(f"{where}: {exc}") from None
            self._searches[key] = type(search)(self.domain, params)
        return self._searches[key]

    @functools.cached_property
    def layer_names(self) -> tuple[str, ...]:
        """The agent's layer names (from one freshly built agent)."""
        return tuple(self.new_agent(0).layer_names)

    @functools.cached_property
    def precision(self) -> PrecisionChoice:
        """The spec's precision as resolved on this machine (``auto`` once per process)."""
        return resolve_precision(self.spec.precision)

    def _in_precision(self, agent: Agent[Any], what: str) -> Agent[Any]:
        set_precision = getattr(agent, "set_precision", None)
        if set_precision is not None:
            set_precision(self.precision.used)
        elif self.spec.precision == "bf16":
            raise ComponentError(
                f"precision = 'bf16', but {what} has no set_precision (only network agents such as "
                "TorchAgent subclasses run in bf16); use 'fp32' or 'auto'"
            )
        return agent

    def new_agent(self, seed: int) -> Agent[Any]:
        """A freshly initialised agent (weights seeded by ``seed``), in the spec's precision.

        Raises:
            ComponentError: The spec asks for ``bf16`` and the agent has no ``set_precision``.
        """
        return self._in_precision(self._make("agent", self.domain, seed=seed), f"agent {self.spec.agent.name!r}")

    def agent(self, checkpoint: str) -> Agent[Any]:
        """The agent with the weights of ``checkpoint`` (cached per path), or the spec's
        player NAME for ``"agent:NAME"``."""
        if checkpoint.startswith(PLAYER_PREFIX):
            return self.player(checkpoint.removeprefix(PLAYER_PREFIX))
        if checkpoint not in self._agents:
            agent = self.new_agent(0)
            agent.load(checkpoint)  # type: ignore[attr-defined]
            self._agents[checkpoint] = agent
        return self._agents[checkpoint]

    def player(self, name: str) -> Agent[Any]:
        """The spec's player ``name`` (its ``[players.NAME]`` agent), built once."""
        key = PLAYER_PREFIX + name
        if key not in self._agents:
            if name not in self.resolved.players:
                raise ComponentError(f"the spec has no player {name!r} (players: {', '.join(self.resolved.players)})")
            cls, params = self.resolved.players[name]
            self._agents[key] = self._in_precision(cls(self.domain, params), f"player {name!r}")
        return self._agents[key]

    @functools.cached_property
    def miner(self) -> Any:
        return self._make("miner")

    @functools.cached_property
    def teachability(self) -> Any:
        return self._make("teachability")

    @functools.cached_property
    def novelty(self) -> Any:
        return self._make("novelty")
